namespace PSContainers.CGroups;

/// <summary>
/// A cgroup as the pipeline sees it. Raw numbers (bytes, CPUs, counts); -1 = unlimited;
/// null = this host cannot tell (controller not mounted or not enabled for this cgroup).
/// </summary>
public sealed class CGroup
{
    /// <summary>Absolute path in the hierarchy, e.g. /pscontainers/web.</summary>
    public string Path { get; internal set; } = "/";

    /// <summary>Name (last component of the path).</summary>
    public string Name => Path == "/" ? "/" : Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>The host's layout: V1, Hybrid or V2.</summary>
    public CGroupLayout Version { get; internal set; }

    /// <summary>Controllers that serve this cgroup (memory, cpu, cpuset, pids, …).</summary>
    public string[] Controllers { get; internal set; } = Array.Empty<string>();

    /// <summary>Processes directly in this cgroup.</summary>
    public int[] ProcessIds { get; internal set; } = Array.Empty<int>();

    /// <summary>True when this cgroup or a descendant has a process.</summary>
    public bool? Populated { get; internal set; }

    public bool? Frozen { get; internal set; }

    public long? MemoryLimit { get; internal set; }

    /// <summary>Memory plus swap, as runc counts it; -1 unlimited.</summary>
    public long? MemorySwapLimit { get; internal set; }

    public long? MemoryUsage { get; internal set; }

    public long? MemoryPeak { get; internal set; }

    /// <summary>CPUs (1.5 = one and a half); -1 unlimited.</summary>
    public double? CpuLimit { get; internal set; }

    public int? CpuWeight { get; internal set; }

    public string? CpuSet { get; internal set; }

    public long? PidsLimit { get; internal set; }

    public long? PidsCurrent { get; internal set; }

    /// <summary>True when the cgroup is at or below the project's root, so PSContainers may change it.</summary>
    public bool IsManaged { get; internal set; }

    public override string ToString() => Path;
}

/// <summary>One planned or done write to a control file (for -WhatIf, -Verbose and rollback).</summary>
public sealed record CGroupWrite(string File, string? OldValue, string NewValue)
{
    public override string ToString() => $"{File}: {OldValue ?? "(unset)"} -> {NewValue}";
}
