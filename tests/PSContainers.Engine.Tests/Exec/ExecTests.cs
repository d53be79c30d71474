using System.Diagnostics;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Exec;

/// <summary>
/// ContainerExec (psc-init --exec) against the real kernel: the process it starts is inside the container's
/// namespaces, cgroups and root, its output and exit come back exactly, and nothing of it survives a cancellation.
/// Every container runs under a ContainerHost, which removes containers, cgroups and processes even when a test fails.
/// </summary>
public class ExecTests
{
    private static readonly string[] None = Array.Empty<string>();

    /// <summary>What one exec printed and returned.</summary>
    private sealed record Result(int ExitCode, List<string> Out, List<string> Err);

    private static Result Exec(ContainerHost h, string name, string file, string[]? args = null, IDictionary<string, string>? env = null,
        string? cwd = null, string? user = null)
    {
        var o = new List<string>();
        var e = new List<string>();
        int code = ContainerExec.Run(h.Manager, name, file, args ?? None, env, cwd, user, o.Add, e.Add, CancellationToken.None);
        return new Result(code, o, e);
    }

    private static Result Sh(ContainerHost h, string name, string script) => Exec(h, name, "/bin/sh", new[] { "-c", script });

    [SkippableFact]
    public void AContainerWhoseCGroupWasKilledBeforeItStartedTakesExecs()
    {
        // A start that fails kills the container's cgroup (cgroup.kill where the kernel has it) and leaves it
        // Created; some kernels then SIGKILL at birth every child cloned into that cgroup, so psc-init clones into
        // it only where a probe child lives (cgroups.c). Killed here by hand, as that failed start would.
        using var h = new ContainerHost();
        var c = h.Manager.Create(new ContainerManager.Request { Name = "killed", FilePath = "/bin/sleep", ArgumentList = new[] { "300" } });
        string? kill = h.Manager.CGroups.WritableTrees.Where(t => t.Exists(c.CGroupPath)).Select(t => Path.Combine(t.FullPath(c.CGroupPath), "cgroup.kill")).FirstOrDefault(File.Exists);
        Skip.If(kill is null, "no v2 cgroup with cgroup.kill (kernel before 5.14, or no v2 hierarchy)");
        File.WriteAllText(kill!, "1");
        Assert.Equal(ContainerState.Running, h.Manager.Start("killed").State);
        var r = Sh(h, "killed", "echo ran");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { "ran" }, r.Out);
        var tracked = h.Manager.StartProcess(new ContainerExecRequest { Name = "killed", FilePath = "/bin/true" });
        Assert.Equal(0, h.Manager.WaitProcess("killed", tracked.Id, TimeSpan.FromSeconds(30), CancellationToken.None).ExitCode);
    }

    [SkippableFact]
    public void HostnameIsTheContainers()
    {
        using var h = new ContainerHost();
        h.Run("hn", "exec sleep 300");
        var r = Exec(h, "hn", "hostname");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { "hn" }, r.Out);
        Assert.Empty(r.Err);
    }

    [SkippableFact]
    public void PidOneIsTheContainersInitAndOnlyItsProcessesAreVisible()
    {
        using var h = new ContainerHost();
        h.Run("pid1", "exec sleep 300");
        var r = Sh(h, "pid1", "cat /proc/1/cmdline; echo; echo $$; ls /proc | grep -E '^[0-9]+$'");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("psc-init", r.Out[0]);
        int self = int.Parse(r.Out[1]);
        Assert.InRange(self, 3, 10); // init is 1, the container's sleep 2
        int[] pids = r.Out.Skip(2).Select(int.Parse).ToArray();
        Assert.Contains(1, pids);
        Assert.Contains(2, pids);
        Assert.Contains(self, pids);
        Assert.All(pids, p => Assert.InRange(p, 1, 12)); // init, sleep, sh, ls, grep; the host has hundreds
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void TheProcessIsInTheContainersCGroups()
    {
        using var h = new ContainerHost();
        var c = h.Run("cg", "exec sleep 300");
        var r = Sh(h, "cg", "cat /proc/self/cgroup");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(r.Out, l => l.EndsWith(":" + c.CGroupPath, StringComparison.Ordinal));
        // Exactly where the container's own main process is, in every hierarchy.
        Assert.Equal(File.ReadAllLines($"/proc/{c.Pid}/cgroup"), r.Out);
    }

    [SkippableFact]
    public void EveryNamespaceIsTheContainersIncludingUserAndNetwork()
    {
        using var h = new ContainerHost();
        var all = ContainerIsolation.Default | ContainerIsolation.User | ContainerIsolation.Network | ContainerIsolation.CGroup;
        var c = h.Run("allns", "exec sleep 300", all);
        string[] kinds = { "user", "mnt", "uts", "ipc", "net", "pid", "cgroup" };
        var r = Sh(h, "allns", string.Join("; ", kinds.Select(k => $"readlink /proc/self/ns/{k}")) + "; cat /proc/self/uid_map");
        Assert.Equal(0, r.ExitCode);
        for (int i = 0; i < kinds.Length; i++)
        {
            string container = new FileInfo($"/proc/{c.Pid}/ns/{kinds[i]}").LinkTarget!;
            Assert.Equal(container, r.Out[i]);
            Assert.NotEqual(new FileInfo($"/proc/self/ns/{kinds[i]}").LinkTarget, r.Out[i]);
        }
        Assert.Equal("0 0 4294967295", string.Join(' ', r.Out[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    [SkippableTheory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 255", 255)]
    [InlineData("kill -KILL $$", 137)]
    [InlineData("kill -TERM $$", 143)]
    public void TheExitCodeComesBackExactly(string script, int code)
    {
        using var h = new ContainerHost();
        h.Run("code", "exec sleep 300");
        Assert.Equal(code, Sh(h, "code", script).ExitCode);
        Assert.Equal(ContainerState.Running, h.Manager.Get("code").State); // the container is not affected
    }

    [SkippableFact]
    public void StderrIsSeparatedFromStdoutAndAPartialLastLineArrives()
    {
        using var h = new ContainerHost();
        h.Run("streams", "exec sleep 300");
        var r = Sh(h, "streams", "echo out1; echo err1 >&2; echo; echo out2; printf 'no newline'; printf 'tail' >&2; exit 4");
        Assert.Equal(4, r.ExitCode);
        Assert.Equal(new[] { "out1", "", "out2", "no newline" }, r.Out);
        Assert.Equal(new[] { "err1", "tail" }, r.Err);
    }

    [SkippableFact]
    public void LargeAndNonAsciiOutputArrivesWholeAndInOrder()
    {
        using var h = new ContainerHost();
        h.Run("big", "exec sleep 300");
        var r = Sh(h, "big", "seq 1 50000; printf 'gr\\303\\274\\303\\237e \\342\\202\\254\\n'; seq 1 1000 >&2");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(50001, r.Out.Count);
        Assert.Equal(Enumerable.Range(1, 50000).Select(i => i.ToString()), r.Out.Take(50000));
        Assert.Equal("grüße €", r.Out[^1]);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => i.ToString()), r.Err);
    }

    [SkippableFact]
    public void EnvironmentWorkingDirectoryAndUserApply()
    {
        using var h = new ContainerHost();
        h.Manager.Create(new ContainerManager.Request
        {
            Name = "given", FilePath = "/bin/sleep", ArgumentList = new[] { "300" }, Environment = new Dictionary<string, string> { ["FROM_SPEC"] = "spec", ["OVER"] = "spec" },
        });
        h.Manager.Start("given");
        string script = "id -u; id -g; pwd; echo \"$FROM_SPEC $OVER $ADDED\"; echo \"$PATH\"";
        var r = Exec(h, "given", "/bin/sh", new[] { "-c", script }, new Dictionary<string, string> { ["OVER"] = "mine", ["ADDED"] = "new value" }, "/tmp", "65534:65534");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { "65534", "65534", "/tmp", "spec mine new value", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, r.Out);
        // The defaults: the container's user (root here), working directory and environment.
        var d = Sh(h, "given", "id -u; pwd; echo \"$FROM_SPEC $OVER\"");
        Assert.Equal(new[] { "0", "/", "spec spec" }, d.Out);
        // A user by name, from the container's own /etc/passwd.
        Assert.Equal(new[] { "nobody" }, Exec(h, "given", "id", new[] { "-un" }, user: "nobody").Out);
    }

    [SkippableFact]
    public void TheContainersUserIsTheDefaultAndRLimitsApply()
    {
        using var h = new ContainerHost();
        h.Manager.Create(new ContainerManager.Request
        {
            Name = "asuser", FilePath = "/bin/sleep", ArgumentList = new[] { "300" }, User = "65534:65534",
            ResourceLimits = new Dictionary<string, object?> { ["nofile"] = 321 },
        });
        h.Manager.Start("asuser");
        Assert.Equal(new[] { "65534", "321" }, Sh(h, "asuser", "id -u; ulimit -n").Out);
        Assert.Equal(new[] { "0" }, Exec(h, "asuser", "id", new[] { "-u" }, user: "0").Out);
    }

    [SkippableFact]
    public void RootPathContainersAreEnteredAtTheirRootWithSymlinksResolvedInside()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string rootfs = Path.Combine(dir.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "proc"));
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0::/:/prog\nworker:x:1234:1234::/:/prog\n");
        // A static program: with an argument it waits (the container's main process), else lists / and prints its ids.
        StaticProgram.Build(Path.Combine(rootfs, "prog"), "#include <dirent.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(int c,char**v){if(c>1){pause();return 0;}" +
            "DIR*d=opendir(\"/\");struct dirent*e;while((e=readdir(d)))if(e->d_name[0]!='.')printf(\"%s\\n\",e->d_name);" +
            "printf(\"uid %d pid %d\\n\",(int)getuid(),(int)getpid());return 0;}\n");
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "link"), "/prog"); // absolute: means the container's /prog
        h.Manager.Create(new ContainerManager.Request { Name = "rooted", FilePath = "/prog", ArgumentList = new[] { "wait" }, RootPath = rootfs });
        h.Manager.Start("rooted");
        var r = Exec(h, "rooted", "/bin/link", user: "worker");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("uid 1234 pid ", r.Out[^1]);
        Assert.Equal(new[] { "bin", "dev", "etc", "proc", "prog", "sys", "tmp" }, r.Out.Take(r.Out.Count - 1).OrderBy(x => x, StringComparer.Ordinal).ToArray());
        Assert.Equal("ProgramNotFound", Assert.Throws<PscException>(() => Exec(h, "rooted", "/bin/sh")).ErrorId); // the host's sh is not there
    }

    [SkippableFact]
    public void AStoppedOrNeverStartedContainerIsNotRunning()
    {
        using var h = new ContainerHost();
        h.Run("done", "exit 0");
        h.Manager.Wait("done", TimeSpan.FromMinutes(1), CancellationToken.None);
        var ex = Assert.Throws<PscException>(() => Exec(h, "done", "/bin/true"));
        Assert.Equal("ContainerNotRunning", ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidOperation, ex.Kind);
        h.Manager.Create(new ContainerManager.Request { Name = "fresh", FilePath = "/bin/true" });
        Assert.Equal("ContainerNotRunning", Assert.Throws<PscException>(() => Exec(h, "fresh", "/bin/true")).ErrorId);
        Assert.Equal("ContainerNotFound", Assert.Throws<PscException>(() => Exec(h, "ghost", "/bin/true")).ErrorId);
    }

    [SkippableFact]
    public void BadProgramsDirectoriesAndUsersAreRefusedBeforeAnythingRuns()
    {
        using var h = new ContainerHost();
        var c = h.Run("bad", "exec sleep 300");
        var missing = Assert.Throws<PscException>(() => Exec(h, "bad", "/no/such/program"));
        Assert.Equal("ProgramNotFound", missing.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, missing.Kind);
        Assert.Contains("/no/such/program", missing.Message);
        Assert.Equal("ProgramNotFound", Assert.Throws<PscException>(() => Exec(h, "bad", "no-such-program-psc")).ErrorId);
        Assert.Equal("ProgramNotExecutable", Assert.Throws<PscException>(() => Exec(h, "bad", "/etc/passwd")).ErrorId);
        Assert.Equal("WorkingDirectoryNotFound", Assert.Throws<PscException>(() => Exec(h, "bad", "/bin/true", cwd: "/no/such/dir")).ErrorId);
        Assert.Equal("UserNotFound", Assert.Throws<PscException>(() => Exec(h, "bad", "/bin/true", user: "no-such-user-psc")).ErrorId);
        Assert.Equal("InvalidEnvironment", Assert.Throws<PscException>(() => Exec(h, "bad", "/bin/true", env: new Dictionary<string, string> { ["A=B"] = "x" })).ErrorId);
        Assert.Equal(2, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count); // init and sleep, nothing else was started
    }

    [SkippableFact]
    public void AFailedExecIsContainerExecWithTheErrno()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        var c = h.Run("noexec", "exec sleep 300");
        // Exists and is executable, but its interpreter does not: execve itself fails with ENOENT.
        string script = Path.Combine(dir.Path, "prog");
        File.WriteAllText(script, "#!/no/such/interpreter\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var ex = Assert.Throws<PscException>(() => Exec(h, "noexec", script));
        Assert.Equal("ContainerExec,ENOENT", ex.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(2, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count);
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void TheContainersPidsLimitCountsTheProgram()
    {
        using var h = new ContainerHost();
        // Room for init and sleep only. The program is refused whichever way it joins: born in a v2 cgroup at its
        // limit, or forked by a helper that joined first (a migration is not limited, a fork is).
        var c = h.Run("full", "exec sleep 300", limits: new PSContainers.CGroups.CGroupLimits { PidsLimit = 2 });
        var ex = Assert.Throws<PscException>(() => Exec(h, "full", "/bin/true"));
        Assert.Equal("ContainerExecSetup,EAGAIN", ex.ErrorId);
        Assert.Equal(2, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count); // a helper that joined is gone again
    }

    [SkippableFact]
    public void CancellationKillsTheProcessAndEverythingItStarted()
    {
        using var h = new ContainerHost();
        var c = h.Run("cancel", "exec sleep 300");
        var before = h.Manager.CGroups.ProcessIds(c.CGroupPath).ToHashSet();
        using var cts = new CancellationTokenSource();
        var started = new ManualResetEventSlim();
        var exec = ContainerExec.Prepare(h.Manager, new ContainerExecRequest
        {
            Name = "cancel", FilePath = "/bin/sh", ArgumentList = new[] { "-c", "trap '' TERM INT HUP; sleep 301 & (sleep 302 & wait) & echo started; wait" },
        });
        var task = Task.Run(() => exec.Run(l => { if (l == "started") { started.Set(); } }, _ => { }, cts.Token));
        Assert.True(started.Wait(TimeSpan.FromSeconds(20)), "the program did not start");
        int pid = exec.Pid!.Value;
        List<int> During() => h.Manager.CGroups.ProcessIds(c.CGroupPath).Except(before).ToList();
        var wait = Stopwatch.StartNew();
        while (During().Count < 4 && wait.Elapsed.TotalSeconds < 10)
        {
            Thread.Sleep(20);
        }
        var during = During();
        Assert.True(during.Count >= 4, $"{during.Count} processes of the exec"); // sh, sh (subshell), two sleeps
        Assert.Contains(pid, during);
        var sw = Stopwatch.StartNew();
        cts.Cancel();
        var ex = Assert.ThrowsAny<AggregateException>(() => task.Wait(TimeSpan.FromSeconds(20)));
        Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerException);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0, 5);
        // Nothing of it is left: not in the cgroup, not anywhere in /proc.
        Assert.Equal(before.OrderBy(p => p), h.Manager.CGroups.ProcessIds(c.CGroupPath).OrderBy(p => p));
        Assert.All(during, p => Assert.False(ProcStat.Read(p) is { State: not ('Z' or 'X') }, $"process {p} survived"));
        Assert.Equal(ContainerState.Running, h.Manager.Get("cancel").State);
    }

    [SkippableFact]
    public void BackgroundProcessesThatKeepTheOutputOpenDoNotHoldTheResult()
    {
        using var h = new ContainerHost();
        var c = h.Run("bg", "exec sleep 300");
        var sw = Stopwatch.StartNew();
        var r = Sh(h, "bg", "sleep 303 & echo done");
        Assert.InRange(sw.Elapsed.TotalSeconds, 0, 10);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { "done" }, r.Out);
        // Like docker exec: the orphan lives on inside the container (its init reaps it) until the container stops.
        Assert.Equal(3, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count);
        h.Manager.Stop("bg", TimeSpan.Zero, force: true);
        Assert.Empty(h.Manager.CGroups.ProcessIds(c.CGroupPath));
    }

    [SkippableFact]
    public void ConcurrentExecsDoNotMixTheirOutput()
    {
        using var h = new ContainerHost();
        h.Run("many", "exec sleep 300");
        var results = new Result[6];
        Parallel.For(0, results.Length, i => results[i] = Sh(h, "many", $"for n in $(seq 1 200); do echo {i}-$n; echo e{i}-$n >&2; done; exit {i}"));
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i, results[i].ExitCode);
            Assert.Equal(Enumerable.Range(1, 200).Select(n => $"{i}-{n}"), results[i].Out);
            Assert.Equal(Enumerable.Range(1, 200).Select(n => $"e{i}-{n}"), results[i].Err);
        }
    }

    [SkippableFact]
    public void PathsInsideTheRootNeverLeaveIt()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "r");
        Directory.CreateDirectory(Path.Combine(root, "usr", "bin"));
        File.WriteAllText(Path.Combine(root, "usr", "bin", "tool"), "");
        File.CreateSymbolicLink(Path.Combine(root, "bin"), "usr/bin");
        File.CreateSymbolicLink(Path.Combine(root, "abs"), "/usr/bin/tool");
        File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../../usr/bin/tool");
        File.CreateSymbolicLink(Path.Combine(root, "loop"), "/loop");
        Assert.Equal(root + "/usr/bin/tool", SpecValidator.InRoot(root, "/bin/tool"));
        Assert.Equal(root + "/usr/bin/tool", SpecValidator.InRoot(root, "/abs"));
        Assert.Equal(root + "/usr/bin/tool", SpecValidator.InRoot(root, "/up"));
        Assert.Equal(root + "/usr/bin/tool", SpecValidator.InRoot(root, "/../../usr/./bin/tool"));
        Assert.Null(SpecValidator.InRoot(root, "/loop"));
    }
}
