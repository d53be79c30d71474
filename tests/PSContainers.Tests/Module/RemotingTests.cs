using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace PSContainers.Tests.Module;

/// <summary>
/// Objects that cross a machine boundary: Invoke-Command and Receive-Job hand back what PSSerializer (CliXml) makes of
/// them. Each object is serialized alone, as remoting does, with what Invoke-Command adds (PSComputerName, RunspaceId,
/// PSShowComputerName). They keep their properties, render with the module's views, and their names bind into the
/// cmdlets by property name, so `Invoke-Command -HostName a { Get-Container } | Stop-Container`-style pipelines work
/// when the second half runs on the same host (docs/remoting.md).
/// </summary>
[Collection("ProcessEnvironment")]
public sealed class RemotingTests : ModuleSessionTest
{
    public RemotingTests()
        : base("remoting")
    {
    }

    /// <summary>
    /// What the other end of Invoke-Command gets: CliXml made in the session that has the module (its types, script
    /// properties and serialization depths apply), one object at a time, read back elsewhere, with the remoting notes.
    /// </summary>
    private PSObject OverTheWire(PSObject live)
    {
        Ps.Commands.Clear();
        Ps.AddScript("param($o) [System.Management.Automation.PSSerializer]::Serialize($o)").AddArgument(live);
        string xml = Assert.Single(Ps.Invoke()).ToString();
        var back = (PSObject)PSSerializer.Deserialize(xml);
        back.Properties.Add(new PSNoteProperty("PSComputerName", "host-a"));
        back.Properties.Add(new PSNoteProperty("RunspaceId", Guid.NewGuid()));
        back.Properties.Add(new PSNoteProperty("PSShowComputerName", true));
        return back;
    }

    private static bool SpinUntil(Func<bool> condition)
    {
        for (int i = 0; i < 50; i++)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(100);
        }
        return false;
    }

    private void StartTestContainer(string name) =>
        Run($"New-Container -Name {name} /bin/sh -ArgumentList '-c', 'echo hello; exec sleep 300' -Group g1 -MemoryLimit 64MB -PidsLimit 20 -Property @{{ team = 'blue'; tier = '1' }} | Start-Container");

    [SkippableFact]
    public void ContainerCGroupStatsAndEvents_RoundTripThroughCliXml_WithTheirPropertiesIntact()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        StartTestContainer("rt");
        var live = new Dictionary<string, PSObject>
        {
            ["PSContainers.Containers.Container"] = Assert.Single(Run("Get-Container -Name rt")),
            ["PSContainers.CGroups.CGroup"] = Assert.Single(Run("Get-CGroup -Path g1/rt")),
            ["PSContainers.Containers.ContainerStats"] = Assert.Single(Run("Get-ContainerStats -Name rt")),
            ["PSContainers.Containers.ContainerEvent"] = Run("Get-ContainerEvent -Name rt").Last(),
        };
        Runspace.DefaultRunspace = Ps.Runspace; // the live objects' script properties (ProcessCount) run there
        foreach (var (type, obj) in live)
        {
            Assert.Equal(type, obj.BaseObject.GetType().FullName);
            PSObject back = OverTheWire(obj);
            Assert.Equal("Deserialized." + type, back.TypeNames[0]);
            foreach (var property in obj.Properties.Where(p => p.IsGettable))
            {
                if (property.Name == "Spec")
                {
                    // The full spec (with the environment) stays home: one level deep, it travels as its text.
                    Assert.IsType<string>(back.Properties["Spec"].Value);
                    continue;
                }
                PSPropertyInfo? other = back.Properties[property.Name];
                Assert.True(other is not null, $"{type}.{property.Name} was lost");
                AssertSame($"{type}.{property.Name}", property.Value, other!.Value);
            }
        }

        // The values a remote user reads most, spelled out.
        PSObject c = OverTheWire(live["PSContainers.Containers.Container"]);
        Assert.Equal("Running", c.Properties["State"].Value.ToString());
        Assert.Equal("blue", ((Hashtable)((PSObject)c.Properties["Properties"].Value).BaseObject)["team"]);
        PSObject s = OverTheWire(live["PSContainers.Containers.ContainerStats"]);
        Assert.Equal(64L << 20, s.Properties["MemoryLimit"].Value);
        Assert.Equal("rt", s.Properties["ContainerName"].Value);
        // Serialized two levels deep (Types.ps1xml), the pressure stays an object with numbers, not its text.
        if (live["PSContainers.Containers.ContainerStats"].Properties["CpuPressure"].Value is not null)
        {
            var pressure = Assert.IsType<PSObject>(s.Properties["CpuPressure"].Value);
            Assert.IsType<double>(pressure.Properties["SomeAvg10"].Value);
        }
    }

    private static void AssertSame(string what, object? expected, object? actual)
    {
        expected = expected is PSObject pe ? pe.BaseObject : expected;
        PSObject? bag = actual as PSObject; // a deserialized object keeps its properties on the wrapper
        actual = actual is PSObject pa ? pa.BaseObject : actual;
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{what}: expected null, got {actual}");
                break;
            case string or bool or int or long or double or DateTime or TimeSpan:
                Assert.True(Equals(expected, actual), $"{what}: {expected} became {actual} ({actual?.GetType().Name})");
                break;
            case Enum e:
                Assert.Equal(e.ToString(), actual?.ToString());
                break;
            case IDictionary d:
                var h = Assert.IsAssignableFrom<IDictionary>(actual);
                Assert.Equal(d.Count, h.Count);
                foreach (DictionaryEntry entry in d)
                {
                    AssertSame($"{what}[{entry.Key}]", entry.Value, h[entry.Key]);
                }
                break;
            case IEnumerable list:
                var a = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object?>().ToList();
                var x = list.Cast<object?>().ToList();
                Assert.True(x.Count == a.Count, $"{what}: {x.Count} items became {a.Count}");
                for (int i = 0; i < x.Count; i++)
                {
                    AssertSame($"{what}[{i}]", x[i], a[i]);
                }
                break;
            default:
                // A nested object (PressureInfo): its properties, one level down.
                var nested = PSObject.AsPSObject(expected);
                var back = bag ?? PSObject.AsPSObject(actual!);
                Assert.Equal("Deserialized." + expected.GetType().FullName, back.TypeNames[0]);
                foreach (var p in nested.Properties.Where(p => p.IsGettable))
                {
                    Assert.True(back.Properties[p.Name] is not null, $"{what}.{p.Name} was lost ({actual})");
                    AssertSame($"{what}.{p.Name}", p.Value, back.Properties[p.Name].Value);
                }
                break;
        }
    }

    [SkippableFact]
    public void DeserializedObjects_BindByPropertyName_IntoTheCmdlets()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        Run("New-Container -Name bind /bin/sh -ArgumentList '-c', 'echo hello; exec sleep 300' -Group g1 -MemoryLimit 64MB -PidsLimit 20");
        PSObject created = OverTheWire(Assert.Single(Run("Get-Container -Name bind")));
        PSObject cgroup = OverTheWire(Assert.Single(Run("Get-CGroup -Path g1/bind")));

        string Pipe(PSObject input, string command)
        {
            Ps.Commands.Clear();
            Ps.Streams.ClearStreams();
            Ps.AddScript($"$input | {command}");
            var r = Ps.Invoke(new[] { input }).Select(o => o?.ToString() ?? "").ToList();
            Assert.False(Ps.HadErrors, command + "\n" + string.Join("\n", Ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}"))
                + "\n" + string.Join("\n", Ps.Streams.Verbose) + "\n" + string.Join("\n", r));
            return string.Join("\n", r);
        }

        // A deserialized container is not a Container: it binds -Name by property name (and -Path through CGroupPath).
        Assert.Equal("Running", Pipe(created, "Start-Container -PassThru -Verbose | ForEach-Object State"));
        PSObject container = OverTheWire(Assert.Single(Run("Get-Container -Name bind")));
        Assert.Equal("bind", Pipe(container, "Get-Container | ForEach-Object Name"));
        Assert.Equal("bind", Pipe(container, "Get-ContainerStats | ForEach-Object Name"));
        Assert.True(SpinUntil(() => Pipe(container, "Get-ContainerLog").Contains("hello")), "no log line through the deserialized container");
        Assert.Contains("started", Pipe(container, "Get-ContainerEvent | ForEach-Object Event"));
        Assert.Equal($"/{Root}/g1/bind", Pipe(container, "Get-CGroup | ForEach-Object Path"));
        Assert.Equal("Paused", Pipe(container, "Suspend-Container -PassThru | ForEach-Object State"));
        Assert.Equal("Running", Pipe(container, "Resume-Container -PassThru | ForEach-Object State"));
        Assert.Equal("green", Pipe(container, "Set-ContainerProperty -Key team -Value green -PassThru | ForEach-Object { $_.Properties['team'] }"));
        Assert.Equal("", Pipe(container, "Remove-ContainerProperty -Key team -PassThru | ForEach-Object { $_.Properties['team'] }"));
        PSObject stats = OverTheWire(Assert.Single(Run("Get-ContainerStats -Name bind")));
        Assert.Equal("Exited", Pipe(stats, "Stop-Container -Timeout 5 -PassThru | ForEach-Object State"));
        Assert.Equal("Exited", Pipe(container, "Wait-Container -Timeout 5 | ForEach-Object State"));

        // A deserialized cgroup binds -Path.
        Assert.Equal("7", Pipe(cgroup, "Set-CGroupLimit -PidsLimit 7 -PassThru -Confirm:$false | ForEach-Object PidsLimit"));
        Assert.Equal($"/{Root}/g1/bind", Pipe(cgroup, "Get-CGroup | ForEach-Object Path"));

        Pipe(container, "Remove-Container -Confirm:$false");
        Assert.Empty(Run("Get-Container"));
        Assert.Empty(Run($"Get-CGroup -Path /{Root}/g1/*"));
    }

    [SkippableFact]
    public void DeserializedObjects_RenderWithTheModulesViews()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        // Out-String is a Utility cmdlet, absent from this engine build: the shell's Out-Default renders with the same
        // formatter. Each kind renders live and after the round trip, each through its own Out-Default.
        string depot = Path.Combine(DepotDir, "render");
        var env = new Dictionary<string, string?> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = Root + "-r" };
        try
        {
            ShellResult r = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", """
                $ErrorActionPreference = 'Stop'
                function Wire($o) { [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($o)) }
                $null = New-CGroup -Path batch/nightly -PidsLimit 10
                $null = New-Container -Name web /bin/sleep -ArgumentList 300 -MemoryLimit 64MB | Start-Container
                $kinds = [ordered]@{
                    container = { Get-Container -Name web }
                    cgroup    = { Get-CGroup -Path web }
                    tree      = { Get-CGroup -Path batch -Recurse }
                    stats     = { Get-ContainerStats -Name web }
                    event     = { @(Get-ContainerEvent -Name web)[0] }
                }
                foreach ($k in $kinds.Keys) {
                    "### live $k"
                    & $kinds[$k] | Out-Default
                    "### wire $k"
                    & $kinds[$k] | ForEach-Object { Wire $_ } | Out-Default
                }
                "### end"
                """], environment: env, timeout: TimeSpan.FromSeconds(90));
            Assert.True(r.ExitCode == 0, r.ToString());
            var sections = r.StdOut.Split("### ").Skip(1).ToDictionary(s => s[..s.IndexOf('\n')].Trim(), s => s[(s.IndexOf('\n') + 1)..]);
            var headers = new Dictionary<string, string>
            {
                ["container"] = "Name ",
                ["cgroup"] = "Procs  Mem(MB) MemLimit(MB)",
                ["tree"] = "Tree ",
                ["stats"] = "  CPU%  Mem(MB) MemLimit(MB)",
                ["event"] = "Time ",
            };
            foreach (var (kind, header) in headers)
            {
                string liveText = sections["live " + kind];
                string wireText = sections["wire " + kind];
                string Header(string text) => text.Split('\n').First(l => l.Trim().Length > 0).TrimEnd();
                Assert.StartsWith(header, Header(liveText), StringComparison.Ordinal);
                // The same table: header and the first data row's leading cell.
                Assert.Equal(Header(liveText), Header(wireText));
                Assert.Equal(liveText.Split('\n').Where(l => l.Trim().Length > 0).Skip(2).First().Split(' ')[0],
                    wireText.Split('\n').Where(l => l.Trim().Length > 0).Skip(2).First().Split(' ')[0]);
            }
            Assert.Contains("└─ nightly", sections["wire tree"]);
        }
        finally
        {
            Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
                $"Get-Container | Remove-Container -Force -Confirm:$false; Remove-CGroup -Path /{Root}-r -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue"],
                environment: env, timeout: TimeSpan.FromSeconds(60));
        }
    }
}
