using System.Text;
using System.Text.Json;

namespace PSContainers.Tests.Module;

/// <summary>
/// PowerShell remoting over SSH, for real: two OpenSSH servers of the test's own on 127.0.0.1, hosts `a` and `b`,
/// each with its own depot and cgroup root (<see cref="SshHosts"/>), and a real pwsh client with PSContainers imported
/// that runs `Invoke-Command -HostName a, b`. The blocks of docs/remoting.md run as written and do what the page says;
/// the copies that come back keep every property, carry PSComputerName, render with the module's views and bind by
/// property name into the cmdlets. Every test removes what it made on both hosts and on the local side, also when it
/// fails; the fixture kills the servers.
/// </summary>
public sealed class RemotingTests(SshHosts hosts) : IClassFixture<SshHosts>
{
    private const string Marker = "# Not run by the tests:";

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);

    /// <summary>The headings of docs/remoting.md whose PowerShell blocks these tests run as written.</summary>
    private static readonly string[] RunHeadings =
    [
        "A copy binds by name",
        "Pattern 1:",
        "Pattern 2:",
        "Persistent sessions",
        "Long waits and jobs",
    ];

    private static List<(string Heading, string Code)> DocBlocks()
    {
        string text = File.ReadAllText(Path.Combine(Repo.Root, "docs", "remoting.md")).Replace("\r\n", "\n");
        var blocks = new List<(string, string)>();
        string heading = "";
        string? fence = null;
        var code = new StringBuilder();
        foreach (string line in text.Split('\n'))
        {
            string trimmed = line.TrimStart();
            if (fence is null && line.StartsWith('#'))
            {
                heading = line.TrimStart('#').Trim();
            }
            else if (fence is null && trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                fence = trimmed[3..].Trim();
                code.Clear();
            }
            else if (fence is not null && trimmed == "```")
            {
                if (fence == "powershell")
                {
                    blocks.Add((heading, code.ToString()));
                }
                fence = null;
            }
            else if (fence is not null)
            {
                code.Append(line).Append('\n');
            }
        }
        return blocks;
    }

    /// <summary>The one PowerShell block under the heading that starts with <paramref name="heading"/>.</summary>
    private static string DocBlock(string heading)
    {
        var block = Assert.Single(DocBlocks(), b => b.Heading.StartsWith(heading, StringComparison.Ordinal));
        Assert.DoesNotContain(Marker, block.Code, StringComparison.Ordinal);
        return block.Code;
    }

    [Fact]
    public void EveryPowerShellBlockOfTheRemotingPage_IsRunByTheseTests_OrSaysWhyNot()
    {
        var blocks = DocBlocks();
        Assert.NotEmpty(blocks);
        foreach (var (heading, code) in blocks)
        {
            bool run = RunHeadings.Any(h => heading.StartsWith(h, StringComparison.Ordinal));
            Assert.True(run || code.Contains(Marker, StringComparison.Ordinal),
                $"docs/remoting.md, under '{heading}': a PowerShell block that no test runs and that has no '{Marker} <what it needs>' line:\n{code}");
            Assert.False(run && code.Contains(Marker, StringComparison.Ordinal), $"'{heading}' is run by the tests but marked as not run");
        }
        foreach (string h in RunHeadings)
        {
            Assert.Single(blocks, b => b.Heading.StartsWith(h, StringComparison.Ordinal));
        }
    }

    /// <summary>Runs the client script; fails with its output and both servers' logs unless it succeeds.</summary>
    private Dictionary<string, string> Client(string script, bool hostNames = true, bool import = true)
    {
        ShellResult r = hosts.Run(script, Long, hostNames, import);
        Assert.True(r.ExitCode == 0 && r.StdErr.Trim().Length == 0,
            r + "\n" + string.Join("\n", hosts.Endpoints.Select(e => $"--- sshd {e.Name} ---\n{e.Log}")));
        return Sections(r.StdOut);
    }

    /// <summary>The output split at lines `### name`.</summary>
    private static Dictionary<string, string> Sections(string stdout)
    {
        var sections = new Dictionary<string, string>();
        foreach (string part in ("\n" + stdout).Split("\n### ").Skip(1))
        {
            int end = part.IndexOf('\n');
            sections[(end < 0 ? part : part[..end]).Trim()] = end < 0 ? "" : part[(end + 1)..];
        }
        return sections;
    }

    private static string[] Lines(string text) => Pwsh.Lines(text).Select(l => l.Trim()).ToArray();

    private void Skippable()
    {
        Skip.If(hosts.SkipReason is not null, hosts.SkipReason);
    }

    /// <summary>Runs the test, then removes every container and cgroup on a, b and the local side.</summary>
    private void WithCleanHosts(Action test)
    {
        Skippable();
        try
        {
            test();
        }
        finally
        {
            hosts.Clean();
        }
    }

    /// <summary>`host name state` of each container on a and b, sorted: what the hosts have after a step.</summary>
    private const string RemoteStates = """
        Invoke-Command -HostName a, b { Get-Container } | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.State)" } | Sort-Object
        """;

    [SkippableFact]
    public void CopyBindsByName_ToTheLocalMachine_TheDocsFirstPipelineStopsTheLocalWebOnly()
    {
        WithCleanHosts(() =>
        {
            var s = Client($$"""
                $null = Invoke-Command -HostName a, b { New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container }
                $null = New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container
                {{DocBlock("A copy binds by name")}}
                "### local"
                Get-Container | ForEach-Object { "$($_.Name) $($_.State)" }
                "### remote"
                {{RemoteStates}}
                """);
            Assert.Equal(["web Exited"], Lines(s["local"]));
            Assert.Equal(["a web Running", "b web Running"], Lines(s["remote"]));
        });
    }

    [SkippableFact]
    public void Pattern1_RunsTheWholePipelineOnEachHost_AndReturnsTheStoppedContainersWithPSComputerName()
    {
        WithCleanHosts(() =>
        {
            var s = Client($$"""
                $null = Invoke-Command -HostName a, b {
                    New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container
                    New-Container -Name api -Group shop /bin/sleep -ArgumentList 300 | Start-Container
                    New-Container -Name worker -Group shop /bin/sleep -ArgumentList 300 | Start-Container
                }
                $out = . {
                {{DocBlock("Pattern 1:")}}
                }
                "### returned"
                $out | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.State) $($_.pstypenames[0])" } | Sort-Object
                "### remote"
                {{RemoteStates}}
                """);
            const string type = "Deserialized.PSContainers.Containers.Container";
            Assert.Equal([$"a api Exited {type}", $"a worker Exited {type}", $"b api Exited {type}", $"b worker Exited {type}"], Lines(s["returned"]));
            Assert.Equal(["a api Exited", "a web Running", "a worker Exited", "b api Exited", "b web Running", "b worker Exited"], Lines(s["remote"]));
        });
    }

    [SkippableFact]
    public void Pattern2_DecidesOnTheLocalMachine_AndStopsTheCrowdedContainerOnItsOwnHostOnly()
    {
        WithCleanHosts(() =>
        {
            var s = Client($$"""
                $null = Invoke-Command -HostName a {
                    New-Container -Name crowded /bin/sh -ArgumentList '-c', 'for i in $(seq 25); do sleep 300 & done; wait' | Start-Container
                    # Its 25 children are there before the doc's block looks (bounded: 20 s).
                    for ($i = 0; $i -lt 200 -and (Get-ContainerStats -Name crowded).PidsCurrent -le 25; $i++) { Start-Sleep -Milliseconds 100 }
                }
                $null = Invoke-Command -HostName a, b { New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container }
                $out = . {
                {{DocBlock("Pattern 2:")}}
                }
                "### stats"
                $stats | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.PidsCurrent)" } | Sort-Object
                "### returned"
                $out | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.State)" } | Sort-Object
                "### remote"
                {{RemoteStates}}
                """);
            Assert.True(Lines(s["returned"]).SequenceEqual(["a crowded Exited"]), "the crowded container on a, and nothing else, is stopped:\n" + string.Join("\n", s.Select(kv => $"### {kv.Key}\n{kv.Value}")));
            Assert.Equal(["a crowded Exited", "a web Running", "b web Running"], Lines(s["remote"]));
        });
    }

    [SkippableFact]
    public void PersistentSessions_AndUsing_StopWebOnTheChosenHostOnly()
    {
        WithCleanHosts(() =>
        {
            var s = Client($$"""
                $null = Invoke-Command -HostName a, b { New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container }
                $out = . {
                {{DocBlock("Persistent sessions")}}
                }
                "### returned"
                $out | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.State)" }
                "### sessions left"
                @(Get-PSSession).Count
                "### remote"
                {{RemoteStates}}
                """);
            Assert.Equal(["a web Exited"], Lines(s["returned"]));
            Assert.Equal(["0"], Lines(s["sessions left"]));
            Assert.Equal(["a web Exited", "b web Running"], Lines(s["remote"]));
        });
    }

    [SkippableFact]
    public void AsJob_ReceivesTheWaitedContainersFromBothHosts()
    {
        WithCleanHosts(() =>
        {
            var s = Client($$"""
                $null = Invoke-Command -HostName a, b { New-Container -Name backup /bin/sh -ArgumentList '-c', 'sleep 2; exit 3' | Start-Container }
                $out = . {
                {{DocBlock("Long waits and jobs")}}
                }
                "### received"
                $out | ForEach-Object { "$($_.PSComputerName) $($_.Name) $($_.State) $($_.ExitCode)" } | Sort-Object
                """);
            Assert.Equal(["a backup Exited 3", "b backup Exited 3"], Lines(s["received"]));
        });
    }

    /// <summary>
    /// Each object as text, property by property (one level into nested objects), the same way for the live object on
    /// its host and for the copy that came back; a nested object's type name is compared without "Deserialized.".
    /// </summary>
    private const string Flatten = """
        param($Object)
        function Text($v, [int]$Depth) {
            if ($null -eq $v) { return 'null' }
            if ($v -is [enum] -or $v.pstypenames -contains 'Deserialized.System.Enum') { return "enum $v" }
            if ($v -is [datetime]) { return "DateTime $($v.ToUniversalTime().ToString('o'))" }
            if ($v -is [string] -or $v -is [ValueType]) { return "$($v.GetType().Name) $([System.Convert]::ToString($v, [cultureinfo]::InvariantCulture))" }
            if ($v -is [System.Collections.IDictionary]) { return 'dictionary {' + (@($v.Keys | Sort-Object | ForEach-Object { "$_=$(Text $v[$_] ($Depth - 1))" }) -join '; ') + '}' }
            if ($v -is [System.Collections.IEnumerable]) { return 'list [' + (@($v | ForEach-Object { Text $_ ($Depth - 1) }) -join '; ') + ']' }
            $type = $v.pstypenames[0] -replace '^Deserialized\.', ''
            if ($Depth -le 0) { return "$type, not expanded" }
            return "$type {" + (@($v.psobject.Properties | Where-Object IsGettable | ForEach-Object { "$($_.Name)=$(Text $_.Value ($Depth - 1))" }) -join '; ') + '}'
        }
        @($Object.psobject.Properties | Where-Object IsGettable | ForEach-Object { "$($_.Name)=$(Text $_.Value 1)" })
        """;

    private static readonly string[] Kinds = ["container", "cgroup", "tree", "stats", "event"];

    [SkippableFact]
    public void FanOut_ContainersCGroupsStatsAndEvents_ComeBackFromBothHosts_Intact_WithPSComputerName_InTheModulesViews()
    {
        WithCleanHosts(() =>
        {
            string live = string.Join("\n", Kinds.Select(k => $"\"### live {k}\"; {KindCommand(k)} | Format-Table | Out-String -Width 300"));
            var s = Client($$"""
                $null = Invoke-Command -HostName a, b {
                    New-Container -Name web /bin/sh -ArgumentList '-c', 'echo hello; exec sleep 300' -Group g1 -MemoryLimit 64MB -PidsLimit 20 -Property @{ team = 'blue'; tier = '1' } | Start-Container
                    $null = New-CGroup -Path batch/nightly -PidsLimit 10
                }
                $flattenText = @'
                {{Flatten}}
                '@
                $flatten = [scriptblock]::Create($flattenText)
                # Each object comes back right after what its host made of it (Truth), so the two can be compared.
                $back = Invoke-Command -HostName a, b -ArgumentList $flattenText {
                    param($FlattenText)
                    $flatten = [scriptblock]::Create($FlattenText)
                    function Emit($Kind, $Items) { foreach ($o in @($Items)) { [pscustomobject]@{ Kind = $Kind; Truth = @(& $flatten $o) }; $o } }
                    {{string.Join("\n    ", Kinds.Select(k => $"Emit {k} ({KindCommand(k)})"))}}
                }
                $copies = [ordered]@{}
                $rows = foreach ($h in $back | Group-Object PSComputerName) {
                    $items = @($h.Group)
                    for ($i = 0; $i -lt $items.Count; $i += 2) {
                        $truth = $items[$i]; $copy = $items[$i + 1]
                        if (-not $copies.Contains($truth.Kind)) { $copies[$truth.Kind] = [System.Collections.Generic.List[object]]::new() }
                        $copies[$truth.Kind].Add($copy)
                        [pscustomobject]@{ Host = $h.Name; Kind = $truth.Kind; Type = $copy.pstypenames[0]; ComputerName = $copy.PSComputerName; Truth = @($truth.Truth); Copy = @(& $flatten $copy) }
                    }
                }
                "### json"
                ConvertTo-Json -InputObject @($rows) -Depth 4 -Compress
                foreach ($k in $copies.Keys) {
                    "### table $k"; $copies[$k] | Format-Table | Out-String -Width 300
                    "### list $k"; $copies[$k] | Format-List | Out-String -Width 300
                }
                # The same kinds rendered live on host a (the local session with a's depot and root), to compare the views.
                $env:PSCONTAINERS_DEPOT = '{{hosts.A.Depot}}'; $env:PSCONTAINERS_CGROUP_ROOT = '{{hosts.A.CGroupRoot}}'
                {{live}}
                """);

            // Every property as the host saw it, on the copy; the copies carry the host's name.
            var rows = JsonSerializer.Deserialize<List<Row>>(s["json"])!;
            var mismatches = new List<string>();
            foreach (string host in new[] { "a", "b" })
            {
                foreach (string kind in Kinds)
                {
                    Assert.Contains(rows, r => r.Host == host && r.Kind == kind);
                }
            }
            var types = new Dictionary<string, string>
            {
                ["container"] = "PSContainers.Containers.Container",
                ["cgroup"] = "PSContainers.CGroups.CGroup",
                ["tree"] = "PSContainers.CGroups.CGroup#Tree",
                ["stats"] = "PSContainers.Containers.ContainerStats",
                ["event"] = "PSContainers.Containers.ContainerEvent",
            };
            foreach (var row in rows)
            {
                Assert.Equal(row.Host, row.ComputerName);
                Assert.Equal("Deserialized." + types[row.Kind], row.Type);
                var truth = Properties(row.Truth);
                var copy = Properties(row.Copy);
                foreach (var (name, value) in truth)
                {
                    if (!copy.TryGetValue(name, out string? back))
                    {
                        mismatches.Add($"{row.Host} {row.Kind}.{name} was lost");
                    }
                    else if (name == "Spec")
                    {
                        // The full spec (with the environment) stays home: one level deep, it travels as its text.
                        if (!back.StartsWith("String ", StringComparison.Ordinal))
                        {
                            mismatches.Add($"{row.Host} {row.Kind}.Spec came back as {back}, not as text");
                        }
                    }
                    else if (value.StartsWith("enum ", StringComparison.Ordinal))
                    {
                        // An enum (State, Isolation, Version) travels as its name.
                        if (back != "String " + value["enum ".Length..])
                        {
                            mismatches.Add($"{row.Host} {row.Kind}.{name}: {value} became {back}, not its name");
                        }
                    }
                    else if (value != back)
                    {
                        mismatches.Add($"{row.Host} {row.Kind}.{name}: {value} became {back}");
                    }
                }
            }
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));

            // The values a remote user reads most, spelled out.
            var container = Properties(rows.First(r => r.Host == "b" && r.Kind == "container").Copy);
            Assert.Equal("String Running", container["State"]);
            Assert.Equal("dictionary {team=String blue; tier=String 1}", container["Properties"]);
            var stats = Properties(rows.First(r => r.Host == "a" && r.Kind == "stats").Copy);
            Assert.Equal($"Int64 {64L << 20}", stats["MemoryLimit"]);
            Assert.Equal("String web", stats["ContainerName"]);
            Assert.StartsWith("Double ", stats["CpuPercent"], StringComparison.Ordinal);
            // Serialized two levels deep (Types.ps1xml), the pressure stays an object with numbers, not its text.
            if (stats["CpuPressure"] != "null")
            {
                Assert.Contains("SomeAvg10=Double ", stats["CpuPressure"], StringComparison.Ordinal);
            }

            int copies(string kind) => rows.Count(r => r.Kind == kind);

            // The copies render with the module's views: the live table's columns, then PSComputerName; a row per host.
            foreach (string kind in Kinds)
            {
                string[] liveHeader = Header(s["live " + kind]);
                string[] copyHeader = Header(s["table " + kind]);
                Assert.True(liveHeader.Append("PSComputerName").SequenceEqual(copyHeader),
                    $"{kind}: live [{string.Join(' ', liveHeader)}], copies [{string.Join(' ', copyHeader)}]\n{s["live " + kind]}\n{s["table " + kind]}");
                string[] data = Lines(s["table " + kind]).Skip(2).ToArray();
                Assert.Contains(data, l => l.EndsWith(" a", StringComparison.Ordinal));
                Assert.Contains(data, l => l.EndsWith(" b", StringComparison.Ordinal));
                // Each copy's list ends with its host (the label padded to the view's longest).
                string[] listed = Lines(s["list " + kind]).Where(l => l.StartsWith("PSComputerName ", StringComparison.Ordinal))
                    .Select(l => l.Split(':', 2)[1].Trim()).ToArray();
                Assert.True(listed.Length == copies(kind) && listed.Contains("a") && listed.Contains("b"),
                    $"{kind}: each copy's list names its host\n{s["list " + kind]}");
            }
            Assert.Equal(["Name", "State"], Header(s["table container"])[..2]);
            Assert.Equal(["CPU%", "Mem(MB)", "MemLimit(MB)"], Header(s["table stats"])[..3]);
            Assert.StartsWith("Tree ", Lines(s["table tree"])[0], StringComparison.Ordinal);
            Assert.Equal(2, Lines(s["table tree"]).Count(l => l.StartsWith("└─ nightly", StringComparison.Ordinal)));
        });
    }

    private static string KindCommand(string kind) => kind switch
    {
        "container" => "Get-Container -Name web",
        "cgroup" => "Get-CGroup -Path g1/web",
        "tree" => "Get-CGroup -Path batch -Recurse",
        // Two samples, so the second has a CpuPercent.
        "stats" => "Get-ContainerStats -Name web -Count 2 -Interval 0.5 | Select-Object -Last 1",
        "event" => "Get-ContainerEvent -Name web | Select-Object -Last 1",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string[] Header(string table) =>
        Lines(table)[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static Dictionary<string, string> Properties(string[] flattened) =>
        flattened.ToDictionary(p => p[..p.IndexOf('=')], p => p[(p.IndexOf('=') + 1)..]);

    private sealed record Row(string Host, string Kind, string Type, string ComputerName, string[] Truth, string[] Copy);

    [SkippableFact]
    public void Copies_BindByPropertyName_IntoTheCmdlets_OnTheHostTheyCameFrom()
    {
        WithCleanHosts(() =>
        {
            // The local session uses a's depot and cgroup root: it is on host a, where the copies' names mean the containers.
            var s = Client($$"""
                $env:PSCONTAINERS_DEPOT = '{{hosts.A.Depot}}'; $env:PSCONTAINERS_CGROUP_ROOT = '{{hosts.A.CGroupRoot}}'
                $null = Invoke-Command -HostName a { New-Container -Name bind /bin/sh -ArgumentList '-c', 'echo hello; exec sleep 300' -Group g1 -MemoryLimit 64MB -PidsLimit 20 }
                $created = Invoke-Command -HostName a { Get-Container -Name bind }
                $cgroup = Invoke-Command -HostName a { Get-CGroup -Path g1/bind }
                "### start"; $created | Start-Container -PassThru | ForEach-Object State
                $container = Invoke-Command -HostName a { Get-Container -Name bind }
                "### get"; $container | Get-Container | ForEach-Object Name
                "### stats"; $container | Get-ContainerStats | ForEach-Object Name
                $log = @()
                for ($i = 0; $i -lt 50 -and $log -notcontains 'hello'; $i++) { $log = @($container | Get-ContainerLog); if ($log -notcontains 'hello') { Start-Sleep -Milliseconds 100 } }
                "### log"; $log
                "### events"; $container | Get-ContainerEvent | ForEach-Object Event
                "### cgroup"; $container | Get-CGroup | ForEach-Object Path
                "### suspend"; $container | Suspend-Container -PassThru | ForEach-Object State
                "### resume"; $container | Resume-Container -PassThru | ForEach-Object State
                "### set property"; $container | Set-ContainerProperty -Key team -Value green -PassThru | ForEach-Object { $_.Properties['team'] }
                "### remove property"; @($container | Remove-ContainerProperty -Key team -PassThru | ForEach-Object { $_.Properties.Keys }).Count
                $stats = Invoke-Command -HostName a { Get-ContainerStats -Name bind }
                "### stop"; $stats | Stop-Container -Timeout 5 -PassThru | ForEach-Object State
                "### wait"; $container | Wait-Container -Timeout 5 | ForEach-Object State
                "### limit"; $cgroup | Set-CGroupLimit -PidsLimit 7 -PassThru -Confirm:$false | ForEach-Object PidsLimit
                "### cgroup path"; $cgroup | Get-CGroup | ForEach-Object Path
                $container | Remove-Container -Confirm:$false
                "### left"; @(Get-Container).Count; @(Get-CGroup -Path "/{{hosts.A.CGroupRoot}}/g1/*").Count
                "### on a"; Invoke-Command -HostName a { @(Get-Container).Count }
                """);
            Assert.Equal(["Running"], Lines(s["start"]));
            Assert.Equal(["bind"], Lines(s["get"]));
            Assert.Equal(["bind"], Lines(s["stats"]));
            Assert.Contains("hello", Lines(s["log"]));
            Assert.Contains("started", Lines(s["events"]));
            Assert.Equal([$"/{hosts.A.CGroupRoot}/g1/bind"], Lines(s["cgroup"]));
            Assert.Equal(["Paused"], Lines(s["suspend"]));
            Assert.Equal(["Running"], Lines(s["resume"]));
            Assert.Equal(["green"], Lines(s["set property"]));
            Assert.Equal(["0"], Lines(s["remove property"]));
            Assert.Equal(["Exited"], Lines(s["stop"]));
            Assert.Equal(["Exited"], Lines(s["wait"]));
            Assert.Equal(["7"], Lines(s["limit"]));
            Assert.Equal([$"/{hosts.A.CGroupRoot}/g1/bind"], Lines(s["cgroup path"]));
            Assert.Equal(["0", "0"], Lines(s["left"]));
            Assert.Equal(["0"], Lines(s["on a"]));
        });
    }

    [SkippableFact]
    public void ExplicitParameters_ReachEachHost_WithoutAnSshConfig()
    {
        WithCleanHosts(() =>
        {
            // The form of "Naming the hosts" with everything on the command line, and user@host:port for both at once;
            // no Host entries (the machine's ssh client as it is), the hosts' keys checked against the test's known_hosts.
            string options = $"@{{ UserKnownHostsFile = '{hosts.KnownHosts}'; StrictHostKeyChecking = 'yes'; BatchMode = 'yes' }}";
            string user = Environment.UserName;
            var s = Client($$"""
                "### one"
                Invoke-Command -HostName 127.0.0.1 -Port {{hosts.A.Port}} -UserName {{user}} -KeyFilePath '{{hosts.UserKey}}' -Options {{options}} { Get-Container; $env:PSCONTAINERS_DEPOT }
                "### both"
                Invoke-Command -HostName {{user}}@127.0.0.1:{{hosts.A.Port}}, {{user}}@127.0.0.1:{{hosts.B.Port}} -KeyFilePath '{{hosts.UserKey}}' -Options {{options}} {
                    New-Container -Name web /bin/true | ForEach-Object { "$($_.Name) $($_.DepotPath)" }
                } | Sort-Object
                """, hostNames: false);
            Assert.Equal([hosts.A.Depot], Lines(s["one"]));
            Assert.Equal([$"web {hosts.A.Depot}/web", $"web {hosts.B.Depot}/web"], Lines(s["both"]).Order(StringComparer.Ordinal).ToArray());

            // "What you need": without PSContainers imported on your machine, no view applies: a copy renders as the
            // list of all its properties, with the remoting notes.
            s = Client($$"""
                "### default"
                Invoke-Command -HostName a { Get-Container -Name web } | Out-String -Width 200
                "### modules"
                @(Get-Module PSContainers).Count
                """, import: false);
            Assert.Equal(["0"], Lines(s["modules"]));
            Assert.Contains(Lines(s["default"]), l => l.StartsWith("RunspaceId", StringComparison.Ordinal));
            Assert.Contains(Lines(s["default"]), l => l.StartsWith("Spec ", StringComparison.Ordinal));
            Assert.DoesNotContain(Lines(s["default"]), l => l.StartsWith("Name State", StringComparison.Ordinal));
        });
    }
}
