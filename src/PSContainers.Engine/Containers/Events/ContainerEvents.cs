using System.Globalization;

namespace PSContainers.Containers;

/// <summary>
/// A container's event log (events.log: created, started, exited, stopped, oom-killed, paused, resumed…, appended by
/// the engine and by psc-init), the OOM kills recorded in it, and its processes' output followed as it grows.
/// </summary>
internal static class ContainerEvents
{
    /// <summary>The container's event log: created, started, exited, stopped, oom-killed, paused, resumed…</summary>
    public static IEnumerable<ContainerEvent> Events(ContainerManager m, string name)
    {
        string file = m.Depot.FileOf(name, "events.log");
        if (!File.Exists(file))
        {
            yield break;
        }
        foreach (string line in File.ReadAllLines(file))
        {
            string[] f = line.Split(' ', 3);
            if (f.Length >= 2 && long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns))
            {
                yield return new ContainerEvent(name, DateTime.UnixEpoch.AddTicks(ns / 100), f[1], f.Length > 2 ? f[2] : null);
            }
        }
    }

    /// <summary>What <see cref="ContainerManager.FollowProcess"/> does: replay (tailed), then stream until the process ends.</summary>
    public static bool FollowProcess(ContainerManager m, string name, string id, LogStream stream, int? tail, Action<LogStream, string> onLine, CancellationToken cancel) =>
        Pump(m.ProcessOutput(name, id), () => ProcessTracker.Running(m, name, id), stream, tail, onLine, cancel);

    /// <summary>
    /// Passes the container's stdout and stderr lines to <paramref name="onLine"/> as they are written, until the
    /// container has exited (a sandbox: until it is stopped; returns the container, exit code filled in) or
    /// <paramref name="cancel"/> is set (returns null).
    /// </summary>
    public static Container? Follow(ContainerManager m, string name, Action<LogStream, string> onLine, CancellationToken cancel)
    {
        Container? last = null;
        bool Running() => (last = StateReader.Get(m, name)).State != ContainerState.Exited;
        return Pump(m.ProcessOutput(name, ContainerProcess.MainId), Running, LogStream.All, null, onLine, cancel) ? last : null;
    }

    /// <summary>
    /// The one log follower: what <paramref name="logs"/> holds (its last <paramref name="tail"/> lines of
    /// <paramref name="stream"/>), then each new line, until <paramref name="running"/> says no (true) or
    /// <paramref name="cancel"/> is set (false).
    /// </summary>
    private static bool Pump(ILogFollower logs, Func<bool> running, LogStream stream, int? tail, Action<LogStream, string> onLine, CancellationToken cancel)
    {
        bool first = true;
        while (true)
        {
            // Whether it runs is asked first: its output is complete once it is seen ended.
            bool ended = !running();
            var lines = logs.ReadNew(final: ended).Where(l => stream == LogStream.All || l.Stream == stream).ToList();
            if (first && tail is int n)
            {
                lines = lines.Skip(Math.Max(0, lines.Count - n)).ToList();
            }
            first = false;
            foreach (var (s, line) in lines)
            {
                onLine(s, line);
            }
            if (ended)
            {
                return true;
            }
            if (cancel.WaitHandle.WaitOne(25))
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Logs the OOM kills of a container that its event log does not have yet: one "oom-killed count=&lt;n&gt;" line
    /// for each kill the cgroup's counter (v2 memory.events oom_kill, v1 memory.oom_control oom_kill) has beyond the
    /// "oom-killed" lines already logged. Whoever observes the exit logs them: psc-init when the main process ends
    /// (before "exited" and the exit record), and the engine only for an init that ended without doing so (Stop
    /// kills it with the whole cgroup; Remove comes before the cgroup goes). While the init runs nothing is written
    /// here, since the init will log them. Done under the container's lock (<see cref="Depot.LockContainer"/>), so
    /// two sessions that both see the same kill log it once. Returns the number of kills the counter shows.
    /// </summary>
    public static long RecordOomKills(ContainerManager m, string name)
    {
        using (m.Depot.LockContainer(name))
        {
            return RecordOomKillsLocked(m, name, StateReader.ReadSpec(m, name).CGroupPath);
        }
    }

    /// <summary><see cref="RecordOomKills"/> for a caller that holds the container's lock.</summary>
    public static long RecordOomKillsLocked(ContainerManager m, string name, string cgroupPath)
    {
        long kills = cgroupPath.Length == 0 ? 0 : m.CGroups.OomKills(cgroupPath) ?? 0;
        if (kills > 0 && !StateReader.InitRunning(m, name))
        {
            long logged = Events(m, name).Count(e => e.Event == "oom-killed");
            for (long i = logged; i < kills; i++)
            {
                m.Depot.AppendEvent(name, "oom-killed", $"count={(i + 1).ToString(CultureInfo.InvariantCulture)}");
            }
        }
        return kills;
    }
}
