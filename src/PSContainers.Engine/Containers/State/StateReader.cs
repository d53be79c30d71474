using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>
/// A container's state, read: the spec from the depot, then state.json, the exit record psc-init writes and the live
/// kernel (pids with their start times, the freezer, the OOM counter). Pure: nothing here writes anywhere.
/// </summary>
internal static class StateReader
{
    /// <summary>One container from the depot, its state decided by the live kernel.</summary>
    public static Container Get(ContainerManager m, string name) => Describe(m, name, ReadSpec(m, name));

    public static ContainerSpec ReadSpec(ContainerManager m, string name)
    {
        ContainerName.Check(name);
        if (!m.Depot.Exists(name))
        {
            throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {m.Depot.Root}).", name);
        }
        return ReadSpecOrMissing(m, name);
    }

    /// <summary>
    /// spec.json of an entry, else the reason it is missing. An entry can be removed and made anew under the same
    /// name between a reader's look at the spec and its look at the directory (each whole, by a rename): a spec missing
    /// from an entry that exists is read again (a few times) before the entry is called damaged.
    /// </summary>
    private static ContainerSpec ReadSpecOrMissing(ContainerManager m, string name)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (m.Depot.ReadJson<ContainerSpec>(name, "spec.json") is ContainerSpec spec)
            {
                return spec;
            }
            if (attempt == 3 || !m.Depot.Exists(name))
            {
                throw MissingSpec(m, name);
            }
        }
    }

    /// <summary>No spec.json: the entry was removed meanwhile (it disappears whole, by a rename), or it is damaged.</summary>
    private static PscException MissingSpec(ContainerManager m, string name) => m.Depot.Exists(name)
        ? new PscException("DepotCorrupt", ErrorKind.InvalidOperation, $"The depot entry of '{name}' has no spec.json; Remove-Container -Force can remove it.", name)
        : new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {m.Depot.Root}).", name);

    /// <summary>Every container in the depot. A damaged entry is reported through <paramref name="onCorrupt"/> and skipped.</summary>
    public static IEnumerable<Container> List(ContainerManager m, Action<string, PscException>? onCorrupt)
    {
        foreach (string name in m.Depot.Names())
        {
            Container? c = null;
            try
            {
                c = Get(m, name);
            }
            catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal) || e.ErrorId == "ContainerNotFound")
            {
                if (e.ErrorId != "ContainerNotFound")
                {
                    onCorrupt?.Invoke(name, e);
                }
            }
            if (c is not null)
            {
                yield return c;
            }
        }
    }

    /// <summary>The spec of every container in the depot, without asking the kernel; a damaged entry goes to <paramref name="onCorrupt"/>.</summary>
    public static IEnumerable<ContainerSpec> Specs(ContainerManager m, Action<string, PscException>? onCorrupt)
    {
        foreach (string name in m.Depot.Names())
        {
            ContainerSpec? spec = null;
            try
            {
                spec = ReadSpecOrMissing(m, name);
            }
            catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal))
            {
                onCorrupt?.Invoke(name, e);
            }
            catch (PscException e) when (e.ErrorId == "ContainerNotFound")
            {
                // removed meanwhile
            }
            if (spec is not null)
            {
                yield return spec;
            }
        }
    }

    /// <summary>The cgroup a spec names, else ContainerHasNoCGroup (a rootless container without limits has none).</summary>
    public static string CGroupOf(ContainerSpec spec) => spec.CGroupPath.Length > 0
        ? spec.CGroupPath
        : throw new PscException("ContainerHasNoCGroup", ErrorKind.InvalidOperation, $"Container '{spec.Name}' runs without a cgroup of its own (rootless, without limits).", spec.Name);

    /// <summary>The container a spec describes, with its state, pids and exit read from the depot and the kernel.</summary>
    public static Container Describe(ContainerManager m, string name, ContainerSpec spec) => Describe(m, name, spec, out _, out _);

    /// <summary>
    /// Whether the container's init still runs (same boot, same process) with no exit record yet: then it, not the
    /// engine, logs what happens at the exit.
    /// </summary>
    public static bool InitRunning(ContainerManager m, string name)
    {
        var state = m.Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        return state is not null && (state.BootId.Length == 0 || state.BootId == BootId())
            && !File.Exists(m.Depot.FileOf(name, "exit")) && PidHandle.IsAlive(state.InitPid, state.InitStartTicks);
    }

    /// <summary>The same, also handing back what it read: state.json and the exit record (null when absent).</summary>
    public static Container Describe(ContainerManager m, string name, ContainerSpec spec, out ContainerRuntimeState? state, out Dictionary<string, string>? exit)
    {
        state = m.Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        Container c = Unstarted(m, name, spec);
        bool sameBoot = state is null || state.BootId.Length == 0 || state.BootId == BootId();
        // The init first, then the exit record: the init writes the record before it exits, so an init found gone
        // has left its record (if it could) by the time the record is read. Read the other way round, an init that
        // wrote its record and exited between the two reads looked "gone without an exit record": Exited with no
        // exit code (seen once in the benchmark's Start/Wait loop).
        bool initAlive = state is not null && sameBoot && PidHandle.IsAlive(state.InitPid, state.InitStartTicks);
        exit = m.Depot.ReadKeyValues(name, "exit");
        if (state is null)
        {
            return c; // never started, or a start that failed (it removes state.json again)
        }
        c.StartTime = state.StartTime;
        c.InitPid = state.InitPid;
        // The cgroup's own counter (v2 memory.events oom_kill, v1 memory.oom_control oom_kill); the "oom-killed"
        // events are logged by whoever observes the exit (ContainerEvents.RecordOomKills), never by a read.
        c.OomKilled = c.CGroupPath.Length > 0 && m.CGroups.OomKills(c.CGroupPath) > 0;
        if (exit is not null)
        {
            c.State = ContainerState.Exited;
            (c.ExitCode, c.Signal, c.ExitTime) = ExitRecord.Parse(exit);
            c.InitPid = null;
            return c;
        }
        if (initAlive)
        {
            c.State = spec.CGroupPath.Length > 0 && m.CGroups.IsFrozen(spec.CGroupPath) == true ? ContainerState.Paused : ContainerState.Running;
            c.Pid = PidHandle.IsAlive(state.MainPid, state.MainStartTicks) ? state.MainPid : null;
            return c;
        }
        // init is gone without an exit record (killed from outside, or the machine rebooted).
        c.State = ContainerState.Exited;
        c.InitPid = null;
        return c;
    }

    /// <summary>The container a spec describes before anything ran: what every Container starts from.</summary>
    public static Container Unstarted(ContainerManager m, string name, ContainerSpec spec) => WithNetwork(m, name, new()
    {
        Name = spec.Name,
        Spec = spec,
        CGroupPath = spec.CGroupPath,
        Group = spec.Group,
        FilePath = spec.FilePath,
        ArgumentList = spec.ArgumentList,
        Isolation = spec.Isolation,
        Hostname = spec.Hostname,
        Properties = spec.Properties,
        CreatedTime = spec.CreatedTime,
        DepotPath = m.Depot.PathOf(name),
        State = ContainerState.Created,
        Network = spec.Network,
    });

    /// <summary>A bridged container's address, ports, rules and limit from its network.json (read only for those).</summary>
    private static Container WithNetwork(ContainerManager m, string name, Container c)
    {
        if (c.Network == ContainerNetwork.Bridge && BridgeNetwork.Read(m.Depot.PathOf(name)) is { IsBridge: true } n)
        {
            c.IPAddress = n.Address;
            c.Gateway = n.Gateway;
            c.MappedPorts = n.Ports.Select(p => p with { ContainerName = name }).ToArray();
            c.NetworkRules = n.Rules.Select(r => r with { ContainerName = name }).ToArray();
            c.DenyNetworks = n.DenyNetworks;
            c.BandwidthLimit = n.BandwidthLimit;
        }
        return c;
    }

    private static string? _bootId;

    /// <summary>The kernel's boot id (read once: it cannot change while this process runs).</summary>
    private static string BootId()
    {
        if (_bootId is null)
        {
            try
            {
                _bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            }
            catch (IOException)
            {
                return "";
            }
        }
        return _bootId;
    }
}
