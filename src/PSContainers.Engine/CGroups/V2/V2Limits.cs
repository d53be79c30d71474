using PSContainers.Native;

namespace PSContainers.CGroups.V2;

/// <summary>cgroup v2 limits: one unified hierarchy, memory.max, cpu.max, cpu.weight, pids.max.</summary>
internal sealed class V2Limits : ILimitDriver
{
    private readonly string _projectRoot;

    public V2Limits(CGroupTree tree, string projectRoot)
    {
        Tree = tree;
        _projectRoot = projectRoot;
    }

    public CGroupTree Tree { get; }

    /// <summary>A chowned subtree (systemd's Delegate=) lets a user who is not root set limits in it.</summary>
    public bool CanBeDelegated => true;

    public IEnumerable<PlannedWrite> Plan(string path, CGroupLimits l, ISet<string> controllers)
    {
        var writes = new List<PlannedWrite>();
        void W(string file, string value) => writes.Add(new PlannedWrite(Tree, path, file, value));

        if (controllers.Contains("memory"))
        {
            if (l.MemoryLimit is long m)
            {
                W("memory.max", LimitText.Max(m));
            }
            if (l.MemorySwapLimit is long s)
            {
                long memory = l.MemoryLimit ?? LimitText.ParseCount(Tree.TryRead(path, "memory.max")) ?? -1;
                W("memory.swap.max", LimitText.Max(SwapOnly(s, memory)));
            }
        }
        if (controllers.Contains("cpu"))
        {
            if (l.CpuLimit is double cpus)
            {
                long quota = CGroupLimits.CpuQuota(cpus);
                W("cpu.max", $"{(quota == -1 ? "max" : LimitText.Number(quota))} {CGroupLimits.CpuPeriod}");
            }
            if (l.CpuWeight is int w)
            {
                W("cpu.weight", LimitText.Number(w == -1 ? 100 : w));
            }
        }
        if (controllers.Contains("cpuset") && l.CpuSet is string set)
        {
            W("cpuset.cpus", set);
        }
        if (controllers.Contains("pids") && l.PidsLimit is long p)
        {
            W("pids.max", LimitText.Max(p));
        }
        return writes;
    }

    /// <summary>
    /// memory+swap (runc/OCI) → swap alone for memory.swap.max, the way runc converts
    /// (ConvertMemorySwapToCgroupV2Value): -1 stays unlimited; otherwise swap − memory, which needs a memory limit.
    /// </summary>
    public static long SwapOnly(long memoryPlusSwap, long memory)
    {
        if (memoryPlusSwap == -1)
        {
            return -1;
        }
        if (memory == -1)
        {
            throw PscException.Invalid("InvalidLimit,MemorySwapLimit",
                $"MemorySwapLimit {memoryPlusSwap} needs a memory limit: it counts memory plus swap. Give -MemoryLimit too.", memoryPlusSwap);
        }
        if (memoryPlusSwap < memory)
        {
            throw PscException.Invalid("InvalidLimit,MemorySwapLimit",
                $"MemorySwapLimit {memoryPlusSwap} is below the memory limit {memory}: it counts memory plus swap.", memoryPlusSwap);
        }
        return memoryPlusSwap - memory;
    }

    public void Read(string path, CGroup cg, ISet<string> controllers)
    {
        if (controllers.Contains("memory"))
        {
            cg.MemoryLimit = LimitText.ParseCount(Tree.TryRead(path, "memory.max"));
            cg.MemoryUsage = LimitText.ParseCount(Tree.TryRead(path, "memory.current"));
            cg.MemoryPeak = LimitText.ParseCount(Tree.TryRead(path, "memory.peak"));
            long? swap = LimitText.ParseCount(Tree.TryRead(path, "memory.swap.max"));
            cg.MemorySwapLimit = swap is null ? null : swap == -1 || cg.MemoryLimit == -1 ? -1 : swap + cg.MemoryLimit;
        }
        if (controllers.Contains("cpu"))
        {
            string? max = Tree.TryRead(path, "cpu.max");
            if (max is not null)
            {
                string[] parts = max.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                cg.CpuLimit = LimitText.Cpus(LimitText.ParseCount(parts[0]), parts.Length > 1 ? LimitText.ParseCount(parts[1]) : CGroupLimits.CpuPeriod);
            }
            long? weight = LimitText.ParseCount(Tree.TryRead(path, "cpu.weight"));
            cg.CpuWeight = weight is long w ? (int)w : null;
        }
        if (controllers.Contains("cpuset"))
        {
            string? cpus = Tree.TryRead(path, "cpuset.cpus");
            cg.CpuSet = string.IsNullOrEmpty(cpus) ? Tree.TryRead(path, "cpuset.cpus.effective") : cpus;
        }
        if (controllers.Contains("pids"))
        {
            cg.PidsLimit = LimitText.ParseCount(Tree.TryRead(path, "pids.max"));
            cg.PidsCurrent = LimitText.ParseCount(Tree.TryRead(path, "pids.current"));
        }
    }

    /// <summary>
    /// Says where a controller stops on the way down to <paramref name="path"/>, walking from the root: the first
    /// cgroup whose cgroup.subtree_control does not hand it on. Above the project's root that is the machine's to
    /// change (systemd does it for a unit with Delegate=yes), which the message says, with the file.
    /// </summary>
    public string? WhereUnavailable(string path, string controller)
    {
        string current = "/";
        foreach (string part in CGroupPath.Components(path))
        {
            string file = Tree.FullPath(current, "cgroup.subtree_control");
            if (!(Tree.TryRead(current, "cgroup.subtree_control") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(controller))
            {
                return CGroupPath.IsAtOrBelow(current, _projectRoot)
                    ? $"{file} does not enable it for the cgroups below"
                    : $"{file} does not enable it for the cgroups below, and '{current}' is above the project's root '{_projectRoot}', which PSContainers never changes: " +
                      $"enable {controller} there (systemd does for a unit with Delegate=yes), or set {CGroupPath.RootVariable} below a cgroup that has it";
            }
            current = CGroupPath.Combine(current, part);
        }
        return $"it is not enabled in the parent's cgroup.subtree_control of '{path}'";
    }
}
