namespace PSContainers.CGroups.V1;

/// <summary>
/// Without cgroup.events only a listing tells: a process in cgroup.procs of the cgroup or of a descendant, in any of
/// the hierarchies given (a process may have been moved in one of them only).
/// </summary>
internal sealed class V1Population : IPopulation
{
    private readonly IReadOnlyList<CGroupTree> _trees;

    public V1Population(IReadOnlyList<CGroupTree> trees) => _trees = trees;

    public bool? IsPopulated(string path) => _trees.Any(t => Populated(t, path));

    private static bool Populated(CGroupTree tree, string path) =>
        tree.Procs(path).Count > 0 || tree.Children(path).Any(child => Populated(tree, CGroupPath.Combine(path, child)));
}
