namespace PSContainers.CGroups;

/// <summary>
/// Which controllers a cgroup has: v2 hands them down through each parent's cgroup.subtree_control; in a v1 hierarchy
/// every cgroup has the hierarchy's controllers and there is nothing to enable.
/// </summary>
internal interface IControllerEnablement
{
    /// <summary>The ones of <paramref name="controllers"/> (this hierarchy's) that serve the cgroup.</summary>
    HashSet<string> EnabledIn(string path, IReadOnlyList<string> controllers);

    /// <summary>Before a child of <paramref name="parent"/> is made: enables the project's controllers for it, where that is needed and allowed.</summary>
    void EnableForChildren(string parent, Action<string>? log);
}
