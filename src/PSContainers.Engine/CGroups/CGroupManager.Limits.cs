using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>Limits: planned by the drivers of the hierarchies that serve each controller, written all or nothing.</summary>
public sealed partial class CGroupManager
{
    /// <summary>The writes <see cref="SetLimits"/> would make, with the current values, without changing anything.</summary>
    public IReadOnlyList<CGroupWrite> PlanLimits(string path, CGroupLimits limits)
    {
        RequireExists(path);
        CGroupPath.RequireWritable(path, ProjectRoot, "set limits on");
        return Plan(path, limits).Select(w => new CGroupWrite(w.Tree.FullPath(w.Path, w.File), w.Tree.TryRead(w.Path, w.File), w.Value)).ToArray();
    }

    private List<PlannedWrite> Plan(string path, CGroupLimits limits)
    {
        var online = _onlineCpus();
        limits.Validate(online.Count, online);
        var controllers = ControllersOf(path);
        var writes = new List<PlannedWrite>();
        foreach (var (w, set) in controllers)
        {
            writes.AddRange(w.Limits.Plan(path, limits, set));
        }
        // A limit no hierarchy can take is an error, not a silent no-op.
        var served = controllers.SelectMany(c => c.Controllers).ToHashSet();
        void Need(bool asked, string controller, string what)
        {
            if (asked && !served.Contains(controller))
            {
                ILimitDriver? driver = _w.ByController.TryGetValue(controller, out TreeWorkers? w) ? w.Limits : null;
                if (Sys.EffectiveUid != 0 && driver?.CanBeDelegated != true)
                {
                    throw new PscException("ControllerNotDelegated," + controller, ErrorKind.PermissionDenied,
                        $"Cannot set {what} on '{path}' as uid {Sys.EffectiveUid}: limits without root need a cgroup v2 subtree delegated to you with the {controller} controller " +
                        $"(root creates it, enables {controller} in its parent's cgroup.subtree_control and chowns it to you, as systemd's Delegate= does). " +
                        $"This host serves {controller} only through cgroup v1, which cannot be delegated.", path);
                }
                string where = driver?.WhereUnavailable(path, controller) ?? "no mounted hierarchy carries it";
                throw new PscException("ControllerUnavailable," + controller, ErrorKind.NotImplemented,
                    $"Cannot set {what} on '{path}': the {controller} controller is not available ({where}).", path);
            }
        }
        Need(limits.MemoryLimit is not null || limits.MemorySwapLimit is not null, "memory", "a memory limit");
        Need(limits.CpuLimit is not null || limits.CpuWeight is not null, "cpu", "a CPU limit");
        Need(limits.CpuSet is not null, "cpuset", "a CPU set");
        Need(limits.PidsLimit is not null, "pids", "a pids limit");
        return writes;
    }

    /// <summary>
    /// Writes the limits. All or nothing: when one write fails, the ones already made are put back.
    /// Returns what was written (file, old value, new value).
    /// </summary>
    public IReadOnlyList<CGroupWrite> SetLimits(string path, CGroupLimits limits)
    {
        RequireExists(path);
        CGroupPath.RequireWritable(path, ProjectRoot, "set limits on");
        return WriteLimits(path, limits, readOld: true);
    }

    /// <summary>
    /// The writes of <see cref="SetLimits"/>. With <paramref name="readOld"/> each old value is read first, for the
    /// verbose record and to put it back when a later write fails; a cgroup a container's creation has just made
    /// needs neither (on failure it is removed), which spares a read per limit.
    /// </summary>
    private IReadOnlyList<CGroupWrite> WriteLimits(string path, CGroupLimits limits, bool readOld)
    {
        var plan = Plan(path, limits);
        var done = new List<(PlannedWrite Write, string? Old)>();
        foreach (PlannedWrite w in plan)
        {
            string? old = readOld ? w.Tree.TryRead(w.Path, w.File) : null;
            int err = w.Tree.TryWrite(w.Path, w.File, w.Value);
            if (err != 0)
            {
                Rollback(done);
                string? hint = err == Errno.EBUSY && w.File.StartsWith("memory.", StringComparison.Ordinal)
                    ? "The cgroup uses more memory than the new limit and the kernel could not reclaim it."
                    : err == Errno.EINVAL && w.File == "memory.limit_in_bytes"
                        ? "On cgroup v1 the memory limit cannot exceed the memory+swap limit; raise MemorySwapLimit too."
                        : err is Errno.EACCES or Errno.EPERM ? "Changing cgroups needs root or CAP_SYS_ADMIN (or a delegated subtree)." : null;
                throw PscException.FromErrno("CGroupWrite", err, w.Tree.FullPath(w.Path, w.File), w.Value, hint);
            }
            Log?.Invoke(readOld ? $"wrote '{w.Value}' to {w.Tree.FullPath(w.Path, w.File)} (was '{old}')" : $"wrote '{w.Value}' to {w.Tree.FullPath(w.Path, w.File)}");
            done.Add((w, old));
        }
        return done.Select(d => new CGroupWrite(d.Write.Tree.FullPath(d.Write.Path, d.Write.File), d.Old, d.Write.Value)).ToArray();
    }

    private void Rollback(List<(PlannedWrite Write, string? Old)> done)
    {
        for (int i = done.Count - 1; i >= 0; i--)
        {
            var (w, old) = done[i];
            if (old is not null)
            {
                string value = w.File == "cpu.max" ? old : old.Split('\n')[0];
                if (w.Tree.TryWrite(w.Path, w.File, value) == 0)
                {
                    Log?.Invoke($"restored '{value}' to {w.Tree.FullPath(w.Path, w.File)}");
                }
            }
        }
    }
}
