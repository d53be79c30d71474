namespace PSContainers.CGroups;

/// <summary>Freezing and thawing a cgroup: v2 cgroup.freeze and cgroup.events (V2/V2Freezer.cs), v1 freezer.state (V1/V1Freezer.cs).</summary>
internal interface IFreezer
{
    CGroupTree Tree { get; }

    /// <summary>True when this freezer can freeze the cgroup (v2: it has cgroup.freeze; v1: it is in the freezer hierarchy).</summary>
    bool CanFreeze(string path);

    /// <summary>The state one read gives: true frozen, false thawed, null when this freezer cannot tell for the cgroup.</summary>
    bool? IsFrozen(string path);

    /// <summary>Asks the kernel to freeze or thaw the cgroup and waits until it reports that state (FreezeTimeout after <paramref name="timeout"/>).</summary>
    void SetFrozen(string path, bool frozen, TimeSpan timeout, Action<string>? log);

    /// <summary>Thaws the cgroup when it is frozen or freezing, without waiting (one read when it is not).</summary>
    void ThawIfFrozen(string path, Action<string>? log);
}
