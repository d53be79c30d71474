using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>Removing cgroups from every writable hierarchy: one rmdir each in the common case, EBUSY retried otherwise.</summary>
public sealed partial class CGroupManager
{
    /// <summary>
    /// Removes the cgroup from every hierarchy. -Recurse removes descendants first; -Force kills processes
    /// first. rmdir's EBUSY is retried with backoff until <paramref name="timeout"/>, then reported.
    /// </summary>
    public void Remove(string path, bool recurse, bool force, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, "remove");
        RequireExists(path);
        if (recurse && force && TryRemoveEmpty(path))
        {
            return;
        }
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        var children = ChildPaths(path);
        if (children.Count > 0 && !recurse)
        {
            throw new PscException("CGroupHasChildren", ErrorKind.ResourceBusy,
                $"Cannot remove '{path}': it has child cgroups ({string.Join(", ", children.Take(5))}). Use -Recurse.", path);
        }
        if (force)
        {
            Kill(path, limit, cancel);
        }
        else
        {
            var pids = SubtreeProcessIds(path);
            if (pids.Count > 0)
            {
                throw new PscException("CGroupNotEmpty", ErrorKind.ResourceBusy,
                    $"Cannot remove '{path}': {(pids.Count == 1 ? "process" : "processes")} {string.Join(", ", pids.Take(10))} {(pids.Count == 1 ? "is" : "are")} still in it. Use -Force to kill them.", path);
            }
        }
        RemoveDirectories(path, limit, cancel);
    }

    /// <summary>
    /// The common case of removing a container: nothing runs in or below the cgroup (the cgroup2 tree sees every
    /// process, on a hybrid host too) and it has no children, so one rmdir per hierarchy is all there is to do -
    /// no listing of children or processes. False, with whatever was removed removed, when a hierarchy refuses
    /// (children, a process in a v1-only child), or without cgroup.events to say so in one read: the caller's full
    /// procedure (-Recurse -Force) finishes the job.
    /// </summary>
    private bool TryRemoveEmpty(string path)
    {
        if (_w.Notice?.IsPopulated(path) != false)
        {
            return false;
        }
        foreach (CGroupTree tree in _w.Writable)
        {
            int err = tree.TryRmdir(path);
            if (err == 0)
            {
                Log?.Invoke($"removed {tree.FullPath(path)}");
            }
            else if (err != Errno.ENOENT)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>rmdir of the cgroup and its descendants, deepest first, in every hierarchy, EBUSY retried until the limit.</summary>
    internal void RemoveDirectories(string path, TimeSpan limit, CancellationToken cancel = default)
    {
        var sw = Stopwatch.StartNew();
        foreach (string p in Descendants(path).Reverse().Append(path))
        {
            foreach (CGroupTree tree in _w.Writable)
            {
                int first = tree.TryRmdir(p); // the common case: one syscall per hierarchy
                if (first == 0 || first == Errno.ENOENT)
                {
                    if (first == 0)
                    {
                        Log?.Invoke($"removed {tree.FullPath(p)}");
                    }
                    continue;
                }
                _w.FreezerIn(tree)?.ThawIfFrozen(p, Log); // a frozen cgroup can hold dying tasks
                RmdirWithRetry(tree, p, limit - sw.Elapsed, cancel);
            }
        }
    }

    private void RmdirWithRetry(CGroupTree tree, string path, TimeSpan remaining, CancellationToken cancel)
    {
        var sw = Stopwatch.StartNew();
        int delay = 5;
        while (true)
        {
            int err = tree.TryRmdir(path);
            if (err == 0 || err == Errno.ENOENT)
            {
                if (err == 0)
                {
                    Log?.Invoke($"removed {tree.FullPath(path)}");
                }
                return;
            }
            if (err != Errno.EBUSY || sw.Elapsed >= remaining)
            {
                string? hint = err == Errno.EBUSY
                    ? $"It stayed busy for {Math.Max(0, remaining.TotalSeconds):0.#} s: a process in it will not die, or a child cgroup is in use."
                    : err is Errno.EACCES or Errno.EPERM ? "Removing cgroups needs root or CAP_SYS_ADMIN (or a delegated subtree)." : null;
                throw PscException.FromErrno("CGroupRemove", err, tree.FullPath(path), null, hint);
            }
            Pause(delay, cancel);
            delay = Math.Min(delay * 2, 200);
        }
    }
}
