using System.Globalization;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>A write the engine intends to make: which tree, which cgroup, which file, what value.</summary>
internal sealed record PlannedWrite(CGroupTree Tree, string Path, string File, string Value);

/// <summary>
/// The one interface behind which v1 and v2 differ: turning limits into (file, value) writes and reading
/// limits and usage back. On a hybrid host each controller is served by whichever hierarchy carries it.
/// </summary>
internal interface IControllerDriver
{
    CGroupTree Tree { get; }

    /// <summary>The writes for the controllers this driver serves, in the order the kernel needs them.</summary>
    IEnumerable<PlannedWrite> Plan(string path, CGroupLimits limits, ISet<string> controllers);

    /// <summary>Reads limits and usage of the controllers this driver serves into <paramref name="cg"/>.</summary>
    void Read(string path, CGroup cg, ISet<string> controllers);

    /// <summary>Reads the usage statistics of the controllers this driver serves into <paramref name="s"/>.</summary>
    void ReadStats(string path, CGroupStats s, ISet<string> controllers);
}

internal static class LimitText
{
    // v1 reports "unlimited" as PAGE_COUNTER_MAX × page size, just under 2^63.
    private const long V1Unlimited = 1L << 62;

    public static long? ParseCount(string? text)
    {
        if (text is null)
        {
            return null;
        }
        text = text.Trim();
        if (text == "max")
        {
            return -1;
        }
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            return value >= V1Unlimited ? -1 : value;
        }
        if (ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return -1;
        }
        return null;
    }

    public static string Max(long value) => value == -1 ? "max" : value.ToString(CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>CPUs from a quota and period in µs; -1 when the quota is unlimited.</summary>
    public static double? Cpus(long? quota, long? period) =>
        quota is null || period is null or 0 ? null : quota == -1 ? -1 : Math.Round((double)quota / period.Value, 4);
}

/// <summary>cgroup v1: one hierarchy per controller (or a few co-mounted).</summary>
internal sealed class V1Driver : IControllerDriver
{
    public V1Driver(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

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
        if (controllers.Contains("freezer"))
        {
            string? state = Tree.TryRead(path, "freezer.state");
            cg.Frozen = state is null ? null : state.Trim() == "FROZEN";
        }
    }

    public void ReadStats(string path, CGroupStats s, ISet<string> controllers)
    {
        if (controllers.Contains("memory"))
        {
            s.MemoryUsage = LimitText.ParseCount(Tree.TryRead(path, "memory.usage_in_bytes"));
            s.MemoryPeak = LimitText.ParseCount(Tree.TryRead(path, "memory.max_usage_in_bytes"));
            s.MemoryLimit = LimitText.ParseCount(Tree.TryRead(path, "memory.limit_in_bytes"));
            string? statText = Tree.TryRead(path, "memory.stat");
            if (statText is not null)
            {
                var stat = StatFiles.KeyValues(statText);
                // total_* counts the whole subtree, as v2's files do.
                s.MemoryCache = stat.TryGetValue("total_cache", out long c) ? c : null;
                s.MemoryRss = stat.TryGetValue("total_rss", out long r) ? r : null;
                s.MemorySwap = stat.TryGetValue("total_swap", out long w) ? w : null;
            }
            var oom = StatFiles.KeyValues(Tree.TryRead(path, "memory.oom_control"));
            s.OomKills = oom.TryGetValue("oom_kill", out long k) ? k : null;
        }
        if (controllers.Contains("cpuacct"))
        {
            s.CpuUsageNs = LimitText.ParseCount(Tree.TryRead(path, "cpuacct.usage"));
            s.CpuUserNs = LimitText.ParseCount(Tree.TryRead(path, "cpuacct.usage_user"));
            s.CpuSystemNs = LimitText.ParseCount(Tree.TryRead(path, "cpuacct.usage_sys"));
        }
        if (controllers.Contains("cpu"))
        {
            var stat = StatFiles.KeyValues(Tree.TryRead(path, "cpu.stat"));
            s.CpuPeriods = stat.TryGetValue("nr_periods", out long p) ? p : null;
            s.CpuThrottledPeriods = stat.TryGetValue("nr_throttled", out long t) ? t : null;
            s.CpuThrottledNs = stat.TryGetValue("throttled_time", out long ns) ? ns : null;
        }
        if (controllers.Contains("pids"))
        {
            s.PidsCurrent = LimitText.ParseCount(Tree.TryRead(path, "pids.current"));
            s.PidsLimit = LimitText.ParseCount(Tree.TryRead(path, "pids.max"));
        }
        if (controllers.Contains("blkio"))
        {
            ReadBlkioStats(path, s);
        }
    }

    /// <summary>The v1 blkio throttle files that hold rules; a cgroup with none of them set has no throttle rule.</summary>
    private static readonly string[] ThrottleRules =
    {
        "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
    };

    /// <summary>
    /// v1 IO counters. BFQ's files count every request where that scheduler runs. Otherwise only blk-throttle counts,
    /// and kernels such as Debian 12's 6.1 count a bio there only when its cgroup has a throttle rule: a cgroup
    /// without one reads 0 whatever it did. Such a 0 is not a measurement, so it is reported as null (cannot tell).
    /// </summary>
    private void ReadBlkioStats(string path, CGroupStats s)
    {
        var bytes = StatFiles.BlkioV1(Tree.TryRead(path, "blkio.bfq.io_service_bytes_recursive"));
        var ops = StatFiles.BlkioV1(Tree.TryRead(path, "blkio.bfq.io_serviced_recursive"));
        if (bytes is null || ops is null)
        {
            bytes = StatFiles.BlkioV1(Tree.TryRead(path, "blkio.throttle.io_service_bytes_recursive") ?? Tree.TryRead(path, "blkio.throttle.io_service_bytes"));
            ops = StatFiles.BlkioV1(Tree.TryRead(path, "blkio.throttle.io_serviced_recursive") ?? Tree.TryRead(path, "blkio.throttle.io_serviced"));
            bool counted = bytes is { } b0 && (b0.Read != 0 || b0.Write != 0) || ops is { } o0 && (o0.Read != 0 || o0.Write != 0);
            if (!counted && !HasThrottleRule(path))
            {
                bytes = null;
                ops = null;
            }
        }
        (s.IoReadBytes, s.IoWriteBytes) = bytes is { } b ? (b.Read, b.Write) : ((long?)null, (long?)null);
        (s.IoReadOps, s.IoWriteOps) = ops is { } o ? (o.Read, o.Write) : ((long?)null, (long?)null);
    }

    /// <summary>True when the cgroup or one of its ancestors has a blk-throttle rule (a bio is counted where it is throttled).</summary>
    private bool HasThrottleRule(string path)
    {
        for (string p = path; ; p = CGroupPath.Parent(p))
        {
            if (ThrottleRules.Any(f => !string.IsNullOrWhiteSpace(Tree.TryRead(p, f))))
            {
                return true;
            }
            if (p == "/")
            {
                return false;
            }
        }
    }
}

/// <summary>cgroup v2: one unified hierarchy; controllers must be enabled in the parent's subtree_control.</summary>
internal sealed class V2Driver : IControllerDriver
{
    public V2Driver(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

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

    public void ReadStats(string path, CGroupStats s, ISet<string> controllers)
    {
        if (controllers.Contains("memory"))
        {
            s.MemoryUsage = LimitText.ParseCount(Tree.TryRead(path, "memory.current"));
            s.MemoryPeak = LimitText.ParseCount(Tree.TryRead(path, "memory.peak"));
            s.MemoryLimit = LimitText.ParseCount(Tree.TryRead(path, "memory.max"));
            string? statText = Tree.TryRead(path, "memory.stat");
            if (statText is not null)
            {
                var stat = KeyValues(statText);
                s.MemoryCache = stat.TryGetValue("file", out long c) ? c : null;
                s.MemoryRss = stat.TryGetValue("anon", out long r) ? r : null;
            }
            s.MemorySwap = LimitText.ParseCount(Tree.TryRead(path, "memory.swap.current"));
            string? eventsText = Tree.TryRead(path, "memory.events");
            if (eventsText is not null)
            {
                var events = KeyValues(eventsText);
                s.OomEvents = events.TryGetValue("oom", out long o) ? o : null;
                s.OomKills = events.TryGetValue("oom_kill", out long k) ? k : null;
            }
        }
        if (controllers.Contains("cpu"))
        {
            var stat = KeyValues(Tree.TryRead(path, "cpu.stat"));
            s.CpuPeriods = stat.TryGetValue("nr_periods", out long p) ? p : null;
            s.CpuThrottledPeriods = stat.TryGetValue("nr_throttled", out long t) ? t : null;
            s.CpuThrottledNs = stat.TryGetValue("throttled_usec", out long us) ? us * 1000 : null;
        }
        if (controllers.Contains("pids"))
        {
            s.PidsCurrent = LimitText.ParseCount(Tree.TryRead(path, "pids.current"));
            s.PidsLimit = LimitText.ParseCount(Tree.TryRead(path, "pids.max"));
        }
        if (controllers.Contains("io") && StatFiles.IoStatV2(Tree.TryRead(path, "io.stat")) is { } io)
        {
            (s.IoReadBytes, s.IoWriteBytes, s.IoReadOps, s.IoWriteOps) = (io.ReadBytes, io.WriteBytes, io.ReadOps, io.WriteOps);
        }
    }

    /// <summary>The core files every cgroup2 cgroup has, with or without controllers: CPU time and pressure.</summary>
    public void ReadCoreStats(string path, CGroupStats s)
    {
        var cpu = KeyValues(Tree.TryRead(path, "cpu.stat"));
        if (cpu.TryGetValue("usage_usec", out long usage))
        {
            s.CpuUsageNs ??= usage * 1000;
            s.CpuUserNs ??= cpu.TryGetValue("user_usec", out long u) ? u * 1000 : null;
            s.CpuSystemNs ??= cpu.TryGetValue("system_usec", out long sy) ? sy * 1000 : null;
        }
        s.CpuPressure = PressureInfo.Parse(Tree.TryRead(path, "cpu.pressure"));
        s.MemoryPressure = PressureInfo.Parse(Tree.TryRead(path, "memory.pressure"));
        s.IoPressure = PressureInfo.Parse(Tree.TryRead(path, "io.pressure"));
    }

    /// <summary>Parses "key value" lines (cgroup.events, memory.events, cpu.stat…).</summary>
    public static Dictionary<string, long> KeyValues(string? text)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = line.Split(' ', 2);
            if (kv.Length == 2 && long.TryParse(kv[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            {
                result[kv[0]] = v;
            }
        }
        return result;
    }
}
