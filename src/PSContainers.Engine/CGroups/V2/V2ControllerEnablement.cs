using PSContainers.Native;

namespace PSContainers.CGroups.V2;

/// <summary>
/// cgroup2 hands controllers down: a cgroup has those in its cgroup.controllers, which its parent enabled in
/// cgroup.subtree_control. The project enables its own below its root, never above.
/// </summary>
internal sealed class V2ControllerEnablement : IControllerEnablement
{
    /// <summary>v2 controllers enabled in subtree_control below the project's root.</summary>
    private static readonly string[] Enable = { "cpuset", "cpu", "io", "memory", "pids" };

    private readonly CGroupTree _tree;
    private readonly string _projectRoot;

    public V2ControllerEnablement(CGroupTree tree, string projectRoot)
    {
        _tree = tree;
        _projectRoot = projectRoot;
    }

    /// <summary>The root has every controller of the mount; any other cgroup those in its cgroup.controllers.</summary>
    public HashSet<string> EnabledIn(string path, IReadOnlyList<string> controllers)
    {
        var available = path == "/"
            ? new HashSet<string>(_tree.Mount.Controllers)
            : new HashSet<string>((_tree.TryRead(path, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < controllers.Count; i++)
        {
            if (available.Contains(controllers[i]))
            {
                set.Add(controllers[i]);
            }
        }
        return set;
    }

    /// <summary>Enables the project's controllers in a parent's subtree_control (only at or below the root).</summary>
    public void EnableForChildren(string parent, Action<string>? log)
    {
        if (!CGroupPath.IsAtOrBelow(parent, _projectRoot))
        {
            return; // never write above the root; what the machine delegates is what we get
        }
        var available = (_tree.TryRead(parent, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var enabled = (_tree.TryRead(parent, "cgroup.subtree_control") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        string[] missing = Enable.Where(c => available.Contains(c) && !enabled.Contains(c)).ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        string value = string.Join(' ', missing.Select(c => "+" + c));
        int err = _tree.TryWrite(parent, "cgroup.subtree_control", value);
        if (err != 0)
        {
            string? hint = err == Errno.EBUSY
                ? $"'{parent}' has processes of its own; cgroup v2 lets only cgroups without processes enable controllers for children (the no-internal-process rule)."
                : null;
            throw PscException.FromErrno("CGroupWrite", err, _tree.FullPath(parent, "cgroup.subtree_control"), value, hint);
        }
        log?.Invoke($"wrote '{value}' to {_tree.FullPath(parent, "cgroup.subtree_control")}");
    }
}
