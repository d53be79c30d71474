namespace PSContainers.Containers;

public enum ContainerProcessState
{
    Running,
    Exited,
}

/// <summary>
/// One process of a container (Garden's Process): its main program (Id "main") or one started with
/// Start-ContainerProcess, read from its record in the depot (processes/&lt;id&gt;/) and the live kernel.
/// </summary>
public sealed class ContainerProcess
{
    /// <summary>The Id of a container's own program.</summary>
    public const string MainId = "main";

    public string ContainerName { get; internal set; } = "";

    /// <summary>"main", or a number unique in the container, given in order of start.</summary>
    public string Id { get; internal set; } = "";

    /// <summary>Host pid while it runs.</summary>
    public int? Pid { get; internal set; }

    public string FilePath { get; internal set; } = "";

    public string[] ArgumentList { get; internal set; } = Array.Empty<string>();

    public ContainerProcessState State { get; internal set; }

    /// <summary>The exit code, 128+n when signal n ended it; null while it runs, or when nothing saw it end.</summary>
    public int? ExitCode { get; internal set; }

    public int? Signal { get; internal set; }

    public DateTime? StartTime { get; internal set; }

    public DateTime? ExitTime { get; internal set; }

    public bool Tty { get; internal set; }

    public string? WorkingDirectory { get; internal set; }

    public string? User { get; internal set; }

    /// <summary>
    /// False for a process found in the container's cgroup that was not started through the module (moved in with
    /// Move-Process, or forked by one that was): Get-ContainerProcess -IncludeUntracked. It has no Id and no record.
    /// </summary>
    public bool Tracked { get; internal set; } = true;

    public override string ToString() => $"{ContainerName}/{Id}";
}

/// <summary>What the depot keeps of a started process (processes/&lt;id&gt;/spec.json): never its environment.</summary>
internal sealed record ProcessSpec
{
    public string Id { get; init; } = "";
    public string FilePath { get; init; } = "";
    public string[] ArgumentList { get; init; } = Array.Empty<string>();
    public string? WorkingDirectory { get; init; }
    public string? User { get; init; }
    public bool Tty { get; init; }
    public DateTime CreatedTime { get; init; }
}
