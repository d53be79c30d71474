using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Processes;

/// <summary>
/// Sandboxes (a container whose init runs no program and holds it open) and the processes started in them, tracked in
/// the depot by a psc-init of their own: against the real kernel, each container under a ContainerHost that removes it,
/// its cgroups and its processes even when a test fails.
/// </summary>
[Trait("Layout", "cgroup")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels
public class SandboxAndProcessTests
{
    private static Container Sandbox(ContainerHost h, string name, CGroupLimits? limits = null, ContainerIsolation isolation = ContainerIsolation.Default)
    {
        h.Manager.Create(new ContainerManager.Request { Name = name, Sandbox = true, Isolation = isolation, Limits = limits ?? new CGroupLimits() });
        return h.Manager.Start(name);
    }

    private static ContainerProcess Sh(ContainerHost h, string name, string script) =>
        h.Manager.StartProcess(new ContainerExecRequest { Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", script } });

    private static List<(LogStream Stream, string Line)> Output(ContainerHost h, string name, string id) =>
        h.Manager.ProcessOutput(name, id).ReadNew(final: true).ToList();

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), "timed out waiting until " + what); // the VM lane is slow
            Thread.Sleep(20);
        }
    }

    [SkippableFact]
    public void ASandboxRunsOnlyItsInitStaysRunningAndStopsWithExitCodeZero()
    {
        using var h = new ContainerHost();
        Container c = Sandbox(h, "sb");
        Assert.Equal(ContainerState.Running, c.State);
        Assert.Equal("", c.FilePath);
        Thread.Sleep(300);
        c = h.Manager.Get("sb");
        Assert.Equal(ContainerState.Running, c.State);
        Assert.Equal(new[] { c.InitPid!.Value }, h.Manager.CGroups.SubtreeProcessIds(c.CGroupPath).ToArray());
        Assert.Empty(h.Manager.Processes("sb")); // no program, so no "main"
        c = h.Manager.Stop("sb", TimeSpan.FromSeconds(5), force: false);
        Assert.Equal(ContainerState.Exited, c.State);
        Assert.Equal(0, c.ExitCode);
        Assert.Null(c.Signal);
        Assert.Contains(h.Manager.Events("sb"), e => e.Event == "exited" && e.Details == "code=0 signal=0");
    }

    [SkippableFact]
    public void AProgramAndArgumentsGivenToASandboxAreRefusedAndNothingIsMade()
    {
        using var h = new ContainerHost();
        var e = Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request { Name = "sbx", Sandbox = true, FilePath = "/bin/true", ArgumentList = new[] { "x" } }));
        Assert.Equal("SandboxTakesNoProgram", e.ErrorId);
        Assert.Contains("/bin/true x", e.Message);
        Assert.False(h.Manager.Depot.Exists("sbx"));
    }

    [SkippableFact]
    public void AProcessGivesItsIdPidExitCodeAndItsOutputInTheOrderWritten()
    {
        using var h = new ContainerHost();
        Sandbox(h, "out");
        ContainerProcess p = Sh(h, "out", "echo one; echo two >&2; sleep 0.1; echo three; exit 3");
        Assert.Equal("1", p.Id);
        Assert.Equal("out", p.ContainerName);
        Assert.Equal("/bin/sh", p.FilePath);
        Assert.NotNull(p.Pid);
        Assert.NotNull(p.StartTime);
        p = h.Manager.WaitProcess("out", "1", TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(ContainerProcessState.Exited, p.State);
        Assert.Equal(3, p.ExitCode);
        Assert.Null(p.Signal);
        Assert.Null(p.Pid);
        Assert.True(p.ExitTime >= p.StartTime);
        Assert.Equal(new[] { (LogStream.Stdout, "one"), (LogStream.Stderr, "two"), (LogStream.Stdout, "three") }, Output(h, "out", "1"));
        Assert.Equal("2", Sh(h, "out", "exit 0").Id);
        Assert.Equal(new[] { "1", "2" }, h.Manager.Processes("out").Select(x => x.Id));
        Assert.Contains(h.Manager.Events("out"), e => e.Event == "process-exited" && e.Details == "id=1 code=3 signal=0");
        Assert.Contains(h.Manager.Events("out"), e => e.Event == "process-started" && e.Details!.StartsWith("id=1 pid=", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void TheProcessRunsInTheSandboxsNamespacesAndCGroup()
    {
        using var h = new ContainerHost();
        Container c = Sandbox(h, "ns");
        ContainerProcess p = Sh(h, "ns", "echo $$; cat /proc/self/cgroup; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt");
        h.Manager.WaitProcess("ns", p.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        var lines = Output(h, "ns", p.Id).Select(l => l.Line).ToList();
        Assert.InRange(int.Parse(lines[0]), 2, 10); // pid 1 is the sandbox's init
        Assert.Equal(File.ReadAllLines($"/proc/{c.InitPid}/cgroup"), lines.Skip(1).Take(lines.Count - 3));
        Assert.Equal(new FileInfo($"/proc/{c.InitPid}/ns/pid").LinkTarget, lines[^2]);
        Assert.Equal(new FileInfo($"/proc/{c.InitPid}/ns/mnt").LinkTarget, lines[^1]);
    }

    [SkippableFact]
    public void AMebibyteOfOutputThatNobodyReadsDoesNotBlockTheProcess()
    {
        using var h = new ContainerHost();
        Sandbox(h, "big");
        ContainerProcess p = Sh(h, "big", "head -c 1048576 /dev/zero | tr '\\0' x; echo; head -c 1048576 /dev/zero | tr '\\0' y >&2; exit 5");
        p = h.Manager.WaitProcess("big", p.Id, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(5, p.ExitCode);
        var lines = Output(h, "big", p.Id);
        Assert.Equal(new string('x', 1 << 20), Assert.Single(lines, l => l.Stream == LogStream.Stdout).Line);
        Assert.Equal(new string('y', 1 << 20), Assert.Single(lines, l => l.Stream == LogStream.Stderr).Line);
    }

    [SkippableFact]
    public void TheOutputLogRotatesAtItsCapAndAReaderFollowsTheRotation()
    {
        using var h = new ContainerHost();
        Sandbox(h, "rot");
        var p = ProcessTracker.Start(h.Manager, new ContainerExecRequest
        {
            Name = "rot", FilePath = "/bin/sh", ArgumentList = new[] { "-c", "i=0; while [ $i -lt 1000 ]; do i=$((i+1)); echo line $i; sleep 0.001; done" },
        }, logMax: 4096);
        var seen = new List<string>();
        Assert.True(h.Manager.FollowProcess("rot", p.Id, LogStream.All, null, (_, l) => seen.Add(l), CancellationToken.None));
        string dir = ProcessTracker.RecordDir(h.Manager, "rot", p.Id);
        Assert.True(File.Exists(Path.Combine(dir, "output.log.1")));
        Assert.InRange(new FileInfo(Path.Combine(dir, "output.log")).Length, 1, 4096 + 64);
        Assert.InRange(new FileInfo(Path.Combine(dir, "output.log.1")).Length, 4096, 4096 + 64);
        // The follower saw every line although the log rotated under it several times.
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => $"line {i}"), seen);
        // A later reader gets what the two files hold: the newest lines, ending with the last.
        var kept = Output(h, "rot", p.Id).Select(l => l.Line).ToList();
        Assert.Equal("line 1000", kept[^1]);
        Assert.InRange(kept.Count, 250, 999);
    }

    [SkippableFact]
    public void ANewSessionSeesTheProcessRunningReadsItsOutputAndGetsItsExit()
    {
        using var h = new ContainerHost();
        Sandbox(h, "s2");
        ContainerProcess p = Sh(h, "s2", "echo before; read x < /dev/null; sleep 0.5; echo after; exit 9");
        using ContainerManager other = h.NewSession();
        ContainerProcess seen = other.GetProcess("s2", p.Id);
        Assert.Equal(ContainerProcessState.Running, seen.State);
        Assert.Equal(p.Pid, seen.Pid);
        var lines = new List<string>();
        Assert.True(other.FollowProcess("s2", p.Id, LogStream.Stdout, null, (_, l) => lines.Add(l), CancellationToken.None));
        Assert.Equal(new[] { "before", "after" }, lines);
        Assert.Equal(9, other.WaitProcess("s2", p.Id, TimeSpan.FromSeconds(5), CancellationToken.None).ExitCode);
    }

    [SkippableFact]
    public void FollowingEndsAtOnceWhenCancelledAndTheProcessGoesOn()
    {
        using var h = new ContainerHost();
        Sandbox(h, "fc");
        ContainerProcess p = Sh(h, "fc", "echo a; echo b; echo c; exec sleep 300");
        WaitUntil(() => Output(h, "fc", p.Id).Count == 3, "three lines are written");
        using var cts = new CancellationTokenSource();
        var lines = new List<string>();
        var sw = Stopwatch.StartNew();
        bool ended = h.Manager.FollowProcess("fc", p.Id, LogStream.All, 2, (_, l) =>
        {
            lines.Add(l);
            if (lines.Count == 2)
            {
                cts.Cancel();
            }
        }, cts.Token);
        Assert.False(ended);
        Assert.Equal(new[] { "b", "c" }, lines); // -Tail 2 of what was written
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(ContainerProcessState.Running, h.Manager.GetProcess("fc", p.Id).State);
    }

    [SkippableFact]
    public void ASignalIsDeliveredAsGivenAndWithoutOneTermThenKill()
    {
        using var h = new ContainerHost();
        Sandbox(h, "sig");
        ContainerProcess usr1 = Sh(h, "sig", "trap 'echo got; exit 7' USR1; echo ready; while :; do sleep 0.02; done");
        ContainerProcess stubborn = Sh(h, "sig", "trap '' TERM; echo ready; while :; do sleep 0.02; done");
        ContainerProcess polite = h.Manager.StartProcess(new ContainerExecRequest { Name = "sig", FilePath = "sleep", ArgumentList = new[] { "300" } });
        WaitUntil(() => Output(h, "sig", usr1.Id).Any(l => l.Line == "ready") && Output(h, "sig", stubborn.Id).Any(l => l.Line == "ready"), "the traps are set");
        ContainerProcess now = h.Manager.StopProcess("sig", usr1.Id, Signals.Parse("SIGUSR1"), TimeSpan.FromSeconds(10), force: false);
        Assert.Equal(7, h.Manager.WaitProcess("sig", usr1.Id, TimeSpan.FromSeconds(5), CancellationToken.None).ExitCode);
        var sw = Stopwatch.StartNew();
        ContainerProcess killed = h.Manager.StopProcess("sig", stubborn.Id, null, TimeSpan.FromSeconds(0.5), force: false);
        Assert.Equal(ContainerProcessState.Exited, killed.State);
        Assert.Equal((137, 9), (killed.ExitCode, killed.Signal));
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.45, 8);
        ContainerProcess termed = h.Manager.StopProcess("sig", polite.Id, null, TimeSpan.FromSeconds(10), force: false);
        Assert.Equal((143, 15), (termed.ExitCode, termed.Signal));
        Assert.Equal(ContainerState.Running, h.Manager.Get("sig").State); // the sandbox is not affected
    }

    [SkippableFact]
    public void StoppingASandboxEndsEveryProcessThenTheInitAndKeepsTheRecords()
    {
        using var h = new ContainerHost();
        Container c = Sandbox(h, "stop");
        ContainerProcess polite = Sh(h, "stop", "exec sleep 300");
        ContainerProcess stubborn = Sh(h, "stop", "trap '' TERM; echo ready; while :; do sleep 0.02; done");
        WaitUntil(() => Output(h, "stop", stubborn.Id).Any(l => l.Line == "ready"), "SIGTERM is ignored");
        c = h.Manager.Stop("stop", TimeSpan.FromSeconds(1), force: false);
        Assert.Equal(ContainerState.Exited, c.State);
        Assert.Empty(h.Manager.CGroups.SubtreeProcessIds(c.CGroupPath));
        var ps = h.Manager.Processes("stop").ToDictionary(p => p.Id);
        Assert.Equal(ContainerProcessState.Exited, ps[polite.Id].State);
        Assert.Equal(15, ps[polite.Id].Signal);
        Assert.Equal(9, ps[stubborn.Id].Signal);
        Assert.True(Directory.Exists(h.Manager.Depot.PathOf("stop")));
    }

    [SkippableFact]
    public void TheMainProgramIsProcessMain()
    {
        using var h = new ContainerHost();
        Container c = h.Run("withmain", "echo from-main; sleep 0.3; exit 4");
        ContainerProcess main = Assert.Single(h.Manager.Processes("withmain"));
        Assert.Equal(ContainerProcess.MainId, main.Id);
        Assert.Equal(c.Pid, main.Pid);
        Assert.Equal(ContainerProcessState.Running, main.State);
        main = h.Manager.WaitProcess("withmain", "main", TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(4, main.ExitCode);
        Assert.Equal(new[] { "from-main" }, Output(h, "withmain", "main").Select(l => l.Line));
    }

    [SkippableFact]
    public void BadRequestsAreRefusedAndLeaveNoRecord()
    {
        using var h = new ContainerHost();
        h.Manager.Create(new ContainerManager.Request { Name = "created", Sandbox = true });
        Sandbox(h, "live");
        ContainerProcess Start(string name, string file = "/bin/true", IDictionary<string, string>? env = null, string? user = null) =>
            h.Manager.StartProcess(new ContainerExecRequest { Name = name, FilePath = file, Environment = env, User = user });
        Assert.Equal("ContainerNotFound", Assert.Throws<PscException>(() => Start("nosuch")).ErrorId);
        var e = Assert.Throws<PscException>(() => Start("created"));
        Assert.Equal(("ContainerNotRunning", ErrorKind.InvalidOperation), (e.ErrorId, e.Kind));
        Assert.Contains("'created' is Created", e.Message);
        Assert.Equal("InvalidEnvironment", Assert.Throws<PscException>(() => Start("live", env: new Dictionary<string, string> { ["A=B"] = "1" })).ErrorId.Split(',')[0]);
        Assert.Equal("ProgramNotFound", Assert.Throws<PscException>(() => Start("live", "/no/such/program")).ErrorId.Split(',')[0]);
        Assert.Equal("UserNotFound", Assert.Throws<PscException>(() => Start("live", user: "nosuchuser")).ErrorId.Split(',')[0]);
        Assert.False(Directory.Exists(h.Manager.Depot.FileOf("live", "processes")) && Directory.EnumerateFileSystemEntries(h.Manager.Depot.FileOf("live", "processes")).Any());
        e = Assert.Throws<PscException>(() => h.Manager.GetProcess("live", "7"));
        Assert.Equal(("ProcessNotFound", ErrorKind.ObjectNotFound), (e.ErrorId, e.Kind));
        Assert.Contains("'7'", e.Message);
        Assert.Equal("ProcessNotFound", Assert.Throws<PscException>(() => h.Manager.GetProcess("live", "../x")).ErrorId);
        e = Assert.Throws<PscException>(() => Signals.Parse("SIGNOPE"));
        Assert.Equal(("InvalidSignal", ErrorKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.Contains("SIGNOPE", e.Message);
        Assert.Equal(10, Signals.Parse("usr1"));
        Assert.Equal(10, Signals.Parse("10"));
        Assert.Throws<PscException>(() => Signals.Parse("65"));
        h.Manager.Stop("live", TimeSpan.FromSeconds(5), force: false);
        Assert.Equal("ContainerNotRunning", Assert.Throws<PscException>(() => Start("live")).ErrorId);
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void MoreProcessesThanThePidsLimitGetTheKernelsErrorAndTheSandboxIsUnharmed()
    {
        using var h = new ContainerHost();
        Sandbox(h, "pids", new CGroupLimits { PidsLimit = 3 });
        var started = new List<ContainerProcess>();
        PscException? refused = null;
        for (int i = 0; i < 5 && refused is null; i++)
        {
            try
            {
                started.Add(h.Manager.StartProcess(new ContainerExecRequest { Name = "pids", FilePath = "sleep", ArgumentList = new[] { "300" } }));
            }
            catch (PscException e)
            {
                refused = e;
            }
        }
        Assert.NotNull(refused);
        // init and the sleeps make at most three; joining takes one pid more for a moment (psc-init's E1 clones the
        // process inside the cgroup), so the third process is refused, or already the second.
        Assert.InRange(started.Count, 1, 2);
        Assert.Equal("ContainerExecSetup,EAGAIN", refused!.ErrorId);
        Assert.Equal(ContainerState.Running, h.Manager.Get("pids").State);
        Assert.All(h.Manager.Processes("pids"), p => Assert.Equal(ContainerProcessState.Running, p.State));
        Assert.Equal(started.Count, h.Manager.Processes("pids").Count());
    }

    [SkippableFact]
    public void RemovingASandboxEndsItsProcessesAndTheirTrackers()
    {
        using var h = new ContainerHost();
        Sandbox(h, "rm", isolation: ContainerIsolation.Default);
        ContainerProcess p = Sh(h, "rm", "exec sleep 300");
        var state = File.ReadAllLines(Path.Combine(ProcessTracker.RecordDir(h.Manager, "rm", p.Id), "state")).Select(l => l.Split('=')).ToDictionary(a => a[0], a => a[1]);
        int tracker = int.Parse(state["shim_pid"]);
        ulong trackerStart = ulong.Parse(state["shim_start_ticks"]);
        Assert.True(PidHandle.IsAlive(tracker, trackerStart));
        h.Manager.Remove("rm", force: true);
        Assert.False(PidHandle.IsAlive(p.Pid!.Value, ulong.Parse(state["start_ticks"])));
        WaitUntil(() => !PidHandle.IsAlive(tracker, trackerStart), "the tracker is gone");
        Assert.False(h.Manager.Depot.Exists("rm"));
    }
    [SkippableFact]
    public void ATtyProcessRunsOnAPtyOfTheContainersOwnDevptsOfTheGivenSize()
    {
        using var h = new ContainerHost();
        Sandbox(h, "pty");
        ContainerProcess p = h.Manager.StartProcess(new ContainerExecRequest
        {
            Name = "pty", FilePath = "/bin/sh", ArgumentList = new[] { "-c", "tty; stty size; ls -1 /dev/pts; [ -t 0 ] && echo stdin-is-tty; exit 6" },
            Tty = true, Width = 132, Height = 43,
        });
        Assert.True(p.Tty);
        p = h.Manager.WaitProcess("pty", p.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(6, p.ExitCode);
        var lines = Output(h, "pty", p.Id);
        Assert.All(lines, l => Assert.Equal(LogStream.Stdout, l.Stream)); // one stream on a terminal
        Assert.Equal(new[] { "/dev/pts/0", "43 132", "0", "ptmx", "stdin-is-tty" }, lines.Select(l => l.Line));
    }

    /// <summary>A sandbox with a shell on a terminal that prints "ready", reads a line, prints "got &lt;line&gt;", then runs
    /// <paramref name="then"/>; returned once "ready" is in its log.</summary>
    private static ContainerProcess ReadingShell(ContainerHost h, string name, string then)
    {
        Sandbox(h, name);
        ContainerProcess p = h.Manager.StartProcess(new ContainerExecRequest
        {
            Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", "echo ready; read line; echo \"got $line\"; " + then }, Tty = true,
        });
        WaitUntil(() => Output(h, name, p.Id).Any(l => l.Line == "ready"), "the process is ready");
        return p;
    }

    /// <summary><c>psc-init --attach</c> on a process's record folder, its stdin and stdout redirected.</summary>
    private static Process AttachClient(string recordDir)
    {
        var psi = new ProcessStartInfo(ContainerManager.InitPath) { RedirectStandardInput = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--attach");
        psi.ArgumentList.Add(recordDir);
        return Process.Start(psi)!;
    }

    [SkippableFact]
    public void ATerminalAttachesSendsInputGetsTheRecentScreenAndTheProcessEndsWithItsCode()
    {
        using var h = new ContainerHost();
        ContainerProcess p = ReadingShell(h, "att", "exit 4");
        string dir = h.Manager.AttachTarget("att", p.Id);
        using var client = AttachClient(dir);
        var output = client.StandardOutput.ReadToEndAsync();
        Thread.Sleep(300);
        client.StandardInput.Write("hello\n");
        client.StandardInput.Flush();
        Assert.True(client.WaitForExit(10000));
        Assert.Equal(0, client.ExitCode); // the process ended: the tracker closed the socket
        string seen = output.Result;
        Assert.Contains("ready", seen);   // the recent screen, replayed on attach
        Assert.Contains("got hello", seen);
        Assert.Equal(4, h.Manager.WaitProcess("att", p.Id, TimeSpan.FromSeconds(5), CancellationToken.None).ExitCode);
        WaitUntil(() => !File.Exists(Path.Combine(dir, "attach.sock")), "the tracker removed its socket"); // after the exit record

    }

    [SkippableFact]
    public void InputFromAClientThatLeftWithoutReadingTheScreenStillArrives()
    {
        // A client that types and goes at once leaves the replayed screen unread; closing with unread data makes the
        // kernel mark the tracker's end ECONNRESET, and its next recv reports that error before the queued input.
        // The tracker (the process's parent) is stopped while the client sends and leaves, so it always reads late,
        // as it did in the loaded CI runs where the input was lost.
        using var h = new ContainerHost();
        ContainerProcess p = ReadingShell(h, "gone", "exec sleep 300");
        int tracker = int.Parse(File.ReadLines($"/proc/{p.Pid}/status").First(l => l.StartsWith("PPid:"))[5..].Trim());
        using (var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Seqpacket, System.Net.Sockets.ProtocolType.Unspecified))
        {
            client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(h.Manager.AttachTarget("gone", p.Id), "attach.sock")));
            Assert.True(client.Poll(30_000_000, System.Net.Sockets.SelectMode.SelectRead), "the screen was not replayed");
            Assert.Equal(0, Sys.Kill(tracker, 19)); // SIGSTOP
            try
            {
                client.Send(System.Text.Encoding.ASCII.GetBytes("ione\n"));
                client.Close(); // with the replayed screen unread
            }
            finally { Sys.Kill(tracker, 18); } // SIGCONT
        }
        WaitUntil(() => Output(h, "gone", p.Id).Any(l => l.Line == "got one"), "the input of the client that left arrived");
    }

    [SkippableFact]
    public void CtrlPCtrlQDetachesAndTheProcessGoesOn()
    {
        using var h = new ContainerHost();
        ContainerProcess p = ReadingShell(h, "det", "exec sleep 300");
        using var client = AttachClient(h.Manager.AttachTarget("det", p.Id));
        _ = client.StandardOutput.ReadToEndAsync();
        // Input and the keys in one burst: what came before the keys still reaches the program, although the client
        // leaves at once with the screen unread (the ECONNRESET case above).
        client.StandardInput.Write("one\n\x10\x11");
        client.StandardInput.Flush();
        Assert.True(client.WaitForExit(30000));
        WaitUntil(() => Output(h, "det", p.Id).Any(l => l.Line == "got one"), "the input before the detach keys arrived");
        Assert.Equal(3, client.ExitCode);
        Assert.Equal(ContainerProcessState.Running, h.Manager.GetProcess("det", p.Id).State);
    }

    [SkippableFact]
    public void BadTerminalRequestsAreRefused()
    {
        using var h = new ContainerHost();
        Sandbox(h, "badtty");
        ContainerProcess Start(bool tty, int? w, int? hgt) => h.Manager.StartProcess(new ContainerExecRequest { Name = "badtty", FilePath = "/bin/true", Tty = tty, Width = w, Height = hgt });
        var e = Assert.Throws<PscException>(() => Start(true, 0, 24));
        Assert.Equal(("InvalidTerminalSize", ErrorKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.Contains("-Width 0", e.Message);
        Assert.Contains("-Height 10000", Assert.Throws<PscException>(() => Start(true, 80, 10000)).Message);
        Assert.Equal("TerminalSizeNeedsTty", Assert.Throws<PscException>(() => Start(false, 80, null)).ErrorId);
        ContainerProcess plain = h.Manager.StartProcess(new ContainerExecRequest { Name = "badtty", FilePath = "sleep", ArgumentList = new[] { "300" } });
        Assert.Equal("ProcessNotTty", Assert.Throws<PscException>(() => h.Manager.AttachTarget("badtty", plain.Id)).ErrorId);
        Assert.Equal(new[] { plain.Id }, h.Manager.Processes("badtty").Select(x => x.Id));
    }
    [SkippableFact]
    public void UntrackedProcessesInTheCGroupAreListedOnlyWhenAskedWithTheirCommandLine()
    {
        using var h = new ContainerHost();
        Container c = Sandbox(h, "untr");
        ContainerProcess tracked = Sh(h, "untr", "sleep 301 & echo forked; wait");
        WaitUntil(() => Output(h, "untr", tracked.Id).Any(l => l.Line == "forked"), "the child is forked");
        using var outsider = Process.Start("sleep", "302");
        try
        {
            h.Manager.MoveProcess(outsider.Id, "untr");
            Assert.Equal(new[] { tracked.Id }, h.Manager.Processes("untr").Select(p => p.Id));
            var all = h.Manager.Processes("untr", includeUntracked: true).ToList();
            var untracked = all.Where(p => !p.Tracked).ToList();
            Assert.All(untracked, p => Assert.Equal(("", ContainerProcessState.Running), (p.Id, p.State)));
            Assert.Contains(untracked, p => p.Pid == outsider.Id && p.FilePath == "sleep" && p.ArgumentList.SequenceEqual(new[] { "302" }));
            Assert.Contains(untracked, p => p.FilePath == "sleep" && p.ArgumentList.SequenceEqual(new[] { "301" }));
            Assert.DoesNotContain(all, p => p.Pid == c.InitPid); // the init is the container itself
            Assert.Equal(2, untracked.Count);
        }
        finally
        {
            h.Manager.Stop("untr", TimeSpan.FromSeconds(2), force: true); // the moved process dies with the cgroup
            outsider.WaitForExit(5000);
        }
    }
}
