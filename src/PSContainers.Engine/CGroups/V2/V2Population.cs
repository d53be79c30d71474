namespace PSContainers.CGroups.V2;

/// <summary>The "populated" line of cgroup.events: the kernel keeps it for the whole subtree, so one read tells.</summary>
internal sealed class V2Population : IPopulation
{
    private readonly CGroupTree _tree;

    public V2Population(CGroupTree tree) => _tree = tree;

    /// <summary>Null for the root (it has no cgroup.events) and for a cgroup not in the cgroup2 tree.</summary>
    public bool? IsPopulated(string path) =>
        path != "/" && StatFiles.KeyValues(_tree.TryRead(path, "cgroup.events")).TryGetValue("populated", out long p) ? p == 1 : null;
}
