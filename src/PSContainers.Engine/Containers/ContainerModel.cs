using System.Globalization;
using PSContainers.CGroups;

namespace PSContainers.Containers;

/// <summary>Namespaces a container gets. The default is Pid, Mount, Uts and Ipc.</summary>
[Flags]
public enum ContainerIsolation
{
    None = 0,
    Pid = 1,
    Mount = 2,
    Uts = 4,
    Ipc = 8,
    Network = 16,
    User = 32,
    CGroup = 64,
    Default = Pid | Mount | Uts | Ipc,
}

public enum ContainerState
{
    /// <summary>In the depot with its cgroup; never started.</summary>
    Created,
    Running,
    /// <summary>Running, with its cgroup frozen.</summary>
    Paused,
    Exited,
}

/// <summary>One line of a container's event log.</summary>
public sealed record ContainerEvent(string Name, DateTime Time, string Event, string? Details)
{
    /// <summary>"2026-11-22 23:50:38.932Z api started init=15420 main=15421": the time in UTC, as the log keeps it.</summary>
    public override string ToString() =>
        $"{Time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)} {Name} {Event}{(string.IsNullOrEmpty(Details) ? "" : " " + Details)}";
}

/// <summary>What New-Container was asked for; stored in the depot as spec.json (only Properties change later).</summary>
public sealed record ContainerSpec
{
    public string Name { get; init; } = "";

    public string? Group { get; init; }

    /// <summary>The program, absolute (resolved at creation; inside RootPath when one is given); empty for a sandbox.</summary>
    public string FilePath { get; init; } = "";

    public string[] ArgumentList { get; init; } = Array.Empty<string>();

    /// <summary>No program: the container's init holds it open until Stop-Container; Start-ContainerProcess runs its processes.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsSandbox => FilePath.Length == 0;

    public ContainerIsolation Isolation { get; init; } = ContainerIsolation.Default;

    /// <summary>-Network: Host, None, Private or Bridge (its address, ports and rules are in the entry's network.json).</summary>
    public ContainerNetwork Network { get; init; } = ContainerNetwork.Host;

    public string? Hostname { get; init; }

    public string WorkingDirectory { get; init; } = "/";

    /// <summary>The complete environment of the main process.</summary>
    public Dictionary<string, string> Environment { get; init; } = new();

    /// <summary>The user as given (name or uid[:gid]), and what it resolved to.</summary>
    public string? User { get; init; }

    public int Uid { get; init; }

    public int Gid { get; init; }

    public int[] Groups { get; init; } = Array.Empty<int>();

    /// <summary>
    /// The container's root as the host sees it: the folder given with -RootPath, or for an image container the
    /// merged overlay of its writable layer (layers/&lt;name&gt;/merged in the image store), mounted from create to remove.
    /// </summary>
    public string? RootPath { get; init; }

    /// <summary>The image the root was made from (New-Container -Image), or null.</summary>
    public string? Image { get; init; }

    /// <summary>The image store the image and the writable layer are in (full path), with an image or a disk limit.</summary>
    public string? StorePath { get; init; }

    /// <summary>Bytes the writable layer may hold (-DiskLimit), or null for no limit.</summary>
    public long? DiskLimit { get; init; }

    /// <summary>Files and folders the writable layer may hold (-InodeLimit), or null for no limit.</summary>
    public long? InodeLimit { get; init; }

    /// <summary>rlimits by name (nofile, nproc, …): soft and hard; -1 = unlimited.</summary>
    public Dictionary<string, RLimitValue> ResourceLimits { get; init; } = new();

    public Dictionary<string, string> Properties { get; init; } = new();

    public CGroupLimits Limits { get; init; } = new();

    public bool KeepCGroup { get; init; }

    /// <summary>Absolute cgroup path: /&lt;root&gt;[/&lt;group&gt;]/&lt;name&gt;.</summary>
    public string CGroupPath { get; init; } = "";

    public DateTime CreatedTime { get; init; }

    /// <summary>
    /// What was asked for, in one line a person can read and a shell could run: the command line quoted as sh would
    /// need it, then what differs from the defaults, and the limits with their units, e.g.
    /// "/bin/sh -c 'echo hi' | isolation Pid, Mount, Uts, Ipc | user app (1000:1000) | memory 256 MB, 0.5 CPUs, 100 pids".
    /// </summary>
    public override string ToString()
    {
        var parts = new List<string> { CommandLine(FilePath, ArgumentList), $"isolation {Isolation}" };
        if (Network != ContainerNetwork.Host)
        {
            parts.Add($"network {Network}");
        }
        if (User is not null)
        {
            parts.Add($"user {User} ({Uid}:{Gid})");
        }
        if (RootPath is not null)
        {
            parts.Add($"root {RootPath}");
        }
        if (WorkingDirectory != "/")
        {
            parts.Add($"cwd {WorkingDirectory}");
        }
        if (Hostname is not null && Hostname != Name)
        {
            parts.Add($"hostname {Hostname}");
        }
        string limits = Describe(Limits);
        if (limits.Length > 0)
        {
            parts.Add(limits);
        }
        if (ResourceLimits.Count > 0)
        {
            parts.Add("rlimits " + string.Join(", ", ResourceLimits.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}={r.Value}")));
        }
        if (KeepCGroup)
        {
            parts.Add("keeps its cgroup");
        }
        return string.Join(" | ", parts);
    }

    /// <summary>The program and its arguments, each quoted for sh when it needs it ('it'\''s').</summary>
    public static string CommandLine(string filePath, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { filePath }.Concat(arguments).Select(Quote));

    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The limits that are set, with units: "memory 256 MB, swap+memory 512 MB, 0.5 CPUs, weight 50, CPUs 0-1, 100 pids".</summary>
    private static string Describe(CGroupLimits l)
    {
        static string Bytes(long b) => b == -1 ? "max"
            : b % (1L << 30) == 0 ? $"{b >> 30} GB"
            : b % (1L << 20) == 0 ? $"{b >> 20} MB"
            : b % (1L << 10) == 0 ? $"{b >> 10} KB"
            : $"{b} bytes";
        var parts = new List<string>();
        if (l.MemoryLimit is long m)
        {
            parts.Add($"memory {Bytes(m)}");
        }
        if (l.MemorySwapLimit is long s)
        {
            parts.Add($"memory+swap {Bytes(s)}");
        }
        if (l.CpuLimit is double c)
        {
            parts.Add(c == -1 ? "CPUs max" : $"{c.ToString(CultureInfo.InvariantCulture)} CPUs");
        }
        if (l.CpuWeight is int w)
        {
            parts.Add(w == -1 ? "weight default" : $"weight {w}");
        }
        if (l.CpuSet is string set)
        {
            parts.Add($"cpuset {set}");
        }
        if (l.PidsLimit is long p)
        {
            parts.Add(p == -1 ? "pids max" : $"{p} pids");
        }
        return string.Join(", ", parts);
    }
}

/// <summary>An rlimit's soft and hard value; -1 = unlimited.</summary>
public sealed record RLimitValue(long Soft, long Hard)
{
    /// <summary>"1024:524288", as -ResourceLimit takes it; "unlimited" for -1.</summary>
    public override string ToString()
    {
        static string V(long v) => v == -1 ? "unlimited" : v.ToString(CultureInfo.InvariantCulture);
        return $"{V(Soft)}:{V(Hard)}";
    }
}

/// <summary>A container as the pipeline sees it: what the depot says, checked against the live kernel.</summary>
public sealed class Container
{
    public string Name { get; internal set; } = "";

    public ContainerState State { get; internal set; }

    /// <summary>Host pid of the main process (the user's program), while it runs.</summary>
    public int? Pid { get; internal set; }

    /// <summary>Host pid of psc-init, the container's PID 1.</summary>
    public int? InitPid { get; internal set; }

    /// <summary>The exit code; 128+n when a signal n ended the main process.</summary>
    public int? ExitCode { get; internal set; }

    public int? Signal { get; internal set; }

    public bool OomKilled { get; internal set; }

    public DateTime? StartTime { get; internal set; }

    public DateTime? ExitTime { get; internal set; }

    public DateTime CreatedTime { get; internal set; }

    public string CGroupPath { get; internal set; } = "";

    public string? Group { get; internal set; }

    public string FilePath { get; internal set; } = "";

    public string[] ArgumentList { get; internal set; } = Array.Empty<string>();

    public ContainerIsolation Isolation { get; internal set; }

    /// <summary>Host, None, Private or Bridge.</summary>
    public ContainerNetwork Network { get; internal set; }

    /// <summary>The container's address on the bridge (-Network Bridge), else null.</summary>
    public string? IPAddress { get; internal set; }

    /// <summary>The bridge's address, the container's default route (-Network Bridge), else null.</summary>
    public string? Gateway { get; internal set; }

    /// <summary>Published ports: host port, container port, protocol.</summary>
    public PortMapping[] MappedPorts { get; internal set; } = Array.Empty<PortMapping>();

    /// <summary>Egress rules, newest (first matched) first.</summary>
    public ContainerNetRule[] NetworkRules { get; internal set; } = Array.Empty<ContainerNetRule>();

    /// <summary>Networks the container may not reach unless a rule allows it (-DenyNetwork).</summary>
    public string[] DenyNetworks { get; internal set; } = Array.Empty<string>();

    /// <summary>Bytes per second each way (-BandwidthLimit), else null.</summary>
    public long? BandwidthLimit { get; internal set; }

    public string? Hostname { get; internal set; }

    public Dictionary<string, string> Properties { get; internal set; } = new();

    /// <summary>The depot directory that is this container's source of truth.</summary>
    public string DepotPath { get; internal set; } = "";

    public ContainerSpec Spec { get; internal set; } = new();

    public override string ToString() => Name;
}
