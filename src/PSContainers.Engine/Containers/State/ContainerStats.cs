using PSContainers.CGroups;

namespace PSContainers.Containers;

/// <summary>
/// One sample of one container's (or cgroup's) usage. Raw units (bytes, counts, TimeSpans); CpuPercent compares two
/// samples; a field the host cannot provide is null, never a made-up 0.
/// </summary>
public sealed class ContainerStats
{
    public ContainerStats(string name, CGroupStats s, ContainerStats? previous, LayerUsage? layer = null, NetworkUsage? network = null)
    {
        NetworkRxBytes = network?.RxBytes;
        NetworkTxBytes = network?.TxBytes;
        NetworkRxPackets = network?.RxPackets;
        NetworkTxPackets = network?.TxPackets;
        NetworkRxDropped = network?.RxDropped;
        NetworkTxDropped = network?.TxDropped;
        DiskUsage = layer?.Bytes;
        InodesUsed = layer?.Inodes;
        DiskLimit = layer?.DiskLimit;
        InodeLimit = layer?.InodeLimit;
        Name = name;
        CGroupPath = s.Path;
        Timestamp = s.Timestamp;
        MemoryUsage = s.MemoryUsage;
        MemoryPeak = s.MemoryPeak;
        MemoryLimit = s.MemoryLimit;
        MemoryCache = s.MemoryCache;
        MemoryRss = s.MemoryRss;
        MemorySwap = s.MemorySwap;
        OomEvents = s.OomEvents;
        OomKills = s.OomKills;
        CpuUsage = Time(s.CpuUsageNs);
        CpuUser = Time(s.CpuUserNs);
        CpuSystem = Time(s.CpuSystemNs);
        CpuThrottledPeriods = s.CpuThrottledPeriods;
        CpuThrottledTime = Time(s.CpuThrottledNs);
        PidsCurrent = s.PidsCurrent;
        PidsLimit = s.PidsLimit;
        IoReadBytes = s.IoReadBytes;
        IoWriteBytes = s.IoWriteBytes;
        IoReadOps = s.IoReadOps;
        IoWriteOps = s.IoWriteOps;
        CpuPressure = s.CpuPressure;
        MemoryPressure = s.MemoryPressure;
        IoPressure = s.IoPressure;
        if (previous is not null && previous.CpuUsage is TimeSpan before && CpuUsage is TimeSpan now && Timestamp > previous.Timestamp)
        {
            // CPU time used per wall-clock time between the two samples, as docker stats counts it: 100 = one CPU.
            CpuPercent = Math.Round(100.0 * (now - before).Ticks / (Timestamp - previous.Timestamp).Ticks, 2);
        }
    }

    private static TimeSpan? Time(long? ns) => ns is long n ? TimeSpan.FromTicks(n / 100) : null;

    public string Name { get; }
    public string CGroupPath { get; }
    public DateTime Timestamp { get; }
    public long? MemoryUsage { get; }
    public long? MemoryPeak { get; }
    public long? MemoryLimit { get; }
    public long? MemoryCache { get; }
    public long? MemoryRss { get; }
    public long? MemorySwap { get; }
    public long? OomEvents { get; }
    public long? OomKills { get; }
    public TimeSpan? CpuUsage { get; }
    public TimeSpan? CpuUser { get; }
    public TimeSpan? CpuSystem { get; }
    /// <summary>CPU used between this sample and the previous one, in percent of one CPU (150 = 1.5 CPUs); null for a first sample.</summary>
    public double? CpuPercent { get; }
    public long? CpuThrottledPeriods { get; }
    public TimeSpan? CpuThrottledTime { get; }
    public long? PidsCurrent { get; }
    public long? PidsLimit { get; }
    public long? IoReadBytes { get; }
    public long? IoWriteBytes { get; }
    public long? IoReadOps { get; }
    public long? IoWriteOps { get; }
    public PressureInfo? CpuPressure { get; }
    public PressureInfo? MemoryPressure { get; }
    public PressureInfo? IoPressure { get; }

    /// <summary>Bytes the container wrote into its writable layer (blocks allocated); null without an image.</summary>
    public long? DiskUsage { get; }

    /// <summary>Files, folders and links in the writable layer; null without an image.</summary>
    public long? InodesUsed { get; }

    /// <summary>The layer's -DiskLimit in bytes (the size of its filesystem image); null without a limit.</summary>
    public long? DiskLimit { get; }

    /// <summary>Bytes the container received on its interfaces (loopback not counted); null with the host's network.</summary>
    public long? NetworkRxBytes { get; }

    /// <summary>Bytes the container sent; null with the host's network.</summary>
    public long? NetworkTxBytes { get; }

    public long? NetworkRxPackets { get; }

    public long? NetworkTxPackets { get; }

    /// <summary>Packets dropped on the way in (a bandwidth limit's drops are counted by its qdiscs, on the host).</summary>
    public long? NetworkRxDropped { get; }

    public long? NetworkTxDropped { get; }

    /// <summary>Inodes the layer's filesystem holds for the container (with a disk limit: -InodeLimit rounded up by ext4, or its default); null without a limit.</summary>
    public long? InodeLimit { get; }
}
