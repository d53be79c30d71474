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
public sealed record ContainerEvent(string Name, DateTime Time, string Event, string? Details);

/// <summary>What New-Container was asked for; stored in the depot as spec.json (only Properties change later).</summary>
public sealed record ContainerSpec
{
    public string Name { get; init; } = "";

    public string? Group { get; init; }

    /// <summary>The program, absolute (resolved at creation; inside RootPath when one is given).</summary>
    public string FilePath { get; init; } = "";

    public string[] ArgumentList { get; init; } = Array.Empty<string>();

    public ContainerIsolation Isolation { get; init; } = ContainerIsolation.Default;

    public string? Hostname { get; init; }

    public string WorkingDirectory { get; init; } = "/";

    /// <summary>The complete environment of the main process.</summary>
    public Dictionary<string, string> Environment { get; init; } = new();

    /// <summary>The user as given (name or uid[:gid]), and what it resolved to.</summary>
    public string? User { get; init; }

    public int Uid { get; init; }

    public int Gid { get; init; }

    public int[] Groups { get; init; } = Array.Empty<int>();

    public string? RootPath { get; init; }

    /// <summary>rlimits by name (nofile, nproc, …): soft and hard; -1 = unlimited.</summary>
    public Dictionary<string, RLimitValue> ResourceLimits { get; init; } = new();

    public Dictionary<string, string> Properties { get; init; } = new();

    public CGroupLimits Limits { get; init; } = new();

    public bool KeepCGroup { get; init; }

    /// <summary>Absolute cgroup path: /&lt;root&gt;[/&lt;group&gt;]/&lt;name&gt;.</summary>
    public string CGroupPath { get; init; } = "";

    public DateTime CreatedTime { get; init; }
}

public sealed record RLimitValue(long Soft, long Hard);

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

    public string? Hostname { get; internal set; }

    public Dictionary<string, string> Properties { get; internal set; } = new();

    /// <summary>The depot directory that is this container's source of truth.</summary>
    public string DepotPath { get; internal set; } = "";

    public ContainerSpec Spec { get; internal set; } = new();

    public override string ToString() => Name;
}
