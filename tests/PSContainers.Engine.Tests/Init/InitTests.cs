using System.Diagnostics;
using System.Text;

namespace PSContainers.Engine.Tests.Init;

/// <summary>
/// psc-init against the real kernel: the launcher protocol, the init (reaping, signal forwarding,
/// exit record) and the main process's setup. Sequential (one class): some assertions are timing bounds.
/// </summary>
public class InitTests
{
    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(255)]
    public void ExitCodeIsRecordedExactly(int code)
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Sh($"exit {code}");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var exit = run.Run();
        Assert.Equal(code.ToString(), exit.ExitCode);
        Assert.Equal(0, exit.Signal);
        Assert.Equal($"exit_code={code}\nsignal=0\nexit_time_ns={exit.ExitTimeNs}\n", exit.Raw);
        Assert.InRange(exit.ExitTimeNs, before - 1_000_000_000, before + 20_000_000_000);
        string[] events = File.ReadAllLines(Path.Combine(run.Depot, "events.log"));
        Assert.Equal(2, events.Length);
        Assert.Matches($"^[0-9]+ started init={run.InitPid} main={run.MainPid}$", events[0]);
        Assert.Equal($"{exit.ExitTimeNs} exited code={code} signal=0", events[1]);
        Assert.Empty(Directory.GetFiles(run.Depot, "exit.tmp.*"));
        Assert.Equal(0, run.WaitLauncher());
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    /// <summary>
    /// The `oom` record names the cgroup's OOM kill counter (a v2 memory.events or a v1 memory.oom_control); the init
    /// reads it when the program ends and logs one "oom-killed count=i" per kill before "exited". Here the counter is a
    /// file the test writes, so each format and each count is checked without provoking the OOM killer.
    /// </summary>
    [SkippableTheory]
    [InlineData("low 0\nhigh 0\nmax 12\noom 3\noom_kill 3\noom_group_kill 0\n", 3)]
    [InlineData("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", 1)]
    [InlineData("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", 0)]
    [InlineData(null, 0)]
    public void TheInitLogsTheOomKillsItsCounterShowsBeforeTheExit(string? counter, int kills)
    {
        using var run = new InitRun();
        string file = Path.Combine(run.TempDir("oom"), "memory.events");
        if (counter is not null)
        {
            File.WriteAllText(file, counter);
        }
        run.Ns("pid", "mount").Add("oom", file).Sh("exit 0"); // a missing counter is no error: nothing is logged
        var exit = run.Run();
        Assert.Equal("0", exit.ExitCode);
        string[] events = File.ReadAllLines(Path.Combine(run.Depot, "events.log"));
        Assert.Equal(Enumerable.Range(1, kills).Select(i => $"{exit.ExitTimeNs} oom-killed count={i}")
            .Append($"{exit.ExitTimeNs} exited code=0 signal=0"), events.Skip(1));
        Assert.Equal(0, run.WaitLauncher());
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void DeathBySignalIsRecordedAsSignal(bool pidns)
    {
        using var run = new InitRun();
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Sh("kill -9 $$");
        var exit = run.Run();
        Assert.Equal("", exit.ExitCode);
        Assert.Equal(9, exit.Signal);
        Assert.Equal($"exit_code=\nsignal=9\nexit_time_ns={exit.ExitTimeNs}\n", exit.Raw);
        Assert.EndsWith(" exited code= signal=9\n", File.ReadAllText(Path.Combine(run.Depot, "events.log")));
    }

    [SkippableFact]
    public void InAPidNamespaceTheMainProcessIsPid2AndSeesOnlyItsOwnProcesses()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Sh("echo $$; cat /proc/1/comm; ls /proc | grep -E '^[0-9]+$'");
        var exit = run.Run();
        Assert.Equal("0", exit.ExitCode);
        string[] lines = Lines(run.Stdout);
        Assert.Equal("2", lines[0]);
        Assert.Equal("psc-init", lines[1]);
        int[] pids = lines.Skip(2).Select(int.Parse).ToArray();
        Assert.Contains(1, pids);
        Assert.Contains(2, pids);
        Assert.All(pids, p => Assert.InRange(p, 1, 10));   // init, sh, ls, grep; the host has hundreds
        Assert.True(run.InitPid > 2 && run.MainPid > 2, "exec 0 reports host pids");
    }

    [SkippableFact]
    public void StateJsonNamesInitAndMainWithTheirStartTimesBeforeTheProgramRuns()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Sh("cat state.json; sleep 300").Add("cwd", run.Depot);
        long before = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        run.StartRunning();
        run.WaitForOutput("}");
        // The program itself printed it: it was there before the program ran.
        var state = System.Text.Json.JsonSerializer.Deserialize<PSContainers.Containers.ContainerRuntimeState>(run.Stdout)!;
        Assert.Equal(run.InitPid, state.InitPid);
        Assert.Equal(run.MainPid, state.MainPid);
        Assert.Equal(PSContainers.Processes.ProcStat.Read(run.InitPid)!.StartTime, state.InitStartTicks);
        Assert.Equal(PSContainers.Processes.ProcStat.Read(run.MainPid)!.StartTime, state.MainStartTicks);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), state.BootId);
        Assert.InRange(state.StartTimeUnixNs, before, (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
        Assert.Matches($"^[0-9]+ started init={run.InitPid} main={run.MainPid}\n$", File.ReadAllText(Path.Combine(run.Depot, "events.log")));
    }

    [SkippableFact]
    public void HostnameIsSetInANewUtsNamespace()
    {
        using var run = new InitRun();
        string host = Environment.MachineName;
        run.Ns("uts").Add("hostname", "box-" + run.Id).Sh("cat /proc/sys/kernel/hostname");
        run.Run();
        Assert.Equal("box-" + run.Id + "\n", run.Stdout);
        Assert.Equal(host, File.ReadAllText("/proc/sys/kernel/hostname").Trim());
    }

    [SkippableFact]
    public void HostnameWithoutUtsNamespaceIsAConfigError()
    {
        using var run = new InitRun();
        run.Add("hostname", "nope").Sh("true");
        Assert.Equal("error config 22 hostname", run.Start());
        Assert.Equal(1, run.WaitLauncher());
    }

    /// <summary>
    /// The main process starts `count` short-lived sh whose background sleep is orphaned to init; once
    /// all are there the test SIGKILLs them at once, so they turn into `count` zombies together however
    /// slowly they were spawned. Returns the time init took to reap them.
    /// </summary>
    private static TimeSpan ReapOrphans(InitRun run, int count)
    {
        run.Sh($"i=0; while [ $i -lt {count} ]; do sh -c 'sleep 1000 & exit'; i=$((i+1)); done; echo spawned; exec sleep 1001");
        run.StartRunning();
        run.WaitForOutput("spawned");
        Assert.True(InitRun.WaitUntil(() => InitRun.Children(run.InitPid).Length == count + 1, InitRun.Timeout),
            $"expected {count} orphans under init, got {InitRun.Children(run.InitPid).Length - 1}");
        foreach (int orphan in InitRun.Children(run.InitPid).Where(p => p != run.MainPid))
        {
            Libc.kill(orphan, Libc.SIGKILL);
        }
        var sw = Stopwatch.StartNew();
        bool reaped = InitRun.WaitUntil(() => InitRun.Children(run.InitPid).SequenceEqual(new[] { run.MainPid }), TimeSpan.FromSeconds(5));
        sw.Stop();
        Assert.True(reaped, $"init still has children {string.Join(",", InitRun.Children(run.InitPid).Select(p => p + ":" + InitRun.State(p)))}");
        Assert.True(InitRun.Alive(run.MainPid));
        Libc.kill(run.MainPid, Libc.SIGKILL);
        Assert.Equal(9, run.WaitExit().Signal);
        return sw.Elapsed;
    }

    [SkippableFact]
    public void HundredOrphanedZombiesAreReapedWithinASecond()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount");
        var took = ReapOrphans(run, 100);
        Assert.True(took < TimeSpan.FromSeconds(1), $"took {took}");
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    [SkippableTheory]
    [InlineData(true, "TERM", 15)]
    [InlineData(false, "TERM", 15)]
    [InlineData(true, "INT", 2)]
    [InlineData(true, "HUP", 1)]
    [InlineData(true, "USR1", 10)]
    [InlineData(false, "USR2", 12)]
    public void SignalsToInitAreForwardedToTheMainProcess(bool pidns, string name, int signal)
    {
        using var run = new InitRun();
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Sh($"trap 'echo got-{name}; exit 7' {name}; echo waiting; while :; do sleep 0.05; done");
        run.StartRunning();
        run.WaitForOutput("waiting");
        Assert.Equal(0, Libc.kill(run.InitPid, signal));
        var exit = run.WaitExit();   // written by init: it survived the signal
        Assert.Equal("7", exit.ExitCode);
        Assert.Contains("got-" + name, run.Stdout);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    [SkippableFact]
    public void ExecOfAMissingFileReportsEnoent()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Program("/nonexistent-" + Guid.NewGuid().ToString("N"));
        Assert.Equal("exec 2 execve", run.Start());
        Assert.Equal(0, run.WaitLauncher());
        Assert.Equal("127", run.WaitExit().ExitCode);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    [SkippableFact]
    public void ExecOfANonExecutableFileReportsEacces()
    {
        using var run = new InitRun();
        string file = Path.Combine(run.Depot, "not-executable");
        File.WriteAllText(file, "#!/bin/sh\n");
        run.Program(file);
        Assert.Equal("exec 13 execve", run.Start());
        Assert.Equal(0, run.WaitLauncher());
        Assert.Equal("127", run.WaitExit().ExitCode);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    [SkippableTheory]
    [InlineData(false, "/dev/null")]
    [InlineData(true, "line")]
    public void AnythingOnStdinBeforeTheProgramRunsKillsEverything(bool pidns, string stdin)
    {
        using var run = new InitRun();
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Sh("echo started");
        // stdin is at EOF (or holds a line) before psc-init reads it, so it gives up after making init.
        string input = stdin == "/dev/null" ? stdin : Path.Combine(run.TempDir("stdin"), "line");
        if (input != "/dev/null")
        {
            File.WriteAllText(input, "stop\n");
        }
        string line = run.Start("/bin/sh", "-c", "exec \"$0\" \"$2\" <\"$1\"", InitRun.InitPath, input);
        Assert.Equal("error aborted 125 stopped before the program ran", line);
        Assert.Equal(1, run.WaitLauncher());
        // A waits for its victims before it prints, so the cgroups are empty (at most zombies).
        foreach (string cg in run.CGroups)
        {
            Assert.Empty(run.CGroupProcs(cg));
        }
        Assert.Empty(run.LivePids());
        Assert.False(File.Exists(run.ExitPath));
        Assert.False(File.Exists(Path.Combine(run.Depot, "state.json")));
        Assert.Equal("", run.Stdout);
    }

    [SkippableFact]
    public void ASetupErrorKillsEverythingAndIsReported()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Add("cwd", "/nonexistent-dir").Sh("true");
        Assert.Equal("error chdir 2 /nonexistent-dir", run.Start());
        Assert.Equal(1, run.WaitLauncher());
        Assert.Empty(run.LivePids());
        Assert.False(File.Exists(run.ExitPath));
    }

    [SkippableTheory]
    [InlineData("proc", "/tmp")]
    [InlineData("stdin", "1")]
    [InlineData("sandbox", "yes")]
    public void RecordsOfATrackedExecOrABadSandboxRecordAreRefusedAtAStart(string key, string value)
    {
        using var run = new InitRun();
        run.Add(key, value).Sh("true");
        Assert.Equal($"error config 22 {key}", run.Start());
        Assert.Equal(1, run.WaitLauncher());
        Assert.Empty(run.LivePids());
    }

    [SkippableFact]
    public void AnEtcFolderWithoutARootOrNotAbsoluteIsAConfigError()
    {
        foreach (bool withRoot in new[] { false, true })
        {
            using var run = new InitRun();
            run.Ns("pid", "mount");
            if (withRoot)
            {
                run.Add("root", "/");
            }
            run.Add("etc", withRoot ? "relative/etc" : "/tmp").Sh("true");
            Assert.Equal("error config 22 etc", run.Start());
            Assert.Equal(1, run.WaitLauncher());
        }
    }

    [SkippableFact]
    public void ASandboxTakesNoProgram()
    {
        using var run = new InitRun();
        run.Add("sandbox", "1").Sh("true");
        Assert.Equal("error config 22 arg", run.Start());
        Assert.Equal(1, run.WaitLauncher());
    }

    [SkippableFact]
    public void AnUnknownConfigKeyIsAConfigError()
    {
        using var run = new InitRun();
        run.Add("bogus", "1").Sh("true");
        Assert.Equal("error config 22 bogus", run.Start());
        Assert.Equal(1, run.WaitLauncher());
        Assert.Empty(run.LivePids());
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheMainProcessHasOnlyFds0To2(bool pidns)
    {
        using var run = new InitRun();
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Program("/bin/ls", "/proc/self/fd");   // ls itself opens fd 3 to read the directory
        run.Run();
        Assert.Equal(new[] { "0", "1", "2", "3" }, Lines(run.Stdout));
    }

    [SkippableFact]
    public void StdinIsDevNullAndStdoutStderrAreTheLogs()
    {
        using var run = new InitRun();
        run.Sh("readlink /proc/self/fd/0; echo to-out; echo to-err >&2; cat; echo after-cat");
        run.Run();
        Assert.Equal("/dev/null\nto-out\nafter-cat\n", run.Stdout);
        Assert.Equal("to-err\n", run.Stderr);
    }

    [SkippableFact]
    public void OutputLogKeepsTheOrderTheTwoStreamsWereWrittenIn()
    {
        using var run = new InitRun();
        // Each write waits long enough for the init to have read the one before, so each is a record of its own.
        run.Sh("for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done");
        run.Run();
        var records = OutputRecords.Read(run.Depot).Select(r => r.Tag + " " + r.Text);
        Assert.Equal(new[] { "o out1\n", "e err1\n", "o out2\n", "e err2\n", "o out3\n", "e err3\n" }, records);
    }

    [SkippableFact]
    public void OutputLogRotatesAtItsCapAndKeepsTheNewestPart()
    {
        using var run = new InitRun();
        run.Add("log_max", "4096");
        // 40 lines of 1000 bytes, each its own write: the log rotates about every 4 lines.
        run.Sh("i=0; while [ $i -lt 40 ]; do printf '%03d%0997d\\n' $i 0; i=$((i+1)); sleep 0.005; done");
        run.Run();
        Assert.True(File.Exists(run.OutputLog + ".1"), "no output.log.1");
        long current = new FileInfo(run.OutputLog).Length, old = new FileInfo(run.OutputLog + ".1").Length;
        Assert.InRange(old, 4096, 4096 + 1008);
        Assert.InRange(current, 0, 4096 + 1008);
        string[] kept = Lines(run.Stdout);
        Assert.InRange(kept.Length, 4, 10);
        Assert.All(kept, l => Assert.Equal(1000, l.Length));
        // What is kept is the end, without a gap: the last lines in order.
        Assert.Equal(Enumerable.Range(40 - kept.Length, kept.Length).Select(i => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)), kept.Select(l => l[..3]));
    }

    [SkippableFact]
    public void WithoutLogMaxTheProgramsOutputIsDevNull()
    {
        using var run = new InitRun(logs: false);
        run.Program("/bin/sleep", "30").StartRunning();
        Assert.Equal("/dev/null", new FileInfo($"/proc/{run.MainPid}/fd/1").LinkTarget);
        Assert.Equal("/dev/null", new FileInfo($"/proc/{run.MainPid}/fd/2").LinkTarget);
        Assert.False(File.Exists(run.OutputLog));
    }

    [SkippableTheory]
    [InlineData("0")]
    [InlineData("4095")]
    [InlineData("x")]
    public void ALogCapBelowAPageIsRefused(string cap)
    {
        using var run = new InitRun();
        run.Add("log_max", cap).Sh("echo never");
        Assert.Equal("error config 22 log_max", run.Start());
        Assert.Equal("", run.Stdout);
    }

    [SkippableFact]
    public void ABackgroundChildHoldingStdoutDoesNotHoldTheExit()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount");
        run.Sh("sleep 30 & echo parent-done");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        run.Run();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the exit took {sw.Elapsed}");
        Assert.Equal("parent-done\n", run.Stdout);
    }

    [SkippableFact]
    public void TheProcessTreeIsInTheCGroupsAndTheLauncherIsNot()
    {
        using var run = new InitRun();
        run.Ns("pid", "mount").Sh("cat /proc/self/cgroup; echo done; exec sleep 1000");
        run.StartRunning();
        run.WaitForOutput("done");
        string name = "/psc-init-test-" + run.Id;
        string[] lines = Lines(run.Stdout);
        Assert.Contains(lines, l => l.EndsWith(":memory:" + name));
        Assert.Contains(lines, l => l.EndsWith(":pids:" + name));
        Assert.Contains("0::" + name, lines);
        foreach (string cg in run.CGroups)
        {
            Assert.Equal(new[] { run.InitPid, run.MainPid }.Order(), run.CGroupProcs(cg).Order());
        }
        Libc.kill(run.MainPid, Libc.SIGKILL);
        run.WaitExit();
    }

    [SkippableFact]
    public void AV2CGroupThatWasKilledBeforeStillTakesTheInit()
    {
        // Some kernels SIGKILL at birth a child cloned into a cgroup that cgroup.kill emptied before; the init
        // is cloned there only where a probe child lives, else it joins through cgroup.procs (cgroups.c).
        using var run = new InitRun();
        string? unified = run.CGroups.FirstOrDefault(c => File.Exists(Path.Combine(c, "cgroup.kill")));
        Skip.If(unified is null, "no v2 cgroup with cgroup.kill (kernel before 5.14, or no v2 hierarchy)");
        File.WriteAllText(Path.Combine(unified!, "cgroup.kill"), "1");
        run.Ns("pid", "mount").Sh("cat /proc/self/cgroup; echo done; exec sleep 1000");
        run.StartRunning();
        run.WaitForOutput("done");
        Assert.Contains("0::/psc-init-test-" + run.Id, Lines(run.Stdout));
        Assert.Equal(new[] { run.InitPid, run.MainPid }.Order(), run.CGroupProcs(unified!).Order());
        Libc.kill(run.MainPid, Libc.SIGKILL);
        Assert.Equal(9, run.WaitExit().Signal);
    }

    [SkippableFact]
    public void ACgroupNamespaceHidesTheCGroupPath()
    {
        using var run = new InitRun();
        run.Ns("cgroup").Sh("cat /proc/self/cgroup");
        run.Run();
        Assert.Contains("0::/", Lines(run.Stdout));
        Assert.Contains(Lines(run.Stdout), l => l.EndsWith(":memory:/"));
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void InitAndMainOutliveTheLauncher(bool pidns)
    {
        using var run = new InitRun();
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Program("/bin/sleep", "1000");
        run.StartRunning();
        Assert.Equal(0, run.WaitLauncher());
        run.Launcher!.Dispose();   // closes our ends of its pipes
        Thread.Sleep(300);
        Assert.True(InitRun.Alive(run.InitPid), "init died with the launcher");
        Assert.True(InitRun.Alive(run.MainPid), "main process died with the launcher");
        Assert.NotEqual(Environment.ProcessId, ParentOf(run.InitPid));
        Assert.False(File.Exists(run.ExitPath));
        Assert.Equal(0, Libc.kill(run.MainPid, Libc.SIGKILL));
        Assert.Equal(9, run.WaitExit().Signal);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    private static int ParentOf(int pid)
    {
        string line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("PPid:"));
        return int.Parse(line["PPid:".Length..].Trim());
    }

    [SkippableFact]
    public void WithoutPidNamespaceInitIsASubreaperThatReapsOrphans()
    {
        using var run = new InitRun();
        var took = ReapOrphans(run, 100);
        Assert.True(took < TimeSpan.FromSeconds(1), $"took {took}");
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
    }

    [SkippableTheory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void TheRestIsKilledWhenTheMainProcessExits(bool pidns, bool cgroups)
    {
        using var run = new InitRun(cgroups);
        if (pidns)
        {
            run.Ns("pid", "mount");
        }
        run.Sh("sleep 1000 & setsid sleep 1001 & sh -c 'sleep 1002 & exit'; sleep 0.2; echo spawned; exit 3");
        var exit = run.Run();
        Assert.Equal("3", exit.ExitCode);
        Assert.Contains("spawned", run.Stdout);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)), "left: " + string.Join(",", run.LivePids()));
    }

    [SkippableFact]
    public void RlimitsAreApplied()
    {
        using var run = new InitRun();
        run.Add("rlimit", "nofile:123:456").Add("rlimit", "core:0:unlimited").Sh("ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc");
        run.Run();
        Assert.Equal(new[] { "123", "456", "0", "unlimited" }, Lines(run.Stdout));
    }

    [SkippableFact]
    public void UidGidGroupsAndNoNewPrivsAreApplied()
    {
        using var run = new InitRun();
        run.Add("uid", "65534").Add("gid", "65534").Add("groups", "65534,100")
            .Sh("id -u; id -g; grep -E '^(Groups|NoNewPrivs):' /proc/self/status");
        run.Run();
        Assert.Equal(new[] { "65534", "65534", "Groups:\t100 65534", "NoNewPrivs:\t1" }, Lines(run.Stdout).Select(l => l.TrimEnd()));
    }

    [SkippableFact]
    public void DefaultsAreRootNoGroupChangeAndNoNewPrivsCanBeOff()
    {
        using var run = new InitRun();
        run.Add("no_new_privs", "0").Sh("id -u; id -g; grep -E '^NoNewPrivs:' /proc/self/status");
        run.Run();
        Assert.Equal(new[] { "0", "0", "NoNewPrivs:\t0" }, Lines(run.Stdout));
    }

    [SkippableFact]
    public void TheEnvironmentIsExactlyWhatIsGiven()
    {
        using var run = new InitRun();
        run.Add("env", "A=1").Add("env", "B=x=y").Add("env", "NL=line1\nline2").Program("/usr/bin/env", "-0");
        run.Run();
        string[] env = run.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { "A=1", "B=x=y", "NL=line1\nline2", InitRun.MarkerVar + "=" + run.Id }.Order(), env.Order());
    }

    [SkippableFact]
    public void NoEnvRecordsMeansAnEmptyEnvironment()
    {
        using var run = new InitRun(marker: false);
        run.Program("/usr/bin/env");
        run.Run();
        Assert.Equal("", run.Stdout);
    }

    [SkippableFact]
    public void CwdIsSetAndARelativeProgramIsResolvedAgainstIt()
    {
        using var run = new InitRun();
        run.Add("cwd", "/usr/bin").Program("./pwd");
        run.Run();
        Assert.Equal("/usr/bin\n", run.Stdout);
    }

    [SkippableFact]
    public void LoopbackIsUpInANewNetworkNamespace()
    {
        Skip.IfNot(File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip"), "needs ip(8)");
        using var run = new InitRun();
        run.Ns("net").Sh("ip -o link show | wc -l; ip -o link show lo");
        run.Run();
        string[] lines = Lines(run.Stdout);
        Assert.Equal("1", lines[0].Trim());
        Assert.Contains(",UP", lines[1]);
    }

    [SkippableFact]
    public void LoopbackZeroLeavesLoDownInTheNewNetworkNamespace()
    {
        Skip.IfNot(File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip"), "needs ip(8)");
        using var run = new InitRun();
        run.Ns("net").Add("loopback", "0").Sh("ip -o link show | wc -l; ip -o link show lo");
        run.Run();
        string[] lines = Lines(run.Stdout);
        Assert.Equal("1", lines[0].Trim());
        Assert.DoesNotContain(",UP", lines[1]);
    }

    [SkippableFact]
    public void NetnsWithItsOwnNetworkNamespaceIsAConfigError()
    {
        // One network namespace: netns= joins a made one, ns=net would make another.
        using var run = new InitRun();
        run.Ns("net").Add("netns", "/proc/self/ns/net").Sh("true");
        Assert.Equal("error config 22 netns", run.Start());
        Assert.Equal(1, run.WaitLauncher());
    }

    [SkippableFact]
    public void LoopbackZeroWithoutANetworkNamespaceIsAConfigError()
    {
        // Never the host's lo: loopback=0 only means something in a namespace of the container's own.
        using var run = new InitRun();
        run.Add("loopback", "0").Sh("true");
        Assert.Equal("error config 22 loopback", run.Start());
        Assert.Equal(1, run.WaitLauncher());
    }

    [SkippableFact]
    public void RootPivotsIntoAPreparedDirectoryWithItsOwnProc()
    {
        using var run = new InitRun();
        string root = run.TempDir("root");
        foreach (string d in new[] { "bin", "proc", "work" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }
        File.Copy("/bin/sh", Path.Combine(root, "bin/sh"));
        foreach (string lib in SharedLibraries("/bin/sh"))
        {
            string target = Path.Combine(root, lib.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(lib, target);
        }
        run.Ns("pid", "mount").Add("root", root).Add("cwd", "/work")
            .Program("/bin/sh", "-c", "echo $$; pwd; echo /*; echo /proc/[0-9]*");
        run.Run();
        string[] lines = Lines(run.Stdout);
        Assert.Equal("2", lines[0]);
        Assert.Equal("/work", lines[1]);
        Assert.DoesNotContain("/usr", lines[2].Split(' '));
        Assert.Contains("/work", lines[2].Split(' '));
        Assert.Equal("/proc/1 /proc/2", lines[3]);
        Assert.DoesNotContain(root, File.ReadAllText("/proc/self/mountinfo"));
    }

    private static IEnumerable<string> SharedLibraries(string program)
    {
        var psi = new ProcessStartInfo("ldd", program) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        foreach (string line in Lines(output))
        {
            string path = line.Contains("=>") ? line.Split("=>")[1].Trim() : line.Trim();
            path = path.Split(' ')[0];
            if (path.StartsWith('/'))
            {
                yield return path;
            }
        }
    }

    [SkippableFact]
    public void RootWithoutMountNamespaceIsAConfigError()
    {
        using var run = new InitRun();
        run.Add("root", "/tmp").Sh("true");
        Assert.Equal("error config 22 root", run.Start());
    }

    [SkippableFact]
    public void AUserNamespaceGetsTheGivenMaps()
    {
        using var run = new InitRun();
        run.Ns("user", "pid", "mount").Add("uid_map", "0 0 1").Add("gid_map", "0 0 1")
            .Sh("id -u; cat /proc/self/uid_map /proc/self/gid_map");
        run.Run();
        string[] lines = Lines(run.Stdout).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToArray();
        Assert.Equal(new[] { "0", "0 0 1", "0 0 1" }, lines);
    }

    [SkippableFact]
    public void RootlessUserNamespaceMapsTheCallerToRoot()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "needs setpriv to drop to an unprivileged user");
        using var run = new InitRun(cgroups: false);
        // The unprivileged launcher must be able to read its binary and config and write the depot.
        File.SetUnixFileMode(run.Depot, (UnixFileMode)0x1ff);
        File.SetUnixFileMode(run.OutputLog, (UnixFileMode)0x1b6);
        string binary = Path.Combine(run.Depot, "psc-init");
        File.Copy(InitRun.InitPath, binary);
        run.Ns("user", "pid", "mount", "uts").Add("hostname", "rootless").Add("uid_map", "0 65534 1").Add("gid_map", "0 65534 1")
            .Sh("id -u; cat /proc/sys/kernel/hostname /proc/self/setgroups");
        string line = run.Start("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", binary);
        Skip.If(line.StartsWith("error clone 1 namespaces"), "unprivileged user namespaces are disabled");
        Assert.StartsWith("exec 0 ", line);
        var exit = run.WaitExit();
        Assert.Equal("0", exit.ExitCode);
        Assert.Equal(new[] { "0", "rootless", "deny" }, Lines(run.Stdout));
    }

    [SkippableFact]
    public void AnUnwritableDepotFailsTheStartAndLeavesNothing()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "needs setpriv to drop to an unprivileged user");
        using var run = new InitRun(cgroups: false);
        // Run unprivileged without namespaces: the depot (root's, 0755) is readable but not writable.
        File.SetUnixFileMode(run.Depot, (UnixFileMode)0x1ed);
        File.SetUnixFileMode(run.OutputLog, (UnixFileMode)0x1b6);
        string binary = Path.Combine(run.TempDir("bin"), "psc-init");
        File.Copy(InitRun.InitPath, binary);
        run.Sh("echo ran");
        string line = run.Start("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", binary);
        Assert.Equal($"error depot_write 13 {run.Depot}/state.json", line);
        Assert.Equal(1, run.WaitLauncher());
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
        Assert.Equal(new[] { "init.conf", "output.log" }, Directory.GetFiles(run.Depot).Select(Path.GetFileName).Order().ToArray());
        Assert.Equal("", run.Stdout);
    }

    [SkippableFact]
    public void ADepotThatTurnsUnwritableIsReportedOnStderrAndInitStillExits()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "needs setpriv to drop to an unprivileged user");
        using var run = new InitRun(cgroups: false);
        // Unprivileged without namespaces; the depot is taken away once the program runs.
        File.SetUnixFileMode(run.Depot, (UnixFileMode)0x1ff);
        File.SetUnixFileMode(run.OutputLog, (UnixFileMode)0x1b6);
        string binary = Path.Combine(run.TempDir("bin"), "psc-init");
        File.Copy(InitRun.InitPath, binary);
        string gate = Path.Combine(run.TempDir("gate"), "go");
        File.SetUnixFileMode(Path.GetDirectoryName(gate)!, (UnixFileMode)0x1ff);
        run.Sh($"while [ ! -e {gate} ]; do sleep 0.01; done; echo ran");
        run.StartRunning("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", binary);
        File.SetUnixFileMode(run.Depot, (UnixFileMode)0x1ed);
        File.WriteAllText(gate, "");
        Assert.True(InitRun.WaitUntil(() => run.Stderr.Contains("psc-init: cannot write the exit record in " + run.Depot), InitRun.Timeout),
            run.Stderr);
        Assert.True(run.NoneLeft(TimeSpan.FromSeconds(3)));
        Assert.False(File.Exists(run.ExitPath));
        Assert.Equal("ran\n", run.Stdout);
        // events.log was made by the launcher (owned by the same user), so the exit still reaches it.
        Assert.Contains(" exited code=0 signal=0", File.ReadAllText(Path.Combine(run.Depot, "events.log")));
    }
}
