namespace PSContainers.CGroups.V2;

/// <summary>cgroup v2 usage: memory.current/stat/events, cpu.stat in µs, pids, io.stat and the pressure files.</summary>
internal sealed class V2Stats : IStatsReader
{
    public V2Stats(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

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
                var stat = StatFiles.KeyValues(statText);
                s.MemoryCache = stat.TryGetValue("file", out long c) ? c : null;
                s.MemoryRss = stat.TryGetValue("anon", out long r) ? r : null;
            }
            s.MemorySwap = LimitText.ParseCount(Tree.TryRead(path, "memory.swap.current"));
            string? eventsText = Tree.TryRead(path, "memory.events");
            if (eventsText is not null)
            {
                var events = StatFiles.KeyValues(eventsText);
                s.OomEvents = events.TryGetValue("oom", out long o) ? o : null;
                s.OomKills = events.TryGetValue("oom_kill", out long k) ? k : null;
            }
        }
        if (controllers.Contains("cpu"))
        {
            var stat = StatFiles.KeyValues(Tree.TryRead(path, "cpu.stat"));
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

    /// <summary>The core files every cgroup2 cgroup but the root has, with or without controllers: CPU time and pressure.</summary>
    public void ReadCore(string path, CGroupStats s)
    {
        if (path == "/" || !Tree.Exists(path))
        {
            return;
        }
        var cpu = StatFiles.KeyValues(Tree.TryRead(path, "cpu.stat"));
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

    public string OomCounterFile => "memory.events";

    public long? OomKills(string path) =>
        StatFiles.KeyValues(Tree.TryRead(path, OomCounterFile)).TryGetValue("oom_kill", out long k) ? k : null;
}
