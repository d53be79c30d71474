using System.Text.Json.Serialization;

namespace PSContainers.Containers;

/// <summary>
/// state.json, written by psc-init just before the program is told to run: who runs the container, with start times
/// so a reused pid is never taken for it. A start that fails after it removes it again.
/// </summary>
public sealed record ContainerRuntimeState
{
    public int InitPid { get; init; }

    public ulong InitStartTicks { get; init; }

    public int MainPid { get; init; }

    public ulong MainStartTicks { get; init; }

    public string BootId { get; init; } = "";

    public long StartTimeUnixNs { get; init; }

    [JsonIgnore]
    public DateTime StartTime => DateTime.UnixEpoch.AddTicks(StartTimeUnixNs / 100);
}
