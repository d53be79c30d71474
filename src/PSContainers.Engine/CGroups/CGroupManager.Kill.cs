using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>Freezing, thawing and killing: the kernel's kill where there is one, else freeze → SIGKILL each → thaw.</summary>
public sealed partial class CGroupManager
{
    /// <summary>Freezes the cgroup and waits until the kernel reports it frozen.</summary>
    public void Freeze(string path, TimeSpan? timeout = null) => SetFrozen(path, true, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>Thaws the cgroup and waits until the kernel reports it thawed.</summary>
    public void Thaw(string path, TimeSpan? timeout = null) => SetFrozen(path, false, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>The first freezer that can freeze the cgroup (cgroup.freeze first, unless the v1 stop path was asked for).</summary>
    private IFreezer? FreezerOf(string path)
    {
        foreach (IFreezer f in _w.Freezers)
        {
            if (f.CanFreeze(path))
            {
                return f;
            }
        }
        return null;
    }

    private void SetFrozen(string path, bool frozen, TimeSpan timeout)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, frozen ? "freeze" : "thaw");
        RequireExists(path);
        IFreezer freezer = FreezerOf(path) ?? throw new PscException("FreezerUnavailable", ErrorKind.NotImplemented,
            $"Cannot {(frozen ? "freeze" : "thaw")} '{path}': neither cgroup.freeze (v2) nor the v1 freezer controller is available.", path);
        freezer.SetFrozen(path, frozen, timeout, Log);
    }

    /// <summary>
    /// Kills every process in the cgroup and its descendants and waits until they are gone: cgroup.kill where
    /// the kernel has it, else freeze → SIGKILL each → thaw, repeated until empty.
    /// </summary>
    public void Kill(string path, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, "kill the processes of");
        RequireExists(path);
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var sw = Stopwatch.StartNew();
        // After the kernel's kill the kernel says when the last one is gone: its notice is waited for, not polled.
        bool killedByKernel = _w.KernelKill?.KillAll(path, TimeSpan.FromMilliseconds(Math.Min(limit.TotalMilliseconds, 2000)), cancel, Log) == true;
        int delay = 1;
        // Every pid sent a SIGKILL by this call, and when the last full round was: a killed process may take a while to
        // exit (1000 of them ~0.6 s here), and freezing, signalling and thawing them all again each time the list is
        // not yet empty only slowed them down (4-5 rounds per stop of 1000). A new round runs when the list has a pid
        // not yet signalled, or 200 ms after the last (a pid reused meanwhile, a process stuck in the kernel).
        var signalled = new HashSet<int>();
        long lastRound = 0; // the first pass always runs a round: nothing is signalled yet
        while (true)
        {
            var pids = SubtreeProcessIds(path);
            if (pids.Count == 0)
            {
                return;
            }
            if (sw.Elapsed > limit)
            {
                throw new PscException("CGroupKillTimeout", ErrorKind.OperationTimeout,
                    $"Processes {string.Join(", ", pids.Take(10))} in '{path}' were still alive after {limit.TotalSeconds:0.#} s of SIGKILL.", path);
            }
            // After the kernel's kill the kernel is at work: signal ourselves only if some survive it for a while.
            bool due = !pids.All(signalled.Contains) || sw.ElapsedMilliseconds - lastRound > 200;
            if ((!killedByKernel || sw.ElapsedMilliseconds > 20 || delay > 8) && due)
            {
                ThawDescendants(path);
                signalled.UnionWith(KillEach(path));
                lastRound = sw.ElapsedMilliseconds;
            }
            Pause(delay, cancel);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>
    /// A workload may have made and frozen sub-cgroups of its own: a SIGKILL to a frozen task waits for a thaw, so
    /// every frozen descendant is thawed (by every freezer: v2 cgroup.freeze, v1 freezer.state) before the next round of kills.
    /// </summary>
    private void ThawDescendants(string path)
    {
        foreach (string d in Descendants(path))
        {
            foreach (IFreezer f in _w.Freezers)
            {
                f.ThawIfFrozen(d, Log);
            }
        }
    }

    /// <summary>
    /// Freeze (so nothing forks meanwhile) → SIGKILL every pid in the subtree → thaw (so the kills land). Returns the
    /// pids signalled.
    /// </summary>
    private IReadOnlyList<int> KillEach(string path)
    {
        IFreezer? freezer = FreezerOf(path);
        if (freezer is not null)
        {
            try
            {
                freezer.SetFrozen(path, true, TimeSpan.FromSeconds(1), Log);
            }
            catch (PscException)
            {
                // A process stuck in uninterruptible sleep can keep v1 FREEZING; kill anyway.
            }
        }
        var pids = SubtreeProcessIds(path);
        foreach (int pid in pids)
        {
            if (Sys.Kill(pid, Sys.SIGKILL) == 0)
            {
                Log?.Invoke($"sent SIGKILL to {pid}");
            }
        }
        if (freezer is not null)
        {
            try
            {
                freezer.SetFrozen(path, false, TimeSpan.FromSeconds(1), Log);
            }
            catch (PscException)
            {
            }
        }
        return pids;
    }

    /// <summary>Waits between two tries; a cancelled wait (Ctrl+C on the cmdlet) ends the whole operation at once.</summary>
    private static void Pause(int milliseconds, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(milliseconds))
        {
            throw new OperationCanceledException(cancel);
        }
    }
}
