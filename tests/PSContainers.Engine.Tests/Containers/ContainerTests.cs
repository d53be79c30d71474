using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>A depot and a cgroup root of the test's own; every container, cgroup and process removed on dispose.</summary>
public sealed class ContainerHost : IDisposable
{
    private readonly TempDir _depotDir = new();
    private readonly TempDir _storeDir = new();

    public ContainerHost()
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "needs root to create cgroups and namespaces");
        Root = "/psc-xunit-c-" + Guid.NewGuid().ToString("N")[..8];
        Manager = NewSession();
    }

    public string Root { get; }

    public ContainerManager Manager { get; }

    /// <summary>A second manager over the same depot and root: what a new session sees.</summary>
    public ContainerManager NewSession() => new(new Depot(_depotDir.Path), new CGroupManager(CGroupHierarchy.Detect(), Root), new ImageStore(_storeDir.Path));

    public Container Run(string name, string script, ContainerIsolation isolation = ContainerIsolation.Default, CGroupLimits? limits = null)
    {
        Manager.Create(new ContainerManager.Request
        {
            Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", script }, Isolation = isolation, Limits = limits ?? new CGroupLimits(),
        });
        return Manager.Start(name);
    }

    public string[] Stdout(string name) => Init.OutputRecords.Stream(Manager.Depot.PathOf(name), 'o').Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public void Dispose()
    {
        try
        {
            foreach (string name in Manager.Depot.Names())
            {
                try
                {
                    Manager.Remove(name, force: true);
                }
                catch (PscException)
                {
                }
            }
            if (Manager.CGroups.Exists(Root))
            {
                Manager.CGroups.Remove(Root, recurse: true, force: true, TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            Manager.Dispose();
            _depotDir.Dispose();
            _storeDir.Dispose();
        }
    }
}

public class ContainerTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [SkippableTheory]
    [InlineData("exit 0", 0, null)]
    [InlineData("exit 1", 1, null)]
    [InlineData("exit 42", 42, null)]
    [InlineData("exit 255", 255, null)]
    [InlineData("kill -TERM $$", 143, 15)]
    [InlineData("kill -KILL $$", 137, 9)]
    public void TheMainProcesssExitComesBackExactly(string script, int code, int? signal)
    {
        using var h = new ContainerHost();
        h.Run("code", script);
        var c = h.Manager.Wait("code", Minute, CancellationToken.None);
        Assert.Equal(ContainerState.Exited, c.State);
        Assert.Equal(code, c.ExitCode);
        Assert.Equal(signal, c.Signal);
        Assert.NotNull(c.ExitTime);
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void LimitsApplyBeforeTheFirstInstruction()
    {
        using var h = new ContainerHost();
        h.Manager.Create(new ContainerManager.Request { Name = "lim", FilePath = "/bin/true", Limits = new CGroupLimits { PidsLimit = 7, MemoryLimit = 48L << 20 } });
        var cg = h.Manager.CGroups.Get(h.Root + "/lim");
        Assert.Equal(7, cg.PidsLimit);
        Assert.Equal(48L << 20, cg.MemoryLimit);
        Assert.Equal(ContainerState.Created, h.Manager.Get("lim").State);
    }

    [SkippableFact]
    public void APidNamespaceShowsInitAsOneAndTheProgramAsTwo()
    {
        using var h = new ContainerHost();
        h.Run("pidns", "echo $$ $PPID; hostname; ls /proc | grep -cE '^[0-9]+$'");
        h.Manager.Wait("pidns", Minute, CancellationToken.None);
        var lines = h.Stdout("pidns");
        Assert.Equal("2 1", lines[0]);
        Assert.Equal("pidns", lines[1]);
        Assert.InRange(int.Parse(lines[2]), 3, 4); // init, sh, ls (and grep while it starts)
    }

    [SkippableFact]
    public void StopKillsTheWholeTreeIncludingDaemonsAndTermIgnorers()
    {
        using var h = new ContainerHost();
        string tree = "trap '' TERM; sleep 300 & (sleep 300 & (sleep 300 & wait) & wait) & setsid sh -c 'trap \"\" TERM; sleep 300' & echo up; wait";
        var c = h.Run("tree", tree);
        var deadline = Stopwatch.StartNew();
        while (h.Manager.CGroups.ProcessIds(c.CGroupPath).Count < 8 && deadline.ElapsedMilliseconds < 5000)
        {
            Thread.Sleep(20);
        }
        var pids = h.Manager.CGroups.ProcessIds(c.CGroupPath);
        Assert.True(pids.Count >= 8, $"{pids.Count} processes");
        var sw = Stopwatch.StartNew();
        var stopped = h.Manager.Stop("tree", TimeSpan.FromSeconds(1), force: false);
        sw.Stop();
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 2.5); // the TERM ignorer takes the timeout, no longer
        Assert.Equal(ContainerState.Exited, stopped.State);
        Assert.Empty(h.Manager.CGroups.ProcessIds(c.CGroupPath));
        foreach (int pid in pids)
        {
            Assert.False(IsAlive(pid), $"process {pid} survived");
        }
    }

    [SkippableFact]
    public void AHundredOrphanedZombiesAreReapedWithinASecond()
    {
        using var h = new ContainerHost();
        // Each child exits at once and leaves a grandchild that exits 0.2 s later as an orphan of init.
        var c = h.Run("zombies", "i=0; while [ $i -lt 100 ]; do sh -c 'sleep 0.2 & exit' ; i=$((i+1)); done; echo made; exec sleep 300",
            limits: new CGroupLimits { PidsLimit = 400 });
        var sw = Stopwatch.StartNew();
        while (Init.OutputRecords.Stream(h.Manager.Depot.PathOf("zombies"), 'o') != "made\n" && sw.ElapsedMilliseconds < 20000)
        {
            Thread.Sleep(20);
        }
        Thread.Sleep(1200);
        int zombies = h.Manager.CGroups.ProcessIds(c.CGroupPath).Count(p => ProcStat.Read(p)?.State == 'Z');
        var left = h.Manager.CGroups.ProcessIds(c.CGroupPath);
        Assert.Equal(0, zombies);
        Assert.Equal(2, left.Count); // init and the sleeping main process
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void ANewSessionFindsWaitsStopsAndRemovesTheContainer()
    {
        using var h = new ContainerHost();
        var started = h.Run("again", "exec sleep 300");
        using (var other = h.NewSession())
        {
            var seen = other.Get("again");
            Assert.Equal(ContainerState.Running, seen.State);
            Assert.Equal(started.Pid, seen.Pid);
            var stopped = other.Stop("again", TimeSpan.FromSeconds(5), force: false);
            Assert.Equal(143, stopped.ExitCode);
            other.Remove("again", force: false);
        }
        Assert.False(IsAlive(started.Pid!.Value));
        Assert.Empty(h.Manager.Depot.Names());
        Assert.False(h.Manager.CGroups.Exists(started.CGroupPath));
    }

    [SkippableTheory]
    [MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void AReusedPidIsNeverTakenForTheContainer(int run)
    {
        _ = run;
        using var h = new ContainerHost();
        h.Run("reuse", "exec sleep 300");
        // Pretend the recorded processes started at another time: the pids now belong to "someone else".
        var state = h.Manager.Depot.ReadJson<ContainerRuntimeState>("reuse", "state.json")!;
        h.Manager.Depot.WriteJson("reuse", "state.json", state with { InitStartTicks = state.InitStartTicks + 1, MainStartTicks = state.MainStartTicks + 1 });
        var c = h.Manager.Get("reuse");
        Assert.Equal(ContainerState.Exited, c.State);
        Assert.Null(c.Pid);
        Assert.True(IsAlive(state.MainPid)); // not signalled by Get; Remove kills through the cgroup only
        h.Manager.Remove("reuse", force: true);
        Assert.False(IsAlive(state.MainPid));
    }

    [SkippableFact]
    public void MoveProcessIntoAnExitedContainerIsRefusedAndMovesNothing()
    {
        using var h = new ContainerHost();
        h.Run("done", "exit 0");
        h.Manager.Wait("done", TimeSpan.FromMinutes(1), CancellationToken.None);
        using var sleeper = Process.Start("sleep", "60");
        try
        {
            string before = File.ReadAllText($"/proc/{sleeper.Id}/cgroup");
            var e = Assert.Throws<PscException>(() => h.Manager.MoveProcess(sleeper.Id, "done"));
            Assert.Equal("ContainerNotRunning", e.ErrorId);
            Assert.Equal(ErrorKind.InvalidOperation, e.Kind);
            Assert.Equal(before, File.ReadAllText($"/proc/{sleeper.Id}/cgroup"));
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }

    [SkippableFact]
    public void AFailedExecIsAnErrorWithTheErrnoAndLeavesNothingRunning()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string script = Path.Combine(dir.Path, "prog");
        File.WriteAllText(script, "#!/no/such/interpreter\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        h.Manager.Create(new ContainerManager.Request { Name = "noexec", FilePath = script });
        var ex = Assert.Throws<PscException>(() => h.Manager.Start("noexec"));
        Assert.Equal("ContainerExec,ENOENT", ex.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(ContainerState.Created, h.Manager.Get("noexec").State);
        Assert.Empty(h.Manager.CGroups.ProcessIds(h.Root + "/noexec"));
    }

    [SkippableFact]
    public void AMountMadeAfterTheLastStartIsSeenByTheNextContainer()
    {
        // A resident launcher outlives mounts made on the host: the next container's mount namespace is still
        // copied at its start, so it sees the new file system (an init made ahead of the request would not).
        using var h = new ContainerHost();
        h.Run("before", "true");
        h.Manager.Wait("before", Minute, CancellationToken.None);
        using var dir = new TempDir();
        HostCommand.Run("mount", "-t", "tmpfs", "psc-test-late", dir.Path);
        try
        {
            File.WriteAllText(Path.Combine(dir.Path, "mark"), "mounted after");
            h.Run("after", $"cat {dir.Path}/mark");
            Assert.Equal(0, h.Manager.Wait("after", Minute, CancellationToken.None).ExitCode);
            Assert.Equal(new[] { "mounted after" }, h.Stdout("after"));
        }
        finally
        {
            HostCommand.Run("umount", "-l", dir.Path);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void FiftyCreatorsOfOneNameGetOneWinnerAndFortyNineClearErrors(int run)
    {
        _ = run;
        using var h = new ContainerHost();
        var errors = new List<string>();
        var winners = 0;
        // 50 sessions at once, each with its own manager (issue 6), on a pool wide enough to run them together.
        Parallel.For(0, 50, new ParallelOptions { MaxDegreeOfParallelism = 50 }, _ =>
        {
            using var session = h.NewSession();
            try
            {
                session.Create(new ContainerManager.Request { Name = "race", FilePath = "/bin/true" });
                Interlocked.Increment(ref winners);
            }
            catch (PscException e)
            {
                lock (errors)
                {
                    errors.Add(e.ErrorId);
                }
            }
        });
        Assert.Equal(1, winners);
        Assert.Equal(49, errors.Count);
        Assert.All(errors, e => Assert.Equal("ContainerExists", e));
        Assert.Equal("race", Assert.Single(h.Manager.List()).Name); // one entry, whole, and no hidden leftovers
        Assert.DoesNotContain(Directory.GetFileSystemEntries(h.Manager.Depot.Root), e => Path.GetFileName(e).StartsWith(".new.", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void ASessionListingWhileAnotherCreatesAndRemovesNeverSeesAHalfMadeContainer()
    {
        using var h = new ContainerHost();
        var damaged = new List<string>();
        using var done = new CancellationTokenSource();
        // Two readers in tight loops against one writer: the window of a non-atomic create or delete is microseconds.
        var listers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            using var reader = h.NewSession();
            while (!done.IsCancellationRequested)
            {
                foreach (var c in reader.List((n, e) => { lock (damaged) { damaged.Add($"{n}: {e.ErrorId}"); } }))
                {
                    Assert.NotNull(c.Spec);
                }
            }
        })).ToArray();
        for (int i = 0; i < 300; i++)
        {
            h.Manager.Create(new ContainerManager.Request { Name = $"half{i % 3}", FilePath = "/bin/true" });
            h.Manager.Remove($"half{i % 3}", force: false);
        }
        done.Cancel();
        Task.WaitAll(listers);
        Assert.Empty(damaged);
    }

    [SkippableFact]
    public void AnEntryLeftByASessionKilledWhileCreatingIsNotListedAndIsSweptAway()
    {
        using var h = new ContainerHost();
        // What a creator killed before its rename leaves: a hidden ".new.<name>.<pid>" with a dead pid.
        int dead;
        using (var p = Process.Start("/bin/true")!)
        {
            p.WaitForExit();
            dead = p.Id;
        }
        Directory.CreateDirectory(h.Manager.Depot.Root);
        string stale = Path.Combine(h.Manager.Depot.Root, $".new.ghost.{dead}");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "events.log"), "");
        Assert.Empty(h.Manager.List());
        Assert.Throws<PscException>(() => h.Manager.Get("ghost"));
        h.Manager.Create(new ContainerManager.Request { Name = "next", FilePath = "/bin/true" });
        Assert.False(Directory.Exists(stale));
        Assert.Equal(new[] { "next" }, h.Manager.List().Select(c => c.Name).ToArray());
    }

    [SkippableTheory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("nul\0")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void BadNamesAreRefusedBeforeAnythingIsMade(string name)
    {
        using var h = new ContainerHost();
        var ex = Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/true" }));
        Assert.Equal("InvalidContainerName", ex.ErrorId);
        Assert.Empty(h.Manager.Depot.Names());
        Assert.False(h.Manager.CGroups.Exists(h.Root));
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void ABadLimitLeavesNoDepotEntryAndNoCGroup()
    {
        using var h = new ContainerHost();
        h.Manager.CGroups.Create(h.Root);
        Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request
        {
            Name = "half", FilePath = "/bin/true", Limits = new CGroupLimits { MemoryLimit = 64L << 20, MemorySwapLimit = 1L << 20 },
        }));
        Assert.Empty(h.Manager.Depot.Names());
        Assert.False(h.Manager.CGroups.Exists(h.Root + "/half"));
    }

    private static bool IsAlive(int pid) => ProcStat.Read(pid) is { } s && s.State is not ('Z' or 'X');
}

public class InterruptedStartTests
{
    [SkippableFact]
    public void AStartThatTimesOutLeavesNothingAndIsCreatedAgain()
    {
        using var h = new ContainerHost();
        h.Manager.Create(new ContainerManager.Request { Name = "cut", FilePath = "/bin/sleep", ArgumentList = new[] { "300" } });
        // The init blocks opening its output.log, a FIFO nobody reads: the start cannot finish. On the timeout the
        // engine closes psc-init's stdin, and psc-init kills what it made and gives up.
        string log = h.Manager.Depot.FileOf("cut", "output.log");
        File.Delete(log); // made empty by Create
        using (var mkfifo = Process.Start("mkfifo", log)!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var ex = Assert.Throws<PscException>(() => h.Manager.Start("cut", TimeSpan.FromMilliseconds(300)));
        Assert.Equal("ContainerStartTimeout", ex.ErrorId);
        Assert.Equal(ErrorKind.OperationTimeout, ex.Kind);
        Assert.Equal(ContainerState.Created, h.Manager.Get("cut").State);
        Assert.False(File.Exists(h.Manager.Depot.FileOf("cut", "state.json")));
        Assert.Empty(h.Manager.CGroups.ProcessIds(h.Root + "/cut"));
        File.Delete(log);
        using (var next = h.NewSession())
        {
            Assert.Equal(ContainerState.Running, next.Start("cut").State);
        }
    }
}

public class ContainerRootAndNamespaceTests
{
    [SkippableFact]
    public void RootPathPivotsIntoAPreparedDirectory()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string rootfs = Path.Combine(dir.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "proc"));
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0::/:/prog\nworker:x:1234:1234::/:/prog\n");
        // A static program that lists / and prints its uid: nothing else exists in this root.
        StaticProgram.Build(Path.Combine(rootfs, "prog"), "#include <dirent.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(void){DIR*d=opendir(\"/\");struct dirent*e;" +
            "while((e=readdir(d)))if(e->d_name[0]!='.')printf(\"%s\\n\",e->d_name);printf(\"uid %d\\n\",(int)getuid());return 0;}\n");
        h.Manager.Create(new ContainerManager.Request { Name = "rooted", FilePath = "/prog", RootPath = rootfs, User = "worker" });
        h.Manager.Start("rooted");
        var c = h.Manager.Wait("rooted", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(0, c.ExitCode);
        var lines = h.Stdout("rooted").ToList();
        Assert.Equal("uid 1234", lines[^1]); // resolved from the root's own /etc/passwd
        // The root's own entries, and the mount points every root gets (psc-init/rootfs.c).
        Assert.Equal(new[] { "dev", "etc", "proc", "prog", "sys", "tmp" }, lines.Take(lines.Count - 1).OrderBy(x => x, StringComparer.Ordinal).ToArray());
    }

    [SkippableFact]
    public void AProgramThatIsAnAbsoluteSymlinkInsideTheRootStarts()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string rootfs = Path.Combine(dir.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "proc"));
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        Directory.CreateDirectory(Path.Combine(rootfs, "opt", "real"));
        StaticProgram.Build(Path.Combine(rootfs, "opt", "real", "prog"), "#include <stdio.h>\nint main(void){printf(\"real\\n\");return 0;}\n");
        // /opt/real/prog exists only inside the root: followed on the host, the link leads nowhere.
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "prog"), "/opt/real/prog");
        Assert.False(File.Exists("/opt/real/prog"));
        h.Manager.Create(new ContainerManager.Request { Name = "linked", FilePath = "/bin/prog", RootPath = rootfs });
        Assert.Equal("/bin/prog", h.Manager.Create(new ContainerManager.Request { Name = "searched", FilePath = "prog", RootPath = rootfs }).FilePath);
        foreach (string name in new[] { "linked", "searched" })
        {
            h.Manager.Start(name);
            var c = h.Manager.Wait(name, TimeSpan.FromMinutes(1), CancellationToken.None);
            Assert.Equal(0, c.ExitCode);
            Assert.Equal(new[] { "real" }, h.Stdout(name));
        }
    }

    [SkippableFact]
    public void ACGroupNamespaceShowsTheContainersCGroupAsItsRoot()
    {
        using var h = new ContainerHost();
        h.Run("cgns", "cat /proc/self/cgroup", ContainerIsolation.Default | ContainerIsolation.CGroup);
        h.Manager.Wait("cgns", TimeSpan.FromMinutes(1), CancellationToken.None);
        var lines = h.Stdout("cgns");
        Assert.Contains(lines, l => l == "0::/");
        Assert.DoesNotContain(lines, l => l.Contains(h.Root));
    }

    [SkippableFact]
    public void RootPathThatDoesNotExistAndUnknownUsersAreRefused()
    {
        using var h = new ContainerHost();
        Assert.Equal("RootPathNotFound", Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request { Name = "x", FilePath = "/bin/true", RootPath = "/no/such/root" })).ErrorId);
        Assert.Equal("UserNotFound", Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request { Name = "x", FilePath = "/bin/true", User = "no-such-user-psc" })).ErrorId);
        Assert.Equal("InvalidResourceLimit", Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request
        {
            Name = "x", FilePath = "/bin/true", ResourceLimits = new Dictionary<string, object?> { ["nofile"] = "2:1" },
        })).ErrorId);
        Assert.Empty(h.Manager.Depot.Names());
    }
}
