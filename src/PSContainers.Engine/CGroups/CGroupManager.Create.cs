using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.CGroups;

/// <summary>Creating cgroups in every writable hierarchy, and moving processes into them.</summary>
public sealed partial class CGroupManager
{
    /// <summary>
    /// Creates the cgroup (and missing parents below the root) in every hierarchy the project uses, then sets
    /// the limits. On any failure everything created is removed again.
    /// </summary>
    public CGroup Create(string path, CGroupLimits? limits = null)
    {
        Make(path, limits, readOld: true);
        return Get(path);
    }

    /// <summary>
    /// <see cref="Create"/> without reading the new cgroup back: a container's creation has no use for its usage and
    /// process lists (~100 reads over 8 hierarchies on a hybrid host), nor for the old values of its limits
    /// (<see cref="WriteLimits"/>).
    /// </summary>
    internal void Make(string path, CGroupLimits? limits, bool readOld = false)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, "create");
        if (Exists(path))
        {
            throw new PscException("CGroupExists", ErrorKind.ResourceExists, $"The cgroup '{path}' already exists.", path);
        }
        foreach (string part in CGroupPath.Components(path).Skip(CGroupPath.Components(ProjectRoot).Length))
        {
            CGroupPath.CheckNewName(part, path);
        }
        limits ??= new CGroupLimits();
        var online = _onlineCpus();
        limits.Validate(online.Count, online);

        var created = new List<(CGroupTree Tree, string Path)>();
        try
        {
            string[] parts = CGroupPath.Components(path);
            string[] rootParts = CGroupPath.Components(ProjectRoot);
            foreach (TreeWorkers w in _w.WritableWorkers)
            {
                CGroupTree tree = w.Tree;
                string current = "/";
                for (int i = 0; i < parts.Length; i++)
                {
                    string parent = current;
                    current = CGroupPath.Combine(current, parts[i]);
                    if (tree.Exists(current))
                    {
                        continue;
                    }
                    if (i + 1 < rootParts.Length)
                    {
                        // The root's own parents belong to the machine: never create them.
                        throw new PscException("CGroupParentMissing", ErrorKind.ObjectNotFound,
                            $"Cannot create '{path}': its parent '{current}' does not exist in {tree.FullPath("/")} and lies outside the project's root.", current);
                    }
                    w.Enablement.EnableForChildren(parent, Log);
                    int err = tree.TryMkdir(current);
                    if (err != 0 && err != Errno.EEXIST)
                    {
                        string? hint = err is Errno.EACCES or Errno.EPERM
                            ? Sys.EffectiveUid == 0
                                ? "Creating cgroups needs CAP_SYS_ADMIN."
                                : $"Without root, cgroups can only be created in a cgroup v2 subtree delegated to uid {Sys.EffectiveUid}: root creates it, chowns it to you (as systemd's Delegate= does), and you set {CGroupPath.RootVariable} to it."
                            : null;
                        throw PscException.FromErrno("CGroupCreate", err, tree.FullPath(current), null, hint);
                    }
                    if (err == 0)
                    {
                        created.Add((tree, current));
                        Log?.Invoke($"created {tree.FullPath(current)}");
                    }
                    w.Cpuset?.Inherit(parent, current, Log);
                }
            }
            if (!limits.IsEmpty)
            {
                WriteLimits(path, limits, readOld);
            }
        }
        catch
        {
            for (int i = created.Count - 1; i >= 0; i--)
            {
                created[i].Tree.TryRmdir(created[i].Path);
            }
            throw;
        }
    }

    /// <summary>Moves a process into the cgroup in every hierarchy; on failure it is moved back where it was.</summary>
    public void MoveProcess(int pid, string path)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, "move a process into");
        RequireExists(path);
        if (pid <= 0)
        {
            throw PscException.Invalid("InvalidProcessId", $"{pid} is not a process id.", pid);
        }
        ProcStat stat = ProcStat.Read(pid)
            ?? throw new PscException("ProcessNotFound", ErrorKind.ObjectNotFound, $"Cannot move process {pid}: no process has that id (ESRCH).", pid, Errno.ESRCH);
        if (stat.IsKernelThread)
        {
            throw new PscException("MoveKernelThread", ErrorKind.InvalidArgument,
                $"Cannot move process {pid} ({stat.Command}): it is a kernel thread, which the kernel keeps in the root cgroup (EINVAL).", pid, Errno.EINVAL);
        }
        if (pid == 1)
        {
            // The kernel would allow it, but a limit or a kill of the cgroup would then reach the machine's init.
            throw new PscException("MoveInitProcess", ErrorKind.InvalidOperation,
                $"Cannot move process 1 ({stat.Command}): it is the init of this PID namespace, and limits or a forced removal of '{path}' would reach it.", pid);
        }
        var before = CurrentPaths(pid);
        var moved = new List<CGroupTree>();
        // pids first: it is the move most likely to be refused (pids.max reached).
        foreach (CGroupTree tree in _w.Writable.OrderBy(t => t.Mount.Controllers.Contains("pids") ? 0 : 1))
        {
            if (!tree.Exists(path))
            {
                continue;
            }
            int err = WriteProcs(tree, path, pid);
            if (err != 0)
            {
                foreach (CGroupTree t in moved)
                {
                    if (before.TryGetValue(t, out string? old))
                    {
                        WriteProcs(t, old, pid);
                    }
                }
                if (err == Errno.ESRCH)
                {
                    throw new PscException("ProcessNotFound", ErrorKind.ObjectNotFound, $"Cannot move process {pid}: it exited (ESRCH).", pid, err);
                }
                throw PscException.FromErrno("CGroupMove", err, tree.FullPath(path, "cgroup.procs"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    null);
            }
            Log?.Invoke($"wrote '{pid}' to {tree.FullPath(path, "cgroup.procs")}");
            moved.Add(tree);
        }
    }

    /// <summary>Writes a pid to cgroup.procs, retrying EINVAL briefly (a cgroup that was just created, a task mid-exit).</summary>
    private static int WriteProcs(CGroupTree tree, string path, int pid)
    {
        string value = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int err = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            err = tree.TryWrite(path, "cgroup.procs", value);
            if (err != Errno.EINVAL)
            {
                return err;
            }
            Thread.Sleep(10 << attempt);
        }
        return err;
    }
}
