using System.Management.Automation;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Events;

/// <summary>
/// Raises PowerShell engine events in a session while it lives: PSContainers.Exited when a container's main process
/// has ended and PSContainers.OomKilled when the OOM killer struck, each with the Container as the event's argument
/// and MessageData. It only works while something in the session subscribes (Register-EngineEvent), checking the
/// running containers' init pids four times a second; without subscribers it does nothing.
/// </summary>
internal sealed class ContainerWatcher : IDisposable
{
    public const string ExitedEvent = "PSContainers.Exited";
    public const string OomKilledEvent = "PSContainers.OomKilled";
    public const string StartedEvent = "PSContainers.Started";
    public const string ProcessExitedEvent = "PSContainers.ProcessExited";
    public const string ErrorEvent = "PSContainers.Error";

    private readonly System.Management.Automation.Runspaces.Runspace _runspace;
    private readonly PSEventManager _events;
    private readonly Timer _timer;
    private readonly Dictionary<string, Entry> _known = new(StringComparer.Ordinal);
    private int _busy;
    private DateTime? _since;

    private sealed class Entry
    {
        public ContainerState State;
        public bool OomKilled;
        public int InitPid;
        public ulong InitTicks;
        public long LogOffset;        // how much of events.log has been looked at
    }

    public ContainerWatcher(System.Management.Automation.Runspaces.Runspace runspace, TimeSpan period)
    {
        _runspace = runspace;
        _events = runspace.Events;
        _timer = new Timer(_ => Tick(), null, period, period);
    }

    private bool Subscribed() =>
        _events.Subscribers.Any(s => s.SourceIdentifier is ExitedEvent or OomKilledEvent or StartedEvent or ProcessExitedEvent or ErrorEvent);

    private void Tick()
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            return;
        }
        try
        {
            if (_runspace.RunspaceStateInfo.State is System.Management.Automation.Runspaces.RunspaceState.Closed or System.Management.Automation.Runspaces.RunspaceState.Broken)
            {
                Dispose(); // the session ended
                return;
            }
            if (!Subscribed())
            {
                _known.Clear();
                _since = null;
                return;
            }
            _since ??= DateTime.UtcNow;
            using var manager = new ContainerManager(Depot.FromEnvironment(), CGroupManager.OpenHost());
            var names = manager.Depot.Names().ToHashSet(StringComparer.Ordinal);
            foreach (string gone in _known.Keys.Where(k => !names.Contains(k)).ToList())
            {
                _known.Remove(gone);
            }
            foreach (string name in names)
            {
                try
                {
                    Check(manager, name);
                }
                catch (Exception e) when (e is PscException or IOException or UnauthorizedAccessException)
                {
                    // A damaged or vanishing entry is not this watcher's to report.
                }
            }
        }
        catch (Exception e) when (e is PscException or IOException or UnauthorizedAccessException)
        {
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void Check(ContainerManager manager, string name)
    {
        _known.TryGetValue(name, out Entry? e);
        if (e is not null)
        {
            e.LogOffset = NewLogLines(manager, name, e.LogOffset, out bool startFailed); // started, a process's exit, a failed start
            if (startFailed)
            {
                e.State = ContainerState.Created; // a failed start leaves it Created again (after its init's exit record)
            }
        }
        if (e is { State: ContainerState.Exited })
        {
            return;
        }
        if (e is not null && e.State is ContainerState.Running or ContainerState.Paused
            && PidHandle.IsAlive(e.InitPid, e.InitTicks) && !NewOomKill(manager, name, e))
        {
            return; // still running, nothing new: one /proc read per container per tick
        }
        Container c = manager.Get(name);
        var state = manager.Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        var now = new Entry { State = c.State, OomKilled = c.OomKilled, InitPid = state?.InitPid ?? 0, InitTicks = state?.InitStartTicks ?? 0, LogOffset = e?.LogOffset ?? 0 };
        _known[name] = now;

        if (e is null)
        {
            if (c.CreatedTime < _since)
            {
                now.LogOffset = LogLength(manager, name);
                return; // first sight of an older container: the baseline, no event for its past
            }
            now.LogOffset = NewLogLines(manager, name, 0, out _);
            e = new Entry { State = ContainerState.Created }; // made while watching: everything about it is news
        }
        if (c.OomKilled && !e.OomKilled)
        {
            _events.GenerateEvent(OomKilledEvent, null, new object[] { c }, new PSObject(c));
        }
        if (c.State is ContainerState.Exited && e.State is not ContainerState.Exited)
        {
            _events.GenerateEvent(ExitedEvent, null, new object[] { c }, new PSObject(c));
        }
    }

    private static long LogLength(ContainerManager manager, string name)
    {
        var info = new FileInfo(manager.Depot.FileOf(name, "events.log"));
        return info.Exists ? info.Length : 0;
    }

    /// <summary>
    /// The events.log lines after <paramref name="offset"/>: "started" raises PSContainers.Started (the container),
    /// "process-exited" PSContainers.ProcessExited (the process), "start-failed" PSContainers.Error (the event, whose
    /// Details hold the error). Returns the new offset (only whole lines are taken).
    /// </summary>
    private long NewLogLines(ContainerManager manager, string name, long offset, out bool startFailed)
    {
        startFailed = false;
        string path = manager.Depot.FileOf(name, "events.log");
        long length = LogLength(manager, name);
        if (length <= offset)
        {
            return offset;
        }
        byte[] bytes;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            fs.Seek(offset, SeekOrigin.Begin);
            bytes = new byte[length - offset];
            int got = 0, n;
            while (got < bytes.Length && (n = fs.Read(bytes, got, bytes.Length - got)) > 0)
            {
                got += n;
            }
            Array.Resize(ref bytes, got);
        }
        int end = Array.LastIndexOf(bytes, (byte)'\n');
        if (end < 0)
        {
            return offset;
        }
        foreach (string line in System.Text.Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
        {
            string[] f = line.Split(' ', 3);
            if (f.Length < 2 || !long.TryParse(f[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long ns))
            {
                continue;
            }
            string? details = f.Length > 2 ? f[2] : null;
            switch (f[1])
            {
                case "started":
                    Container started = manager.Get(name);
                    _events.GenerateEvent(StartedEvent, null, new object[] { started }, new PSObject(started));
                    break;
                case "process-exited" when details?.Split(' ')[0] is { } idField && idField.StartsWith("id=", StringComparison.Ordinal):
                    ContainerProcess p = manager.GetProcess(name, idField[3..]);
                    _events.GenerateEvent(ProcessExitedEvent, null, new object[] { p }, new PSObject(p));
                    break;
                case "start-failed":
                    startFailed = true;
                    var evt = new ContainerEvent(name, DateTime.UnixEpoch.AddTicks(ns / 100), f[1], details);
                    _events.GenerateEvent(ErrorEvent, null, new object[] { evt }, new PSObject(evt));
                    break;
            }
        }
        return offset + end + 1;
    }

    private static bool NewOomKill(ContainerManager manager, string name, Entry e)
    {
        if (e.OomKilled)
        {
            return false;
        }
        string path = manager.Depot.ReadJson<ContainerSpec>(name, "spec.json")?.CGroupPath ?? "";
        return path.Length > 0 && (manager.CGroups.OomKills(path) ?? 0) > 0;
    }

    public void Dispose() => _timer.Dispose();
}
