using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>
/// The cgroup toolkit: create, read, limit, move into, freeze, kill and remove cgroups on v1, hybrid and v2
/// hosts. Reading works anywhere; every change is refused outside the project's root. It coordinates: what differs
/// between the versions is done by their workers (<see cref="CGroupWorkers"/>, V1/, V2/). Limits are in
/// CGroupManager.Limits.cs, creating and moving in CGroupManager.Create.cs, freezing and killing in
/// CGroupManager.Kill.cs, removing in CGroupManager.Remove.cs.
/// </summary>
public sealed partial class CGroupManager : IDisposable
{
    private readonly CGroupWorkers _w;
    private readonly Func<SortedSet<int>> _onlineCpus;

    public CGroupManager(CGroupHierarchy hierarchy, string projectRoot, Func<SortedSet<int>>? onlineCpus = null)
        : this(hierarchy, projectRoot, onlineCpus, CGroupStopPath.Default)
    {
    }

    /// <summary>A manager whose <see cref="Kill"/> takes <paramref name="stopPath"/> (the tests and the benchmark ask for <see cref="CGroupStopPath.AsV1"/>).</summary>
    internal CGroupManager(CGroupHierarchy hierarchy, string projectRoot, Func<SortedSet<int>>? onlineCpus, CGroupStopPath stopPath)
    {
        Hierarchy = hierarchy;
        ProjectRoot = CGroupPath.Resolve(projectRoot, "/");
        if (ProjectRoot == "/")
        {
            throw PscException.Invalid("InvalidCGroupRoot", "The project's cgroup root cannot be the hierarchy root '/'.", projectRoot);
        }
        _onlineCpus = onlineCpus ?? CpuList.Online;
        _w = new CGroupWorkers(hierarchy, ProjectRoot, stopPath);
    }

    /// <summary>The hierarchies cgroups are created in, removed from and moved into.</summary>
    public IReadOnlyList<CGroupTree> WritableTrees => _w.Writable;

    /// <summary>Opens the running host's hierarchy with the root from $PSCONTAINERS_CGROUP_ROOT.</summary>
    public static CGroupManager OpenHost() => new(CGroupHierarchy.Current(), CGroupPath.ProjectRootFromEnvironment());

    public CGroupHierarchy Hierarchy { get; }

    /// <summary>The project's root, absolute (e.g. /pscontainers).</summary>
    public string ProjectRoot { get; }

    /// <summary>The cgroup2 tree (pure v2 or hybrid), used for the core files: procs, kill, freeze, events.</summary>
    public CGroupTree? Unified => _w.Unified;

    /// <summary>Every hierarchy the project creates its cgroups in.</summary>
    public IReadOnlyList<CGroupTree> Trees => _w.Trees;

    /// <summary>Which hierarchy serves which controller.</summary>
    public IReadOnlyDictionary<string, string> ControllerTrees => _w.ByController.ToDictionary(kv => kv.Key, kv => kv.Value.Tree.Name);

    /// <summary>Optional audit hook: every cgroupfs write and signal, as text (for -Verbose).</summary>
    public Action<string>? Log { get; set; }

    public string Resolve(string path) => CGroupPath.Resolve(path, ProjectRoot);

    public bool IsManaged(string path) => CGroupPath.IsAtOrBelow(path, ProjectRoot);

    public bool Exists(string path) => _w.Trees.Any(t => t.Exists(path));

    private void RequireExists(string path)
    {
        if (!Exists(path))
        {
            throw new PscException("CGroupNotFound", ErrorKind.ObjectNotFound, $"The cgroup '{path}' does not exist.", path);
        }
    }

    /// <summary>The controllers available to one cgroup, with the hierarchy (and its workers) serving them, in planning order.</summary>
    private List<(TreeWorkers Workers, HashSet<string> Controllers)> ControllersOf(string path)
    {
        var list = new List<(TreeWorkers, HashSet<string>)>();
        foreach (TreeWorkers w in _w.Serving)
        {
            if (!w.Tree.Exists(path))
            {
                continue;
            }
            var set = w.Enablement.EnabledIn(path, w.Controllers);
            if (set.Count > 0)
            {
                list.Add((w, set));
            }
        }
        return list;
    }

    /// <summary>Reads one cgroup.</summary>
    public CGroup Get(string path)
    {
        RequireExists(path);
        var cg = new CGroup { Path = path, Version = Hierarchy.Layout, IsManaged = IsManaged(path) };
        var controllers = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (w, set) in ControllersOf(path))
        {
            w.Limits.Read(path, cg, set);
            controllers.UnionWith(set);
        }
        cg.Controllers = controllers.ToArray();
        cg.ProcessIds = ProcessIds(path).ToArray();
        cg.Populated = _w.Notice?.IsPopulated(path) ?? _w.Listing.IsPopulated(path);
        cg.Frozen = IsFrozen(path);
        return cg;
    }

    /// <summary>One sample of a cgroup's usage, from whichever hierarchy serves each controller.</summary>
    public CGroupStats ReadStats(string path)
    {
        RequireExists(path);
        var s = new CGroupStats { Path = path, Timestamp = DateTime.UtcNow };
        foreach (var (w, set) in ControllersOf(path))
        {
            w.Stats.ReadStats(path, s, set);
        }
        _w.CoreStats?.ReadCore(path, s);
        return s;
    }

    /// <summary>Whether the cgroup is frozen, from one file (cgroup.events or freezer.state); null without a freezer.</summary>
    public bool? IsFrozen(string path)
    {
        foreach (IFreezer f in _w.Freezers)
        {
            if (f.IsFrozen(path) is bool frozen)
            {
                return frozen;
            }
        }
        return null;
    }

    /// <summary>The OOM killer's kill count in a cgroup (v2 memory.events, v1 memory.oom_control), null without one.</summary>
    public long? OomKills(string path) =>
        _w.ByController.TryGetValue("memory", out TreeWorkers? w) && w.Tree.Exists(path) ? w.Stats.OomKills(path) : null;

    /// <summary>
    /// The full path of the file holding the cgroup's OOM kill counter (its "oom_kill" line), or null without a memory
    /// controller. Nothing is read: the file exists once the cgroup does.
    /// </summary>
    public string? OomCounterPath(string path) =>
        _w.ByController.TryGetValue("memory", out TreeWorkers? w) ? w.Tree.FullPath(path) + "/" + w.Stats.OomCounterFile : null;

    /// <summary>
    /// True when the cgroup2 tree has the cgroup and its cgroup.events says "populated 0": no process in it or below
    /// (one read). False otherwise, also on a host without a cgroup2 tree: then only a listing can tell.
    /// </summary>
    public bool IsUnpopulated(string path) => _w.Notice?.IsPopulated(path) == false;

    /// <summary>The direct children of a cgroup (union over the hierarchies).</summary>
    public IReadOnlyList<string> ChildPaths(string path)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (CGroupTree t in _w.Trees)
        {
            names.UnionWith(t.Children(path));
        }
        return names.Select(n => CGroupPath.Combine(path, n)).ToArray();
    }

    /// <summary>A cgroup and, depth first, all its descendants.</summary>
    public IEnumerable<string> Descendants(string path)
    {
        foreach (string child in ChildPaths(path))
        {
            yield return child;
            foreach (string d in Descendants(child))
            {
                yield return d;
            }
        }
    }

    /// <summary>Processes directly in the cgroup, in any of the project's hierarchies.</summary>
    public IReadOnlyList<int> ProcessIds(string path)
    {
        var pids = new SortedSet<int>();
        foreach (CGroupTree t in _w.Trees)
        {
            pids.UnionWith(t.Procs(path));
        }
        return pids.ToArray();
    }

    /// <summary>Processes in the cgroup and all its descendants.</summary>
    public IReadOnlyList<int> SubtreeProcessIds(string path)
    {
        var pids = new SortedSet<int>(ProcessIds(path));
        foreach (string d in Descendants(path))
        {
            pids.UnionWith(ProcessIds(d));
        }
        return pids.ToArray();
    }

    /// <summary>The cgroup paths of a process in the project's hierarchies (one per distinct path).</summary>
    public IReadOnlyList<string> PathsOfProcess(int pid) => CurrentPaths(pid).Values.Distinct(StringComparer.Ordinal).ToArray();

    private Dictionary<CGroupTree, string> CurrentPaths(int pid) =>
        pid > 0 ? _w.PathsOf(pid) : throw PscException.Invalid("InvalidProcessId", $"{pid} is not a process id.", pid);

    public void Dispose() => _w.Dispose();
}
