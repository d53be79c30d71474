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
    }

    public ContainerWatcher(System.Management.Automation.Runspaces.Runspace runspace, TimeSpan period)
    {
        _runspace = runspace;
        _events = runspace.Events;
        _timer = new Timer(_ => Tick(), null, period, period);
    }

    private bool Subscribed() =>
        _events.Subscribers.Any(s => s.SourceIdentifier is ExitedEvent or OomKilledEvent);

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
        if (_known.TryGetValue(name, out Entry? e) && e.State is ContainerState.Exited)
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
        var now = new Entry { State = c.State, OomKilled = c.OomKilled, InitPid = state?.InitPid ?? 0, InitTicks = state?.InitStartTicks ?? 0 };
        _known[name] = now;

        if (e is null)
        {
            if (c.CreatedTime < _since)
            {
                return; // first sight of an older container: the baseline, no event for its past
            }
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
