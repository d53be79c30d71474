using System.Globalization;
using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// Kill with cgroup.kill switched off (a manager made with <see cref="CGroupStopPath.AsV1"/>) on the real host, in the full view
/// (the cgroup2 tree too, unlike <see cref="HostV1PathTests"/>): freeze → SIGKILL each → thaw must leave no process of
/// a tree with double-forked sessions and SIGTERM-ignoring members, and must not touch cgroup.kill.
/// </summary>
[Trait("Layout", "cgroup")]
public sealed class FreezeKillThawPathTests
{
    private const int Plain = 3, IgnoringTerm = 3, DoubleForked = 4;

    // Every member but the first shell is a `sleep 1000`: plain, with SIGTERM ignored (kept across exec), or
    // double-forked into a session of its own (reparented out of the shell's tree at once). The shell ignores
    // SIGTERM too, from after the forks on (children inherit an ignored signal).
    private static readonly string Script =
        "read x; " +
        $"i=0; while [ $i -lt {Plain} ]; do sleep 1000 & i=$((i+1)); done; " +
        $"i=0; while [ $i -lt {IgnoringTerm} ]; do sh -c 'trap \"\" TERM; exec sleep 1000' & i=$((i+1)); done; " +
        $"i=0; while [ $i -lt {DoubleForked} ]; do (setsid sleep 1000 &); i=$((i+1)); done; " +
        "trap '' TERM; echo started; wait";

    [SkippableTheory, MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void KillWithoutCGroupKillFreezesSignalsEachThawsAndLeavesNothing(int run)
    {
        _ = run;
        using var h = new HostCGroups();
        CGroupManager m = h.Manager;
        string path = h.Root + "/fkt";
        m.Create(path, new CGroupLimits { PidsLimit = 100 });

        // The freezer the v1 stop path uses: the v1 freezer where it is mounted (hybrid and v1 hosts), else cgroup.freeze.
        (string File, string Frozen, string Thawed)? freezer =
            h.V1Mount("freezer") is string mount ? (mount + path + "/freezer.state", "FROZEN", "THAWED")
            : m.Unified is CGroupTree u && u.HasFile(path, "cgroup.freeze") ? (u.FullPath(path, "cgroup.freeze"), "1", "0")
            : null;
        Skip.If(freezer is null, "needs a freezer: cgroup.freeze in the cgroup2 tree or the v1 freezer controller");

        var sh = h.Start("/bin/sh", "-c", Script);
        m.MoveProcess(sh.Id, path);
        sh.StandardInput.WriteLine("go");
        sh.StandardInput.Flush();
        Assert.Equal("started", sh.StandardOutput.ReadLine());

        // Wait for the whole tree: the shell and its sleeps, no transient subshell of the double fork left. Generous:
        // in the VM lane (emulated CPUs) on a busy host one `setsid` was still not `sleep` after 10 s.
        int expected = 1 + Plain + IgnoringTerm + DoubleForked;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        IReadOnlyList<int> pids;
        while (true)
        {
            pids = m.SubtreeProcessIds(path);
            if (pids.Count == expected && pids.Count(p => p != sh.Id && Procs.Comm(p) == "sleep") == expected - 1)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the tree did not form: {pids.Count} of {expected} processes ({string.Join(", ", pids.Select(p => $"{p} {Procs.Comm(p)}"))})");
            Thread.Sleep(10);
        }
        // The tree is what it claims to be.
        Assert.Equal(DoubleForked, pids.Count(p => Session(p) == p && ProcStat.Read(p)?.ParentPid != sh.Id));
        Assert.Equal(1 + IgnoringTerm, pids.Count(IgnoresTerm));
        var before = pids.Select(p => (Pid: p, Start: ProcStat.Read(p)!.StartTime)).ToList();

        // A second manager over the same cgroups with the v1 stop path injected; the cleanup (HostCGroups.Dispose) keeps
        // the default one, so it does not depend on the path under test.
        var log = new List<string>();
        using (var v1 = new CGroupManager(m.Hierarchy, h.Root, null, CGroupStopPath.AsV1) { Log = log.Add })
        {
            v1.Kill(path, TimeSpan.FromSeconds(10));
        }

        string all = string.Join("\n", log);
        foreach (var (pid, start) in before)
        {
            Assert.False(Procs.Alive(pid, start), $"process {pid} ({Procs.Comm(pid)}) survived Kill. Log:\n{all}");
        }
        Assert.Empty(m.SubtreeProcessIds(path));
        if (m.Unified is not null)
        {
            Assert.True(m.IsUnpopulated(path), $"cgroup.events of {path} does not say 'populated 0'");
        }

        // How it was done: no cgroup.kill; freeze, then a SIGKILL to each process, then thaw.
        Assert.DoesNotContain(log, l => l.Contains("cgroup.kill", StringComparison.Ordinal));
        var (file, frozen, thawed) = freezer!.Value;
        int freeze = log.IndexOf($"wrote '{frozen}' to {file}");
        Assert.True(freeze >= 0, $"no freeze of {file}. Log:\n{all}");
        foreach (var (pid, _) in before)
        {
            int kill = log.IndexOf($"sent SIGKILL to {pid}");
            Assert.True(kill > freeze, $"process {pid} got no SIGKILL after the freeze. Log:\n{all}");
        }
        int lastKill = log.FindLastIndex(l => l.StartsWith("sent SIGKILL to ", StringComparison.Ordinal));
        Assert.True(log.FindIndex(lastKill, l => l == $"wrote '{thawed}' to {file}") > lastKill, $"no thaw of {file} after the kills. Log:\n{all}");
        Assert.False(m.IsFrozen(path) == true, $"{path} was left frozen");
    }

    /// <summary>The session id: the 4th field after the command in /proc/&lt;pid&gt;/stat (state, ppid, pgrp, session).</summary>
    private static int Session(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(f[3], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>SIGTERM (15) in the ignored mask of /proc/&lt;pid&gt;/status.</summary>
    private static bool IgnoresTerm(int pid)
    {
        try
        {
            string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return (ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << 14)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
