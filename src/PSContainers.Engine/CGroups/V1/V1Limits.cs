using PSContainers.Native;

namespace PSContainers.CGroups.V1;

/// <summary>cgroup v1 limits: one hierarchy per controller (or a few co-mounted), the *_in_bytes, cfs and shares files.</summary>
internal sealed class V1Limits : ILimitDriver
{
    public V1Limits(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

    public bool CanBeDelegated => false;

    public string? WhereUnavailable(string path, string controller) => null;

    public IEnumerable<PlannedWrite> Plan(string path, CGroupLimits l, ISet<string> controllers)
    {
        var writes = new List<PlannedWrite>();
        void W(string file, string value) => writes.Add(new PlannedWrite(Tree, path, file, value));

        if (controllers.Contains("memory"))
        {
            if (l.MemorySwapLimit is not null && !Tree.HasFile(path, "memory.memsw.limit_in_bytes"))
            {
                throw new PscException("SwapAccountingOff", ErrorKind.NotImplemented,
                    $"Cannot set MemorySwapLimit on '{path}': the kernel has no swap accounting (memory.memsw.limit_in_bytes is missing; boot with swapaccount=1).", path);
            }
            string? mem = l.MemoryLimit is long m ? LimitText.Number(m) : null;
            string? memsw = l.MemorySwapLimit is long s ? LimitText.Number(s) : null;
            if (memsw is not null && mem is not null)
            {
                // memsw must never drop below the memory limit: raise memsw first when the new memory
                // limit is above the current memsw (runc orders them the same way).
                long currentSwap = LimitText.ParseCount(Tree.TryRead(path, "memory.memsw.limit_in_bytes")) ?? -1;
                bool raiseSwapFirst = l.MemoryLimit == -1 || (currentSwap != -1 && l.MemoryLimit > currentSwap);
                if (raiseSwapFirst)
                {
                    W("memory.memsw.limit_in_bytes", memsw);
                    W("memory.limit_in_bytes", mem);
                }
                else
                {
                    W("memory.limit_in_bytes", mem);
                    W("memory.memsw.limit_in_bytes", memsw);
                }
            }
            else if (mem is not null)
            {
                W("memory.limit_in_bytes", mem);
            }
            else if (memsw is not null)
            {
                W("memory.memsw.limit_in_bytes", memsw);
            }
        }
        if (controllers.Contains("cpu"))
        {
            if (l.CpuLimit is double cpus)
            {
                W("cpu.cfs_period_us", LimitText.Number(CGroupLimits.CpuPeriod));
                W("cpu.cfs_quota_us", LimitText.Number(CGroupLimits.CpuQuota(cpus)));
            }
            if (l.CpuWeight is int w)
            {
                W("cpu.shares", LimitText.Number(w == -1 ? 1024 : CGroupLimits.WeightToShares(w)));
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

    public void Read(string path, CGroup cg, ISet<string> controllers)
    {
        if (controllers.Contains("memory"))
        {
            cg.MemoryLimit = LimitText.ParseCount(Tree.TryRead(path, "memory.limit_in_bytes"));
            cg.MemorySwapLimit = LimitText.ParseCount(Tree.TryRead(path, "memory.memsw.limit_in_bytes"));
            cg.MemoryUsage = LimitText.ParseCount(Tree.TryRead(path, "memory.usage_in_bytes"));
            cg.MemoryPeak = LimitText.ParseCount(Tree.TryRead(path, "memory.max_usage_in_bytes"));
        }
        if (controllers.Contains("cpu"))
        {
            cg.CpuLimit = LimitText.Cpus(LimitText.ParseCount(Tree.TryRead(path, "cpu.cfs_quota_us")),
                LimitText.ParseCount(Tree.TryRead(path, "cpu.cfs_period_us")));
            long? shares = LimitText.ParseCount(Tree.TryRead(path, "cpu.shares"));
            cg.CpuWeight = shares is long sh ? CGroupLimits.SharesToWeight(sh) : null;
        }
        if (controllers.Contains("cpuset"))
        {
            cg.CpuSet = Tree.TryRead(path, "cpuset.cpus");
        }
        if (controllers.Contains("pids"))
        {
            cg.PidsLimit = LimitText.ParseCount(Tree.TryRead(path, "pids.max"));
            cg.PidsCurrent = LimitText.ParseCount(Tree.TryRead(path, "pids.current"));
        }
    }
}
