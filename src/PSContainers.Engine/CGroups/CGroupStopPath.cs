namespace PSContainers.CGroups;

/// <summary>How <see cref="CGroupManager.Kill"/> stops a cgroup's processes; given to the manager when it is made.</summary>
internal enum CGroupStopPath
{
    /// <summary>cgroup.kill where the kernel has it, else freeze → SIGKILL each → thaw; the cgroup2 freezer first.</summary>
    Default,

    /// <summary>
    /// As on a host without cgroup2: no cgroup.kill, and freezing through the v1 freezer where the cgroup has one. So the
    /// benchmark and tests can time and test freeze → SIGKILL each → thaw through freezer.state on a hybrid host, which
    /// otherwise always has cgroup.kill and cgroup.freeze.
    /// </summary>
    AsV1,
}
