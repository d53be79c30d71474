using System.Diagnostics;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>Stop-Container (SIGTERM, grace, SIGKILL to the whole cgroup) and Wait-Container (a read: it writes nothing).</summary>
internal static class ContainerStop
{
    /// <summary>
    /// Stops a running container: SIGTERM to the main process, up to <paramref name="timeout"/> for it to end, then
    /// SIGKILL to every process in the cgroup until it is empty. <paramref name="force"/> skips the SIGTERM.
    /// </summary>
    public static Container Stop(ContainerManager m, string name, TimeSpan timeout, bool force, Action<string, double>? progress = null, CancellationToken cancel = default)
    {
        ContainerSpec spec = StateReader.ReadSpec(m, name);
        Container c = StateReader.Describe(m, name, spec, out var read, out var exitRecord);
        if (c.State is ContainerState.Created || read is null)
        {
            return c;
        }
        var state = read;
        string path = spec.CGroupPath;
        if (c.State is ContainerState.Exited && exitRecord is not null
            && (path.Length == 0 || !m.CGroups.Exists(path) || m.CGroups.SubtreeProcessIds(path).Count == 0))
        {
            return c; // ended and recorded, nothing left in its cgroup: nothing to stop, nothing to write
        }
        bool ended = false;
        if (c.State is ContainerState.Running or ContainerState.Paused)
        {
            using PidHandle? init = PidHandle.Open(state.InitPid, state.InitStartTicks);
            using PidHandle? main = PidHandle.Open(state.MainPid, state.MainStartTicks);
            if (c.State == ContainerState.Paused)
            {
                ContainerManager.TryQuietly(() => m.CGroups.Thaw(path)); // a frozen process cannot act on SIGTERM
            }
            if (!force && main is not null && main.Signal(Sys.SIGTERM))
            {
                m.Log?.Invoke($"sent SIGTERM to {state.MainPid} (main process of '{name}')");
                var sw = Stopwatch.StartNew();
                while (!ended && sw.Elapsed < timeout)
                {
                    cancel.ThrowIfCancellationRequested(); // Ctrl+C during the grace period: leave it running
                    progress?.Invoke($"Waiting for '{name}' to exit after SIGTERM", sw.Elapsed.TotalSeconds / Math.Max(timeout.TotalSeconds, 0.001));
                    ended = init is null || init.WaitExit(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, (timeout - sw.Elapsed).TotalMilliseconds))));
                }
            }
            if (!ended)
            {
                // After a grace period: SIGKILL the main process first, so init records how it ended, then
                // everything in the cgroup. -Force goes straight to the cgroup (the exit record then says SIGKILL).
                if (!force && main is not null && main.Signal(Sys.SIGKILL))
                {
                    m.Log?.Invoke($"sent SIGKILL to {state.MainPid} (main process of '{name}')");
                    init?.WaitExit(TimeSpan.FromMilliseconds(500));
                }
                if (path.Length == 0 && init is not null && !init.WaitExit(TimeSpan.Zero) && init.Signal(Sys.SIGKILL))
                {
                    // No cgroup to empty: init's death ends its PID namespace (or it already killed its tree).
                    m.Log?.Invoke($"sent SIGKILL to {state.InitPid} (init of '{name}')");
                    init.WaitExit(TimeSpan.FromSeconds(2));
                }
            }
        }
        progress?.Invoke($"Killing every process in {path}", 1);
        // The usual SIGTERM stop: init has recorded the exit and ended, and with it its PID namespace; when the cgroup2
        // tree (which sees every process, on a hybrid host too) says nothing is left, there is nothing to kill, and the
        // cgroup.kill, the wait and the listing of 8 hierarchies' processes and children (~40 syscalls) are skipped.
        if (path.Length > 0 && !(ended && m.CGroups.IsUnpopulated(path)) && m.CGroups.Exists(path))
        {
            m.CGroups.Kill(path, TimeSpan.FromSeconds(10), cancel);
        }
        // What runs outside the cgroup's reach (a container without a cgroup or PID namespace) ends too, and each
        // tracker records its process's exit before the container's is final.
        ProcessTracker.EndAll(m, name, TimeSpan.FromSeconds(3));
        if (m.Depot.ReadKeyValues(name, "exit") is null)
        {
            // init died with the rest before it could write: the record says what we did to it.
            long ns = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            m.Depot.WriteAtomic(name, "exit", $"exit_code=\nsignal={Sys.SIGKILL}\nexit_time_ns={ns}\n");
        }
        // The cgroup is empty now, so its OOM counter is final; psc-init may have died with the rest before logging.
        using (m.Depot.LockContainer(name))
        {
            ContainerEvents.RecordOomKillsLocked(m, name, path);
        }
        m.Depot.AppendEvent(name, "stopped", force ? "force=1" : null);
        return StateReader.Describe(m, name, spec);
    }

    /// <summary>Waits until the container's main process has ended; returns it with ExitCode and Signal.</summary>
    public static Container Wait(ContainerManager m, string name, TimeSpan? timeout, CancellationToken cancel)
    {
        Container c = StateReader.Get(m, name);
        if (c.State == ContainerState.Created)
        {
            throw new PscException("ContainerNotStarted", ErrorKind.InvalidOperation, $"Container '{name}' has not been started.", name);
        }
        var state = m.Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        var sw = Stopwatch.StartNew();
        using PidHandle? init = state is null ? null : PidHandle.Open(state.InitPid, state.InitStartTicks);
        while (c.State is ContainerState.Running or ContainerState.Paused)
        {
            cancel.ThrowIfCancellationRequested();
            if (timeout is TimeSpan t && sw.Elapsed >= t)
            {
                throw new PscException("WaitTimeout", ErrorKind.OperationTimeout, $"Container '{name}' was still running after {t.TotalSeconds:0.#} s.", name);
            }
            if (init is not null)
            {
                init.WaitExit(TimeSpan.FromMilliseconds(100));
            }
            else
            {
                Thread.Sleep(50);
            }
            c = StateReader.Get(m, name);
        }
        return c;
    }
}
