namespace PSContainers.CGroups.V2;

/// <summary>cgroup.kill (Linux 5.14): one write kills the whole subtree; cgroup.events says when the last one is gone.</summary>
internal sealed class V2Kill : IKernelKill
{
    private readonly CGroupTree _tree;

    public V2Kill(CGroupTree tree) => _tree = tree;

    public bool KillAll(string path, TimeSpan wait, CancellationToken cancel, Action<string>? log)
    {
        if (path == "/" || !_tree.HasFile(path, "cgroup.kill") || _tree.TryWrite(path, "cgroup.kill", "1") != 0)
        {
            return false;
        }
        log?.Invoke($"wrote '1' to {_tree.FullPath(path, "cgroup.kill")}");
        // The kernel says when the last one is gone: wait for that notice, not by polling.
        _tree.WaitUnpopulated(path, wait, cancel);
        return true;
    }
}
