namespace PSContainers.CGroups;

/// <summary>
/// The kernel's own kill of a whole cgroup: v2 cgroup.kill (V2/V2Kill.cs). v1 has none; there, and for whatever
/// survives this, <see cref="CGroupManager.Kill"/> freezes, sends SIGKILL to each process and thaws.
/// </summary>
internal interface IKernelKill
{
    /// <summary>
    /// Asks the kernel to kill every process in the cgroup and below, then waits up to <paramref name="wait"/> for its
    /// notice that none is left. False when the kernel cannot kill this cgroup: then nothing was done.
    /// </summary>
    bool KillAll(string path, TimeSpan wait, CancellationToken cancel, Action<string>? log);
}
