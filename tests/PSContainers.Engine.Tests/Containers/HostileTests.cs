using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>
/// Hostile workloads, each run five times (issue 6): nothing of a container survives its stop, however it forks, and
/// a setuid binary gives nothing back under no_new_privs.
/// </summary>
public class HostileTests
{
    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    public void AWorkloadForkingWhileItIsStoppedLeavesNothing(int run, bool force)
    {
        using var h = new ContainerHost();
        // A fork every few milliseconds, so the loop is still forking when Stop comes: unthrottled, it could reach
        // pids.max between two samples, and a refused fork ends sh (and with it the container) before the test saw 100.
        var c = h.Run("forker", "trap '' TERM; while :; do sleep 100 & sleep 0.005; done", limits: new CGroupLimits { PidsLimit = 400 });
        var seen = WaitForProcesses(h, c.CGroupPath, 100);
        var sw = Stopwatch.StartNew();
        var stopped = h.Manager.Stop("forker", TimeSpan.FromSeconds(1), force);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(force ? 1 : 2), $"run {run}: stop took {sw.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal(ContainerState.Exited, stopped.State);
        Assert.Empty(h.Manager.CGroups.SubtreeProcessIds(c.CGroupPath));
        Assert.All(seen, p => Assert.False(Procs.Alive(p.Pid, p.Start), $"run {run}: process {p.Pid} survived"));
    }

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    public void AFiveHundredProcessTreeEndsWithinTheTimeoutPlusOneSecond(int run, bool force)
    {
        using var h = new ContainerHost();
        // Half double-forked into their own sessions, a quarter ignoring SIGTERM, a quarter plain.
        string script = "i=0; while [ $i -lt 125 ]; do sleep 300 & i=$((i+1)); done; " +
            "i=0; while [ $i -lt 125 ]; do sh -c 'trap \"\" TERM; exec sleep 300' & i=$((i+1)); done; " +
            "i=0; while [ $i -lt 250 ]; do (setsid sleep 300 &); i=$((i+1)); done; trap '' TERM; exec sleep 300";
        var c = h.Run("tree", script, limits: new CGroupLimits { PidsLimit = 700 });
        var seen = WaitForProcesses(h, c.CGroupPath, 502, settled: true);
        var timeout = TimeSpan.FromSeconds(1);
        var sw = Stopwatch.StartNew();
        h.Manager.Stop("tree", timeout, force);
        var bound = force ? TimeSpan.FromSeconds(1) : timeout + TimeSpan.FromSeconds(1);
        Assert.True(sw.Elapsed < bound, $"run {run}: stop of {seen.Count} processes took {sw.Elapsed.TotalSeconds:0.00} s (bound {bound.TotalSeconds} s)");
        Assert.Empty(h.Manager.CGroups.SubtreeProcessIds(c.CGroupPath));
        Assert.All(seen, p => Assert.False(Procs.Alive(p.Pid, p.Start), $"run {run}: process {p.Pid} survived"));
    }

    [SkippableFact]
    public void ASetuidRootBinaryGivesNoRootToAContainerUserUnderNoNewPrivs()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ed); // 0755: the container's user must reach the program
        string binary = StaticProgram.Build(Path.Combine(dir.Path, "euid"),
            "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"uid %d euid %d\\n\",(int)getuid(),(int)geteuid());return 0;}\n");
        File.SetUnixFileMode(binary, (UnixFileMode)0x9ed); // 04755, owned by root: setuid root
        // Outside a container the bit works, so the test could tell the difference.
        using (var direct = Process.Start(new ProcessStartInfo("/usr/bin/setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", binary }) { RedirectStandardOutput = true })!)
        {
            Assert.Equal("uid 65534 euid 0", direct.StandardOutput.ReadToEnd().Trim());
            direct.WaitForExit();
        }
        h.Manager.Create(new ContainerManager.Request { Name = "suid", FilePath = binary, User = "65534" });
        h.Manager.Start("suid");
        var c = h.Manager.Wait("suid", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(0, c.ExitCode);
        Assert.Equal("uid 65534 euid 65534", h.Stdout("suid").Single());
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void AWorkloadCannotKillItsInitAndClosingItsOutputLosesNothing(int run)
    {
        using var h = new ContainerHost();
        // In its PID namespace, the init is pid 1: a SIGKILL from inside is dropped by the kernel. (A SIGTERM to it
        // is forwarded to the main process, as a user's `kill 1` in a container expects.)
        var c = h.Run("rebel", "exec 1>&- 2>&-; kill -KILL 1; sleep 300");
        int init = c.InitPid!.Value;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromMilliseconds(500))
        {
            Assert.Equal(ContainerState.Running, h.Manager.Get("rebel").State);
            Thread.Sleep(50);
        }
        Assert.Equal(init, h.Manager.Get("rebel").InitPid);
        var stopped = h.Manager.Stop("rebel", TimeSpan.FromSeconds(5), force: false);
        Assert.True(stopped.State == ContainerState.Exited, $"run {run}: {stopped.State}");
        Assert.Equal(15, stopped.Signal); // the main process ended by Stop's SIGTERM, recorded by the init it tried to kill
        Assert.Empty(h.Manager.CGroups.SubtreeProcessIds(c.CGroupPath));
    }

    /// <summary>Waits until the cgroup holds at least <paramref name="count"/> processes; returns them with start times.</summary>
    private static List<(int Pid, ulong Start)> WaitForProcesses(ContainerHost h, string path, int count, bool settled = false)
    {
        var sw = Stopwatch.StartNew();
        IReadOnlyList<int> pids;
        while ((pids = h.Manager.CGroups.SubtreeProcessIds(path)).Count < count || (settled && pids.Any(p => Procs.Comm(p) == "sh")))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"only {pids.Count} of {count} processes after 60 s");
            Thread.Sleep(20);
        }
        return pids.Select(p => (p, ProcStat.Read(p)?.StartTime ?? 0)).Where(x => x.Item2 != 0).ToList();
    }
}
