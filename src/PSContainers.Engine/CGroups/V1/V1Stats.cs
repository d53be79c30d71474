namespace PSContainers.CGroups.V1;

/// <summary>cgroup v1 usage: memory.stat's total_* lines, cpuacct, cpu.stat, pids and the blkio counters.</summary>
internal sealed class V1Stats : IStatsReader
{
    /// <summary>The v1 blkio throttle files that hold rules; a cgroup with none of them set has no throttle rule.</summary>
    private static readonly string[] ThrottleRules =
    {
        "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
    };

    public V1Stats(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

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

    /// <summary>v1 has no files outside its controllers.</summary>
    public void ReadCore(string path, CGroupStats s)
    {
    }

    public string OomCounterFile => "memory.oom_control";

    public long? OomKills(string path) =>
        StatFiles.KeyValues(Tree.TryRead(path, OomCounterFile)).TryGetValue("oom_kill", out long k) ? k : null;

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
