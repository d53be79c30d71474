using PSContainers.CGroups.V1;
using PSContainers.CGroups.V2;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>One hierarchy the project uses, the controllers it serves, and its version's workers for them.</summary>
internal sealed record TreeWorkers(CGroupTree Tree, string[] Controllers, ILimitDriver Limits, IStatsReader Stats,
    IControllerEnablement Enablement, ICpusetInheritance? Cpuset);

/// <summary>
/// Which cgroup version does what on this host: the one place that looks at a hierarchy's version. Each controller is
/// served by the hierarchy that carries it, the cgroup2 tree first (so on this hybrid host memory comes from v1, and
/// freezing from cgroup.freeze where a cgroup has it, else from the v1 freezer); each concern by its version's worker
/// (V1/, V2/). <see cref="CGroupManager"/> only coordinates them.
/// </summary>
internal sealed class CGroupWorkers : IDisposable
{
    /// <summary>The controllers the project uses (v1 names; "io" is v2's blkio).</summary>
    private static readonly string[] Used = { "memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "io" };

    private readonly List<TreeWorkers> _trees = new();
    private readonly Dictionary<string, TreeWorkers> _byController = new(StringComparer.Ordinal);

    public CGroupWorkers(CGroupHierarchy hierarchy, string projectRoot, CGroupStopPath stopPath)
    {
        var freezers = new List<IFreezer>();
        try
        {
            if (hierarchy.Unified is CGroupMount unified)
            {
                var tree = new CGroupTree(unified);
                Unified = tree;
                var stats = new V2Stats(tree);
                Add(new TreeWorkers(tree, unified.Controllers.ToArray(), new V2Limits(tree, projectRoot), stats,
                    new V2ControllerEnablement(tree, projectRoot), null));
                CoreStats = stats;
                freezers.Add(new V2Freezer(tree));
                // The v1 stop path goes without cgroup.kill, as a host without cgroup2 (or older than 5.14) does.
                KernelKill = stopPath == CGroupStopPath.AsV1 ? null : new V2Kill(tree);
                Notice = new V2Population(tree);
            }
            foreach (CGroupMount mount in hierarchy.V1Mounts)
            {
                var wanted = mount.Controllers.Where(c => Used.Contains(c) && !_byController.ContainsKey(c) && !(c == "blkio" && _byController.ContainsKey("io"))).ToArray();
                if (wanted.Length == 0)
                {
                    continue;
                }
                var tree = new CGroupTree(mount);
                Add(new TreeWorkers(tree, wanted, new V1Limits(tree), new V1Stats(tree), new V1ControllerEnablement(),
                    mount.Controllers.Contains("cpuset") ? new V1CpusetInheritance(tree) : null));
                if (wanted.Contains("freezer"))
                {
                    // The v1 stop path freezes through freezer.state first, as a host without cgroup2 does.
                    freezers.Insert(stopPath == CGroupStopPath.AsV1 ? 0 : freezers.Count, new V1Freezer(tree));
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Trees = _trees.Select(t => t.Tree).ToArray();
        Serving = _trees.Where(t => t.Controllers.Length > 0).ToArray();
        Freezers = freezers.ToArray();
        Listing = new V1Population(Trees);
        // Root changes every hierarchy. Anyone else can only have been given a cgroup2 subtree (a chowned
        // directory, as systemd's Delegate= does): v1 hierarchies cannot be delegated safely, so they are left alone.
        WritableWorkers = Sys.EffectiveUid == 0 || Unified is null ? _trees.ToArray() : _trees.Where(t => t.Tree == Unified).ToArray();
        Writable = WritableWorkers.Select(t => t.Tree).ToArray();
    }

    /// <summary>Every hierarchy the project creates its cgroups in, cgroup2 first.</summary>
    public CGroupTree[] Trees { get; }

    /// <summary>The hierarchies cgroups are created in, removed from and moved into.</summary>
    public CGroupTree[] Writable { get; }

    /// <summary><see cref="Writable"/> with the workers of each.</summary>
    public TreeWorkers[] WritableWorkers { get; }

    /// <summary>The cgroup2 tree (pure v2 or hybrid).</summary>
    public CGroupTree? Unified { get; }

    /// <summary>The hierarchies that serve controllers, with their workers, in the order limits are planned.</summary>
    public TreeWorkers[] Serving { get; }

    /// <summary>Which hierarchy serves which controller.</summary>
    public IReadOnlyDictionary<string, TreeWorkers> ByController => _byController;

    /// <summary>The freezers, the one to use first first: a cgroup is frozen by the first that can freeze it.</summary>
    public IFreezer[] Freezers { get; }

    /// <summary>The freezer whose files are in <paramref name="tree"/>, if any.</summary>
    public IFreezer? FreezerIn(CGroupTree tree) => Freezers.FirstOrDefault(f => f.Tree == tree);

    /// <summary>The kernel's kill of a whole cgroup; null without one (v1) or on the injected v1 stop path.</summary>
    public IKernelKill? KernelKill { get; }

    /// <summary>Whether a cgroup is populated from one read (cgroup.events); null on a host without cgroup2.</summary>
    public IPopulation? Notice { get; }

    /// <summary>Whether a cgroup is populated from a listing of cgroup.procs down the subtree, in every hierarchy.</summary>
    public IPopulation Listing { get; }

    /// <summary>The stats every cgroup of the cgroup2 tree has without controllers (CPU time, pressure); null without one.</summary>
    public IStatsReader? CoreStats { get; }

    private void Add(TreeWorkers workers)
    {
        _trees.Add(workers);
        foreach (string c in workers.Controllers)
        {
            _byController[c] = workers;
        }
    }

    /// <summary>
    /// The cgroup of a process in each hierarchy, from /proc/&lt;pid&gt;/cgroup: the "0::" line is the cgroup2 tree's, a v1
    /// line names its hierarchy by its controllers.
    /// </summary>
    public Dictionary<CGroupTree, string> PathsOf(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/cgroup");
        }
        catch (IOException)
        {
            throw new PscException("ProcessNotFound", ErrorKind.ObjectNotFound, $"No process has the id {pid}.", pid, Errno.ESRCH);
        }
        var result = new Dictionary<CGroupTree, string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(':', 3);
            if (f.Length != 3)
            {
                continue;
            }
            string[] controllers = f[1].Split(',', StringSplitOptions.RemoveEmptyEntries);
            CGroupTree? tree = f[0] == "0" && f[1].Length == 0
                ? Unified
                : Trees.FirstOrDefault(t => !t.IsV2 && t.Mount.Controllers.Count > 0 && t.Mount.Controllers.All(controllers.Contains));
            if (tree is not null)
            {
                result[tree] = f[2];
            }
        }
        return result;
    }

    public void Dispose()
    {
        foreach (TreeWorkers t in _trees)
        {
            t.Tree.Dispose();
        }
        _trees.Clear();
    }
}
