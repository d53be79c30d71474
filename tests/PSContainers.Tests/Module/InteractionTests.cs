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
        TimeSpan stopping = CtrlC("Wait-Container -Name long", afterMs: 700);
        Assert.True(stopping < TimeSpan.FromSeconds(2), $"stopping took {stopping}");
        Assert.Contains(Ps.Streams.Progress, p => p.Activity == "Wait-Container long");
        Assert.Equal("Running", Assert.Single(Run("Get-Container -Name long")).Properties["State"].Value.ToString());
    }

    [SkippableFact]
    public void StopContainer_CtrlC_EndsTheGracePeriodAtOnce_AndNoKillIsSent()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        // The program ignores SIGTERM, so Stop-Container waits out its -Timeout before SIGKILL; Ctrl+C ends that wait.
        Run("New-Container -Name stubborn /bin/sh -ArgumentList '-c', 'trap \"\" TERM; while :; do sleep 1; done' | Start-Container; [System.Threading.Thread]::Sleep(300)");
        TimeSpan stopping = CtrlC("Stop-Container -Name stubborn -Timeout 60", afterMs: 1000);
        Assert.True(stopping < TimeSpan.FromSeconds(2), $"stopping took {stopping}");
        Assert.Contains(Ps.Streams.Progress, p => p.Activity == "Stop-Container stubborn");
        Assert.Equal("Running", Assert.Single(Run("Get-Container -Name stubborn")).Properties["State"].Value.ToString());
    }

    [SkippableFact]
    public void RemoveCGroupForce_CtrlC_EndsTheRetriesAtOnce_AndNothingGoesOnInTheBackground()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create cgroups");
        Skip.IfNot(File.Exists("/sys/fs/cgroup/freezer/freezer.state") || Directory.Exists("/sys/fs/cgroup/freezer"),
            "needs a cgroup v1 freezer hierarchy at /sys/fs/cgroup/freezer to hold a process that cannot die");
        // A process frozen in a freezer cgroup that is not the project's cannot die, so Remove-CGroup -Force retries
        // for its -TimeoutSec. Ctrl+C must end that at once, and the removal must not go on in the background: after
        // the thaw the cgroup is still there.
        string ice = $"/sys/fs/cgroup/freezer/{Root}-ice";
        Directory.CreateDirectory(ice);
        int pid = 0;
        try
        {
            pid = (int)Run("$null = New-CGroup -Path stuck; $p = [System.Diagnostics.Process]::Start('sleep', '300'); Move-Process -Id $p.Id -Path stuck; $p.Id")[0].BaseObject;
            File.WriteAllText($"{ice}/cgroup.procs", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.WriteAllText($"{ice}/freezer.state", "FROZEN");
            TimeSpan stopping = CtrlC("Remove-CGroup -Path stuck -Force -Confirm:$false -TimeoutSec 60", afterMs: 1000);
            Assert.True(stopping < TimeSpan.FromSeconds(2), $"stopping took {stopping}");
            File.WriteAllText($"{ice}/freezer.state", "THAWED");
            Thread.Sleep(1500);
            Assert.Single(Run("Get-CGroup -Path stuck"));
        }
        finally
        {
            File.WriteAllText($"{ice}/freezer.state", "THAWED");
            if (pid > 0)
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                }
            }
            for (int i = 0; i < 50 && File.ReadAllText($"{ice}/cgroup.procs").Trim().Length > 0; i++)
            {
                Thread.Sleep(20);
            }
            Directory.Delete(ice);
        }
    }

    [SkippableFact]
    public void RemoveCGroupForce_TellsEveryWriteAndRemoval_ThroughVerbose()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create cgroups");
        Run("$null = New-CGroup -Path doomed -PidsLimit 10; $script:p = [System.Diagnostics.Process]::Start('sleep', '300'); Move-Process -Id $p.Id -Path doomed");
        Run("Remove-CGroup -Path doomed -Force -Verbose -Confirm:$false");
        var verbose = Ps.Streams.Verbose.Select(v => v.Message).ToList();
        Assert.Contains(verbose, v => v.StartsWith("Performing the operation \"Kill every process in the cgroup, then remove it from every hierarchy\"", StringComparison.Ordinal));
        // The kill (cgroup.kill, or the freezer and a signal per process) and one removal per hierarchy.
        Assert.Contains(verbose, v => v.Contains("cgroup.kill", StringComparison.Ordinal) || v.StartsWith("sent SIGKILL", StringComparison.Ordinal));
        int hierarchies = Directory.GetDirectories("/sys/fs/cgroup").Count(d => Directory.Exists(Path.Combine(d, Root)));
        Assert.True(verbose.Count(v => v.StartsWith("removed /sys/fs/cgroup/", StringComparison.Ordinal) && v.EndsWith($"/{Root}/doomed", StringComparison.Ordinal)) >= Math.Max(1, hierarchies),
            string.Join("\n", verbose));
        Assert.True(SpinUntilExited((int)Run("$p.Id")[0].BaseObject), "the process in the cgroup was not killed");
    }

    /// <summary>Runs a script, stops it (Ctrl+C) after <paramref name="afterMs"/>, and returns how long the stop took.</summary>
    private TimeSpan CtrlC(string script, int afterMs)
    {
        Ps.Commands.Clear();
        Ps.AddScript(script);
        var handle = Ps.BeginInvoke();
        Thread.Sleep(afterMs);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Ps.Stop();
        Assert.Throws<PipelineStoppedException>(() => Ps.EndInvoke(handle));
        return clock.Elapsed;
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
    public void TabCompletion_CompletesControllersOfThisHost_AndRLimitsAsHashTablesWithThisSessionsValues()
    {
        // Controllers: exactly those the host's hierarchies offer the project (what the root cgroup's object lists).
        var expected = Run("(Get-CGroup -Path /).Controllers").Select(o => o.ToString()).Where(k => k.StartsWith('p')).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("pids", expected);
        Assert.Equal(expected, Complete("Get-CGroup -Controller p"));
        // rlimits: PowerShell completes no keys inside @{ }, so each name comes as a whole hash table with this
        // process's own soft:hard, which New-Container accepts as it is.
        string row = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        string[] cols = row[26..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string nofile = cols[0] == cols[1] ? cols[0] : $"{cols[0]}:{cols[1]}";
        Assert.Equal([$"@{{ nofile = '{nofile}' }}"], Complete("New-Container -Name x /bin/true -ResourceLimit nof"));
        Assert.Equal(16, Complete("New-Container -Name x /bin/true -ResourceLimit ").Count);
        Assert.Equal(["@{ nice = '0' }", "@{ nofile = '" + nofile + "' }", "@{ nproc = '" + Limit("Max processes") + "' }"],
            Complete("New-Container -Name x /bin/true -ResourceLimit n"));
    }

    private static string Limit(string label)
    {
        string[] cols = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith(label, StringComparison.Ordinal))[26..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return cols[0] == cols[1] ? cols[0] : $"{cols[0]}:{cols[1]}";
    }

    [SkippableFact]
    public void CompletedResourceLimit_IsAcceptedByNewContainer_AndReachesTheProgram()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        string completed = Complete("New-Container -Name x /bin/true -ResourceLimit nof").Single();
        var lines = Run($"New-Container -Name rl /bin/sh -ArgumentList '-c', 'ulimit -Sn; ulimit -Hn' -ResourceLimit {completed} | Start-Container -Wait");
        string nofile = Limit("Max open files");
        Assert.Equal(nofile.Contains(':') ? nofile.Split(':') : [nofile, nofile], lines.Select(l => l.ToString()).ToArray());
    }

    [SkippableFact]
    public void GetCGroupController_KeepsTheCGroupsWhereEveryControllerIsActive_AndRefusesAnUnknownOne()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create cgroups");
        Run("$null = New-CGroup -Path ctl/a -MemoryLimit 64MB");
        var all = Run("Get-CGroup -Path ctl -Recurse").Select(o => (string)o.Properties["Path"].Value).ToList();
        Assert.Equal([$"/{Root}/ctl", $"/{Root}/ctl/a"], all);
        foreach (PSObject o in Run("Get-CGroup -Path ctl -Recurse -Controller memory,pids"))
        {
            Assert.Contains("memory", (string[])o.Properties["Controllers"].Value);
            Assert.Contains("pids", (string[])o.Properties["Controllers"].Value);
        }
        Assert.Equal(2, Run("Get-CGroup -Path ctl -Recurse -Controller memory").Count);
        Assert.Equal(Run("Get-CGroup -ProcessId $PID | Where-Object Controllers -Contains pids | ForEach-Object Path").Select(o => o.ToString()),
            Run("Get-CGroup -ProcessId $PID -Controller pids | ForEach-Object Path").Select(o => o.ToString()));
        Assert.NotEmpty(Run("Get-CGroup -ProcessId $PID -Controller pids"));

        Assert.Empty(Run("Get-CGroup -Path ctl -Controller memory, nosuch", allowErrors: true));
        var record = Assert.Single(Ps.Streams.Error);
        Assert.Equal("UnknownController,PSContainers.Commands.GetCGroupCommand", record.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
        Assert.Contains("'nosuch'", record.Exception.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void RemoveForce_IsConfirmedAsAHighImpactAction_AndNoChangesNothing()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        Run("New-Container -Name guarded /bin/sleep -ArgumentList 300 | Start-Container; $null = New-CGroup -Path guardedcg");
        string import = $"Import-Module '{Repo.Manifest}'\n";
        const string operation = "Performing the operation \"Kill every process of the container, then remove its cgroup and depot entry\" on target \"guarded\".";

        // At the default $ConfirmPreference (High) -Force asks; "n" leaves everything as it was.
        var no = Pwsh.Run(["-NoProfile"], stdin: import + "Remove-Container -Name guarded -Force\nn\nRemove-CGroup -Path guardedcg -Force\nn\n");
        Assert.True(no.ExitCode == 0, no.ToString());
        // pwsh's console host wraps the prompt at its width (80 columns when the output is not a terminal).
        string asked = no.StdOut.Replace("\n", string.Empty, StringComparison.Ordinal);
        Assert.Contains("Confirm (high impact)", asked, StringComparison.Ordinal);
        Assert.Contains(operation, asked, StringComparison.Ordinal);
        Assert.Contains("Performing the operation \"Kill every process in the cgroup, then remove it from every hierarchy\" on target", asked, StringComparison.Ordinal);
        Assert.Equal("Running", Run("(Get-Container -Name guarded).State")[0].ToString());
        Assert.Single(Run("Get-CGroup -Path guardedcg"));

        // A host that cannot prompt fails the call and changes nothing; without -Force nothing is asked (the container
        // is running, so that is a plain error).
        var nonInteractive = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", import + "Remove-Container -Name guarded -Force"]);
        Assert.True(nonInteractive.ExitCode != 0, nonInteractive.ToString());
        Assert.Contains("NonInteractive mode", nonInteractive.StdErr, StringComparison.Ordinal);
        Assert.Equal("Running", Run("(Get-Container -Name guarded).State")[0].ToString());

        // -WhatIf says what it would do; -Confirm:$false and $ConfirmPreference = 'None' do not ask.
        Run("Remove-Container -Name guarded -Force -WhatIf");
        Assert.Equal("Running", Run("(Get-Container -Name guarded).State")[0].ToString());
        Run("$ConfirmPreference = 'None'; Remove-CGroup -Path guardedcg -Force; $ConfirmPreference = 'High'");
        Assert.Empty(Run("Get-CGroup -Path guardedcg -ErrorAction SilentlyContinue", allowErrors: true));

        // "y" removes it.
        var yes = Pwsh.Run(["-NoProfile"], stdin: import + "Remove-Container -Name guarded -Force\ny\n");
        Assert.True(yes.ExitCode == 0, yes.ToString());
        Assert.Empty(Run("Get-Container"));
    }

    [SkippableFact]
    public void SeveralContainers_ShowOneOverallProgress_WithEachWaitAsItsChild()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers");
        // Through the pipeline the count is not known: "number N", from the second one on.
        Run("1..3 | ForEach-Object { New-Container -Name \"fleet$_\" /bin/sleep -ArgumentList 300 } | Start-Container");
        var started = Ps.Streams.Progress.Where(p => p.Activity == "Start-Container").ToList();
        Assert.Equal(["'fleet2' (number 2)", "'fleet3' (number 3)", "3 done"], started.Select(p => p.StatusDescription));
        Assert.Equal(ProgressRecordType.Completed, started[^1].RecordType);

        // A pattern in one call: "N of 3" with a percentage, and each stop's own record is its child.
        Run("Stop-Container -Name fleet* -Timeout 5");
        var overall = Ps.Streams.Progress.Where(p => p.Activity == "Stop-Container").ToList();
        Assert.Equal(["'fleet1' (1 of 3)", "'fleet2' (2 of 3)", "'fleet3' (3 of 3)", "3 done"], overall.Select(p => p.StatusDescription));
        Assert.Equal([0, 33, 66, 100], overall.Select(p => p.PercentComplete));
        var children = Ps.Streams.Progress.Where(p => p.Activity.StartsWith("Stop-Container fleet", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(children);
        Assert.All(children, c => Assert.Equal(overall[0].ActivityId, c.ParentActivityId));

        // One container: no overall record, and its own record has no parent.
        Run("Remove-Container -Name fleet1");
        Assert.DoesNotContain(Ps.Streams.Progress, p => p.Activity == "Remove-Container");
        Run("Get-Container | Remove-Container");
        Assert.Equal(["'fleet3' (number 2)", "2 done"], Ps.Streams.Progress.Where(p => p.Activity == "Remove-Container").Select(p => p.StatusDescription));
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
                bool names = p.Name is "Name" or "Container" or "Path" or "CGroupPath" or "Group" or "Controller" or "ResourceLimit";
                bool isNew = name is "New-Container" or "Import-ContainerImage" && p.Name == "Name"; // a name that does not exist yet
                bool isFile = name is "Copy-ContainerItem" or "Import-ContainerImage" && p.Name == "Path"; // files: PowerShell completes them
                if (names && !isNew && !isFile && p.PropertyType != typeof(bool) && !p.GetCustomAttributes().Any(a => a.GetType().Name == "ArgumentCompleterAttribute"))
                {
                    missing.Add($"{name} -{p.Name}");
                }
            }
        }
        Assert.Empty(missing);
    }
}
