namespace PSContainers.CGroups;

/// <summary>
/// Whether any process is left in a cgroup or below: v2 keeps the answer in cgroup.events, one read
/// (V2/V2Population.cs); v1 can tell only by listing cgroup.procs down the subtree (V1/V1Population.cs).
/// </summary>
internal interface IPopulation
{
    /// <summary>True when a process is in the cgroup or below, false when none is, null when this cannot tell for the cgroup.</summary>
    bool? IsPopulated(string path);
}
