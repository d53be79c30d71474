using System.Management.Automation;
using System.Reflection;

namespace PSContainers.Tests.Module;

/// <summary>
/// What a user at the prompt sees besides output: Write-Progress while a cmdlet waits (and Ctrl+C ending the wait),
/// Verbose lines for every write and signal (also when the engine call runs off the pipeline thread), and argument
/// completion through TabExpansion2 (what the Tab key calls) for every parameter that names a container, a group or a
/// cgroup.
/// </summary>
[Collection("ProcessEnvironment")]
public sealed class InteractionTests : ModuleSessionTest
{
    public InteractionTests()
        : base("interaction")
    {
    }

    [SkippableFact]
    public void WaitContainer_ReportsProgressWhileItWaits_AndCompletesIt()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        Run("New-Container -Name slow /bin/sleep -ArgumentList 1.5 | Start-Container");
        var ended = Assert.Single(Run("Wait-Container -Name slow -Timeout 30"));
        Assert.Equal("Exited", ended.Properties["State"].Value.ToString());
        var progress = Ps.Streams.Progress.Where(p => p.Activity == "Wait-Container slow").ToList();
        Assert.True(progress.Count >= 3, $"{progress.Count} progress records in 1.5 s");
        Assert.Contains(progress, p => System.Text.RegularExpressions.Regex.IsMatch(p.StatusDescription, @"^Waiting for the container to end: \d+ s of at most 30 s$") && p.PercentComplete is >= 0 and <= 100);
        Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
    }

    [SkippableFact]
    public void WaitContainer_CtrlC_EndsTheWaitAtOnce_AndLeavesTheContainerRunning()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        Run("New-Container -Name long /bin/sleep -ArgumentList 300 | Start-Container");
        Ps.Commands.Clear();
        Ps.AddScript("Wait-Container -Name long");
        var handle = Ps.BeginInvoke();
        Thread.Sleep(700);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Ps.Stop();
        Assert.Throws<PipelineStoppedException>(() => Ps.EndInvoke(handle));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"stopping took {clock.Elapsed}");
        Assert.Contains(Ps.Streams.Progress, p => p.Activity == "Wait-Container long");
        Assert.Equal("Running", Assert.Single(Run("Get-Container -Name long")).Properties["State"].Value.ToString());
    }

    [SkippableFact]
    public void RemoveCGroupForce_TellsEveryWriteAndRemoval_ThroughVerbose()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create cgroups");
        Run("$null = New-CGroup -Path doomed -PidsLimit 10; $script:p = [System.Diagnostics.Process]::Start('sleep', '300'); Move-Process -Id $p.Id -Path doomed");
        Run("Remove-CGroup -Path doomed -Force -Verbose -Confirm:$false");
        var verbose = Ps.Streams.Verbose.Select(v => v.Message).ToList();
        Assert.Contains(verbose, v => v.StartsWith("Performing the operation \"Kill every process, then remove cgroup\"", StringComparison.Ordinal));
        // The kill (cgroup.kill, or the freezer and a signal per process) and one removal per hierarchy.
        Assert.Contains(verbose, v => v.Contains("cgroup.kill", StringComparison.Ordinal) || v.StartsWith("sent SIGKILL", StringComparison.Ordinal));
        int hierarchies = Directory.GetDirectories("/sys/fs/cgroup").Count(d => Directory.Exists(Path.Combine(d, Root)));
        Assert.True(verbose.Count(v => v.StartsWith("removed /sys/fs/cgroup/", StringComparison.Ordinal) && v.EndsWith($"/{Root}/doomed", StringComparison.Ordinal)) >= Math.Max(1, hierarchies),
            string.Join("\n", verbose));
        Assert.True(SpinUntilExited((int)Run("$p.Id")[0].BaseObject), "the process in the cgroup was not killed");
    }

    private static bool SpinUntilExited(int pid)
    {
        for (int i = 0; i < 50; i++)
        {
            if (!File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'))
            {
                return true;
            }
            Thread.Sleep(100);
        }
        return false;
    }

    private List<string> Complete(string input)
    {
        var r = Run($"(TabExpansion2 -inputScript '{input.Replace("'", "''")}' -cursorColumn {input.Length}).CompletionMatches | ForEach-Object CompletionText");
        return r.Select(o => o.ToString()).ToList();
    }

    [SkippableFact]
    public void TabCompletion_CompletesContainerNamesGroupsAndCGroupPaths_ForEveryParameterThatTakesThem()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        Run("$null = New-Container -Name web1 -Group shop /bin/true; $null = New-Container -Name web2 /bin/true; $null = New-Container -Name db /bin/true; $null = New-CGroup -Path batch/nightly");

        foreach (string command in new[] { "Start-Container", "Stop-Container", "Wait-Container", "Get-Container", "Remove-Container", "Get-ContainerLog",
                     "Get-ContainerStats", "Suspend-Container", "Resume-Container", "Set-ContainerProperty", "Remove-ContainerProperty", "Get-ContainerEvent",
                     "Invoke-ContainerCommand" })
        {
            Assert.Equal(["web1", "web2"], Complete($"{command} -Name we"));
        }
        Assert.Equal(["web1", "web2"], Complete("Set-CGroupLimit -Container w"));
        Assert.Equal(["db"], Complete("Move-Process -Id 1 -Container d"));
        Assert.Equal(["shop"], Complete("New-Container -Name x /bin/true -Group s"));
        foreach (string command in new[] { "Get-CGroup -Path ", "New-CGroup -Path ", "Set-CGroupLimit -Path ", "Remove-CGroup -Path ", "Move-Process -Id 1 -Path ", "Get-ContainerStats -CGroupPath " })
        {
            var paths = Complete(command + "b");
            Assert.True(paths.SequenceEqual(["batch"]), $"{command}: {string.Join(", ", paths)}");
        }
        Assert.Equal(["batch/nightly"], Complete("Get-CGroup -Path batch/n"));

        // Property keys of the containers named (or of all), and user names from /etc/passwd.
        Run("Set-ContainerProperty -Name web1 -Key owner -Value ops; Set-ContainerProperty -Name db -Key oncall -Value ann");
        Assert.Equal(["owner"], Complete("Remove-ContainerProperty -Name web1 -Key o"));
        Assert.Equal(["oncall", "owner"], Complete("Set-ContainerProperty -Name * -Value x -Key o"));
        Assert.Contains("root", Complete("New-Container -Name x /bin/true -User ro"));
        Assert.Contains("nobody", Complete("Invoke-ContainerCommand -Name web1 -User nob id"[..^3]));
        Assert.Contains($"/{Root}", Complete($"Get-CGroup -Path /{Root[..12]}"));
    }

    [Fact]
    public void EveryParameterThatNamesAContainerOrACGroup_HasACompleter()
    {
        var assembly = Assembly.LoadFrom(Path.Combine(Repo.ModuleDir, "PSContainers.dll"));
        var missing = new List<string>();
        foreach (Type t in assembly.GetTypes().Where(t => !t.IsAbstract && t.GetCustomAttributes().Any(a => a.GetType().Name == "CmdletAttribute")))
        {
            dynamic cmdlet = t.GetCustomAttributes().Single(a => a.GetType().Name == "CmdletAttribute");
            string name = $"{cmdlet.VerbName}-{cmdlet.NounName}";
            foreach (PropertyInfo p in t.GetProperties().Where(p => p.GetCustomAttributes().Any(a => a.GetType().Name == "ParameterAttribute")))
            {
                bool names = p.Name is "Name" or "Container" or "Path" or "CGroupPath" or "Group";
                bool isNew = name == "New-Container" && p.Name == "Name"; // a name that does not exist yet
                if (names && !isNew && p.PropertyType != typeof(bool) && !p.GetCustomAttributes().Any(a => a.GetType().Name == "ArgumentCompleterAttribute"))
                {
                    missing.Add($"{name} -{p.Name}");
                }
            }
        }
        Assert.Empty(missing);
    }
}
