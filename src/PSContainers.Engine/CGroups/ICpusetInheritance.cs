namespace PSContainers.CGroups;

/// <summary>
/// What a new cpuset cgroup takes from its parent. v1 children start with no CPUs and no memory nodes, so they are
/// copied (V1/V1CpusetInheritance.cs); v2 children inherit by themselves and have no implementation.
/// </summary>
internal interface ICpusetInheritance
{
    /// <summary>Gives the just made <paramref name="child"/> what it needs from <paramref name="parent"/> before a process can join it.</summary>
    void Inherit(string parent, string child, Action<string>? log);
}
