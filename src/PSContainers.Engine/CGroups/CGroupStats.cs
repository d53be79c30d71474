using System.Globalization;

namespace PSContainers.CGroups;

/// <summary>Pressure stall information of one resource (cpu, memory or io): the share of time tasks waited.</summary>
public sealed record PressureInfo(double SomeAvg10, double SomeAvg60, double SomeAvg300, long SomeTotal,
    double? FullAvg10, double? FullAvg60, double? FullAvg300, long? FullTotal)
{
    /// <summary>Parses a *.pressure file ("some avg10=.. avg60=.. avg300=.. total=..", and "full ..." where the kernel has it).</summary>
    public static PressureInfo? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        Dictionary<string, string>? some = null, full = null;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var kv = f.Skip(1).Select(x => x.Split('=', 2)).Where(x => x.Length == 2).ToDictionary(x => x[0], x => x[1]);
            if (f[0] == "some")
            {
                some = kv;
            }
            else if (f[0] == "full")
            {
                full = kv;
            }
        }
        if (some is null)
        {
            return null;
        }
        static double D(Dictionary<string, string> d, string k) => double.Parse(d[k], CultureInfo.InvariantCulture);
        static long L(Dictionary<string, string> d, string k) => long.Parse(d[k], CultureInfo.InvariantCulture);
        return new PressureInfo(D(some, "avg10"), D(some, "avg60"), D(some, "avg300"), L(some, "total"),
            full is null ? null : D(full, "avg10"), full is null ? null : D(full, "avg60"), full is null ? null : D(full, "avg300"), full is null ? null : L(full, "total"));
    }

    /// <summary>
    /// The averages as the kernel's file lists them, in percent, e.g. "some 34.83% 12.60% 3.02%, full 34.83% 12.60% 3.02%
    /// (avg10 avg60 avg300)"; what Format-List * and a string show.
    /// </summary>
    public override string ToString()
    {
        static string P(double? v) => v is double d ? d.ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";
        string some = $"some {P(SomeAvg10)} {P(SomeAvg60)} {P(SomeAvg300)}";
        return FullAvg10 is null && FullAvg60 is null && FullAvg300 is null
            ? some + " (avg10 avg60 avg300)"
            : some + $", full {P(FullAvg10)} {P(FullAvg60)} {P(FullAvg300)} (avg10 avg60 avg300)";
    }
}

/// <summary>
/// One sample of a cgroup's usage, the same shape on v1, hybrid and v2. Raw units: bytes, counts, nanoseconds
/// (TimeSpans for CPU times); null where this host cannot tell, never a made-up 0.
/// </summary>
public sealed class CGroupStats
{
    public string Path { get; internal set; } = "";
    public DateTime Timestamp { get; internal set; }
    public long? MemoryUsage { get; internal set; }
    public long? MemoryPeak { get; internal set; }
    public long? MemoryLimit { get; internal set; }
    public long? MemoryCache { get; internal set; }
    public long? MemoryRss { get; internal set; }
    public long? MemorySwap { get; internal set; }
    /// <summary>Times the cgroup hit its limit and the OOM killer was invoked (v2 memory.events oom; not reported by v1).</summary>
    public long? OomEvents { get; internal set; }
    /// <summary>Processes the OOM killer killed in this cgroup.</summary>
    public long? OomKills { get; internal set; }
    public long? CpuUsageNs { get; internal set; }
    public long? CpuUserNs { get; internal set; }
    public long? CpuSystemNs { get; internal set; }
    public long? CpuPeriods { get; internal set; }
    public long? CpuThrottledPeriods { get; internal set; }
    public long? CpuThrottledNs { get; internal set; }
    public long? PidsCurrent { get; internal set; }
    public long? PidsLimit { get; internal set; }
    public long? IoReadBytes { get; internal set; }
    public long? IoWriteBytes { get; internal set; }
    public long? IoReadOps { get; internal set; }
    public long? IoWriteOps { get; internal set; }
    public PressureInfo? CpuPressure { get; internal set; }
    public PressureInfo? MemoryPressure { get; internal set; }
    public PressureInfo? IoPressure { get; internal set; }
}

/// <summary>Parsers for the kernels' stat files, v1 and v2 (tested against fixture files from real kernels).</summary>
public static class StatFiles
{
    /// <summary>"key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control).</summary>
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

    /// <summary>v2 io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." per device, summed.</summary>
    public static (long ReadBytes, long WriteBytes, long ReadOps, long WriteOps)? IoStatV2(string? text)
    {
        if (text is null)
        {
            return null;
        }
        long rb = 0, wb = 0, rio = 0, wio = 0;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string field in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                string[] kv = field.Split('=', 2);
                if (kv.Length != 2 || !long.TryParse(kv[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                {
                    continue;
                }
                switch (kv[0])
                {
                    case "rbytes": rb += v; break;
                    case "wbytes": wb += v; break;
                    case "rios": rio += v; break;
                    case "wios": wio += v; break;
                }
            }
        }
        return (rb, wb, rio, wio);
    }

    /// <summary>v1 blkio.throttle.io_service_bytes(_recursive) / io_serviced: "MAJ:MIN Read N" lines; the Total lines are skipped.</summary>
    public static (long Read, long Write)? BlkioV1(string? text)
    {
        if (text is null)
        {
            return null;
        }
        long read = 0, write = 0;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !long.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            {
                continue;
            }
            if (f[1] == "Read")
            {
                read += v;
            }
            else if (f[1] == "Write")
            {
                write += v;
            }
        }
        return (read, write);
    }
}
