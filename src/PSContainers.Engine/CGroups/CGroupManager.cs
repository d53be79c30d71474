using System.Diagnostics;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.CGroups;

/// <summary>
/// The cgroup toolkit: create, read, limit, move into, freeze, kill and remove cgroups on v1, hybrid and v2
/// hosts. Reading works anywhere; every change is refused outside the project's root.
/// </summary>
public sealed class CGroupManager : IDisposable
{
    /// <summary>The controllers the project uses (v1 names; "io" is v2's blkio).</summary>
    private static readonly string[] Used = { "memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "io" };

    /// <summary>v2 controllers enabled in subtree_control below the project's root.</summary>
    private static readonly string[] V2Enable = { "cpuset", "cpu", "io", "memory", "pids" };

    private readonly List<CGroupTree> _trees = new();
    private readonly List<CGroupTree> _writable = new();
    private readonly Dictionary<string, IControllerDriver> _drivers = new(StringComparer.Ordinal);
    private readonly Func<SortedSet<int>> _onlineCpus;

    public CGroupManager(CGroupHierarchy hierarchy, string projectRoot, Func<SortedSet<int>>? onlineCpus = null)
    {
        Hierarchy = hierarchy;
        ProjectRoot = CGroupPath.Resolve(projectRoot, "/");
        if (ProjectRoot == "/")
        {
            throw PscException.Invalid("InvalidCGroupRoot", "The project's cgroup root cannot be the hierarchy root '/'.", projectRoot);
        }
        _onlineCpus = onlineCpus ?? CpuList.Online;
        try
        {
            if (hierarchy.Unified is CGroupMount unified)
            {
                var tree = new CGroupTree(unified);
                _trees.Add(tree);
                var driver = new V2Driver(tree);
                foreach (string c in unified.Controllers)
                {
                    _drivers[c] = driver;
                }
                Unified = tree;
            }
            foreach (CGroupMount mount in hierarchy.V1Mounts)
            {
                var wanted = mount.Controllers.Where(c => Used.Contains(c) && !_drivers.ContainsKey(c) && !(c == "blkio" && _drivers.ContainsKey("io"))).ToArray();
                if (wanted.Length == 0)
                {
                    continue;
                }
                var tree = new CGroupTree(mount);
                _trees.Add(tree);
                var driver = new V1Driver(tree);
                foreach (string c in wanted)
                {
                    _drivers[c] = driver;
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        // Root changes every hierarchy. Anyone else can only have been given a cgroup2 subtree (a chowned
        // directory, as systemd's Delegate= does): v1 hierarchies cannot be delegated safely, so they are left alone.
        _writable.AddRange(Sys.EffectiveUid == 0 || Unified is null ? _trees : new List<CGroupTree> { Unified });
    }

    /// <summary>The hierarchies cgroups are created in, removed from and moved into.</summary>
    public IReadOnlyList<CGroupTree> WritableTrees => _writable;

    /// <summary>Opens the running host's hierarchy with the root from $PSCONTAINERS_CGROUP_ROOT.</summary>
    public static CGroupManager OpenHost() => new(CGroupHierarchy.Current(), CGroupPath.ProjectRootFromEnvironment());

    public CGroupHierarchy Hierarchy { get; }

    /// <summary>The project's root, absolute (e.g. /pscontainers).</summary>
    public string ProjectRoot { get; }

    /// <summary>The cgroup2 tree (pure v2 or hybrid), used for the core files: procs, kill, freeze, events.</summary>
    public CGroupTree? Unified { get; }

    /// <summary>Every hierarchy the project creates its cgroups in.</summary>
    public IReadOnlyList<CGroupTree> Trees => _trees;

    /// <summary>Which hierarchy serves which controller.</summary>
    public IReadOnlyDictionary<string, string> ControllerTrees => _drivers.ToDictionary(kv => kv.Key, kv => kv.Value.Tree.Name);

    /// <summary>Optional audit hook: every cgroupfs write and signal, as text (for -Verbose).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>
    /// True: stop as on a host without cgroup2: <see cref="Kill"/> skips cgroup.kill, and freezing goes through the v1
    /// freezer where the cgroup has one. So the benchmark and tests can time and test freeze → SIGKILL each → thaw
    /// through freezer.state on a hybrid host, which otherwise always has cgroup.kill and cgroup.freeze.
    /// </summary>
    internal bool V1StopPath { get; set; }

    public string Resolve(string path) => CGroupPath.Resolve(path, ProjectRoot);

    public bool IsManaged(string path) => CGroupPath.IsAtOrBelow(path, ProjectRoot);

    public bool Exists(string path) => _trees.Any(t => t.Exists(path));

    private void RequireExists(string path)
    {
        if (!Exists(path))
        {
            throw new PscException("CGroupNotFound", ErrorKind.ObjectNotFound, $"The cgroup '{path}' does not exist.", path);
        }
    }

    /// <summary>The controllers available to one cgroup, mapped to the driver serving each.</summary>
    private Dictionary<IControllerDriver, HashSet<string>> ControllersOf(string path)
    {
        var map = new Dictionary<IControllerDriver, HashSet<string>>();
        HashSet<string>? v2Available = null;
        foreach (var (controller, driver) in _drivers)
        {
            if (!driver.Tree.Exists(path))
            {
                continue;
            }
            if (driver.Tree.IsV2)
            {
                v2Available ??= path == "/"
                    ? new HashSet<string>(driver.Tree.Mount.Controllers)
                    : new HashSet<string>((driver.Tree.TryRead(path, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries));
                if (!v2Available.Contains(controller))
                {
                    continue;
                }
            }
            if (!map.TryGetValue(driver, out var set))
            {
                map[driver] = set = new HashSet<string>(StringComparer.Ordinal);
            }
            set.Add(controller);
        }
        return map;
    }

    /// <summary>Reads one cgroup.</summary>
    public CGroup Get(string path)
    {
        RequireExists(path);
        var cg = new CGroup { Path = path, Version = Hierarchy.Layout, IsManaged = IsManaged(path) };
        var controllers = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (driver, set) in ControllersOf(path))
        {
            driver.Read(path, cg, set);
            controllers.UnionWith(set);
        }
        cg.Controllers = controllers.ToArray();
        cg.ProcessIds = ProcessIds(path).ToArray();
        if (Unified is CGroupTree u && u.Exists(path) && path != "/")
        {
            var events = V2Driver.KeyValues(u.TryRead(path, "cgroup.events"));
            cg.Populated = events.TryGetValue("populated", out long p) ? p == 1 : null;
            cg.Frozen = events.TryGetValue("frozen", out long f) ? f == 1 : cg.Frozen;
        }
        else
        {
            cg.Populated = SubtreeProcessIds(path).Count > 0;
        }
        return cg;
    }

    /// <summary>One sample of a cgroup's usage, from whichever hierarchy serves each controller.</summary>
    public CGroupStats ReadStats(string path)
    {
        RequireExists(path);
        var s = new CGroupStats { Path = path, Timestamp = DateTime.UtcNow };
        foreach (var (driver, set) in ControllersOf(path))
        {
            driver.ReadStats(path, s, set);
        }
        if (Unified is CGroupTree u && path != "/" && u.Exists(path))
        {
            new V2Driver(u).ReadCoreStats(path, s);
        }
        return s;
    }

    /// <summary>Whether the cgroup is frozen, from one file (cgroup.events or freezer.state); null without a freezer.</summary>
    public bool? IsFrozen(string path)
    {
        if (Unified is CGroupTree u && path != "/" && u.Exists(path))
        {
            var events = V2Driver.KeyValues(u.TryRead(path, "cgroup.events"));
            if (events.TryGetValue("frozen", out long f))
            {
                return f == 1;
            }
        }
        if (_drivers.TryGetValue("freezer", out var d) && !d.Tree.IsV2 && d.Tree.Exists(path))
        {
            return (d.Tree.TryRead(path, "freezer.state") ?? "").Trim() == "FROZEN";
        }
        return null;
    }

    /// <summary>The OOM killer's kill count in a cgroup (v2 memory.events, v1 memory.oom_control), null without one.</summary>
    public long? OomKills(string path)
    {
        if (!_drivers.TryGetValue("memory", out var d) || !d.Tree.Exists(path))
        {
            return null;
        }
        string? text = d.Tree.TryRead(path, d.Tree.IsV2 ? "memory.events" : "memory.oom_control");
        return V2Driver.KeyValues(text).TryGetValue("oom_kill", out long k) ? k : null;
    }

    /// <summary>The direct children of a cgroup (union over the hierarchies).</summary>
    public IReadOnlyList<string> ChildPaths(string path)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (CGroupTree t in _trees)
        {
            names.UnionWith(t.Children(path));
        }
        return names.Select(n => CGroupPath.Combine(path, n)).ToArray();
    }

    /// <summary>A cgroup and, depth first, all its descendants.</summary>
    public IEnumerable<string> Descendants(string path)
    {
        foreach (string child in ChildPaths(path))
        {
            yield return child;
            foreach (string d in Descendants(child))
            {
                yield return d;
            }
        }
    }

    /// <summary>Processes directly in the cgroup, in any of the project's hierarchies.</summary>
    public IReadOnlyList<int> ProcessIds(string path)
    {
        var pids = new SortedSet<int>();
        foreach (CGroupTree t in _trees)
        {
            pids.UnionWith(t.Procs(path));
        }
        return pids.ToArray();
    }

    /// <summary>Processes in the cgroup and all its descendants.</summary>
    public IReadOnlyList<int> SubtreeProcessIds(string path)
    {
        var pids = new SortedSet<int>(ProcessIds(path));
        foreach (string d in Descendants(path))
        {
            pids.UnionWith(ProcessIds(d));
        }
        return pids.ToArray();
    }

    /// <summary>The cgroup paths of a process in the project's hierarchies (one per distinct path).</summary>
    public IReadOnlyList<string> PathsOfProcess(int pid)
    {
        var byTree = CurrentPaths(pid);
        return byTree.Values.Distinct(StringComparer.Ordinal).ToArray();
    }

    private Dictionary<CGroupTree, string> CurrentPaths(int pid)
    {
        if (pid <= 0)
        {
            throw PscException.Invalid("InvalidProcessId", $"{pid} is not a process id.", pid);
        }
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/cgroup");
        }
        catch (IOException)
        {
            throw new PscException("ProcessNotFound", ErrorKind.ObjectNotFound, $"No process has the id {pid}.", pid, Errno.ESRCH);
        }
        var result = new Dictionary<CGroupTree, string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(':', 3);
            if (f.Length != 3)
            {
                continue;
            }
            string[] controllers = f[1].Split(',', StringSplitOptions.RemoveEmptyEntries);
            CGroupTree? tree = f[0] == "0" && f[1].Length == 0
                ? Unified
                : _trees.FirstOrDefault(t => !t.IsV2 && t.Mount.Controllers.Count > 0 && t.Mount.Controllers.All(controllers.Contains));
            if (tree is not null)
            {
                result[tree] = f[2];
            }
        }
        return result;
    }

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
        foreach (var (driver, set) in controllers)
        {
            writes.AddRange(driver.Plan(path, limits, set));
        }
        // A limit no hierarchy can take is an error, not a silent no-op.
        var served = controllers.Values.SelectMany(s => s).ToHashSet();
        void Need(bool asked, string controller, string what)
        {
            if (asked && !served.Contains(controller))
            {
                bool v2 = _drivers.TryGetValue(controller, out var d) && d.Tree.IsV2;
                if (Sys.EffectiveUid != 0 && !v2)
                {
                    throw new PscException("ControllerNotDelegated," + controller, ErrorKind.PermissionDenied,
                        $"Cannot set {what} on '{path}' as uid {Sys.EffectiveUid}: limits without root need a cgroup v2 subtree delegated to you with the {controller} controller " +
                        $"(root creates it, enables {controller} in its parent's cgroup.subtree_control and chowns it to you, as systemd's Delegate= does). " +
                        $"This host serves {controller} only through cgroup v1, which cannot be delegated.", path);
                }
                string where = v2 ? WhereV2ControllerStops(d!.Tree, path, controller) : "no mounted hierarchy carries it";
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
    /// v2: says where a controller stops on the way down to <paramref name="path"/>, walking from the root: the first
    /// cgroup whose cgroup.subtree_control does not hand it on. Above the project's root that is the machine's to
    /// change (systemd does it for a unit with Delegate=yes), which the message says, with the file.
    /// </summary>
    private string WhereV2ControllerStops(CGroupTree tree, string path, string controller)
    {
        string current = "/";
        foreach (string part in CGroupPath.Components(path))
        {
            string file = tree.FullPath(current, "cgroup.subtree_control");
            if (!(tree.TryRead(current, "cgroup.subtree_control") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(controller))
            {
                return IsManaged(current)
                    ? $"{file} does not enable it for the cgroups below"
                    : $"{file} does not enable it for the cgroups below, and '{current}' is above the project's root '{ProjectRoot}', which PSContainers never changes: " +
                      $"enable {controller} there (systemd does for a unit with Delegate=yes), or set {CGroupPath.RootVariable} below a cgroup that has it";
            }
            current = CGroupPath.Combine(current, part);
        }
        return $"it is not enabled in the parent's cgroup.subtree_control of '{path}'";
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
            foreach (CGroupTree tree in _writable)
            {
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
                    if (tree.IsV2)
                    {
                        EnableControllers(tree, parent);
                    }
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
                    if (!tree.IsV2 && tree.Mount.Controllers.Contains("cpuset"))
                    {
                        InheritCpuset(tree, parent, current);
                    }
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

    /// <summary>v2: enable the project's controllers in a parent's subtree_control (only at or below the root).</summary>
    private void EnableControllers(CGroupTree tree, string parent)
    {
        if (!CGroupPath.IsAtOrBelow(parent, ProjectRoot))
        {
            return; // never write above the root; what the machine delegates is what we get
        }
        var available = (tree.TryRead(parent, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var enabled = (tree.TryRead(parent, "cgroup.subtree_control") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        string[] missing = V2Enable.Where(c => available.Contains(c) && !enabled.Contains(c)).ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        string value = string.Join(' ', missing.Select(c => "+" + c));
        int err = tree.TryWrite(parent, "cgroup.subtree_control", value);
        if (err != 0)
        {
            string? hint = err == Errno.EBUSY
                ? $"'{parent}' has processes of its own; cgroup v2 lets only cgroups without processes enable controllers for children (the no-internal-process rule)."
                : null;
            throw PscException.FromErrno("CGroupWrite", err, tree.FullPath(parent, "cgroup.subtree_control"), value, hint);
        }
        Log?.Invoke($"wrote '{value}' to {tree.FullPath(parent, "cgroup.subtree_control")}");
    }

    /// <summary>v1 cpuset children start with no CPUs and no memory nodes; give them the parent's, as runc does.</summary>
    private void InheritCpuset(CGroupTree tree, string parent, string child)
    {
        foreach (string file in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            if (string.IsNullOrWhiteSpace(tree.TryRead(child, file)))
            {
                string value = tree.Read(parent, file);
                tree.Write(child, file, value);
                Log?.Invoke($"wrote '{value}' to {tree.FullPath(child, file)}");
            }
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
        foreach (CGroupTree tree in _writable.OrderBy(t => t.Mount.Controllers.Contains("pids") ? 0 : 1))
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

    /// <summary>Freezes the cgroup and waits until the kernel reports it frozen.</summary>
    public void Freeze(string path, TimeSpan? timeout = null) => SetFrozen(path, true, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>Thaws the cgroup and waits until the kernel reports it thawed.</summary>
    public void Thaw(string path, TimeSpan? timeout = null) => SetFrozen(path, false, timeout ?? TimeSpan.FromSeconds(5));

    private (CGroupTree Tree, bool V2)? FreezerOf(string path)
    {
        CGroupTree? v2 = Unified is CGroupTree u && path != "/" && u.HasFile(path, "cgroup.freeze") ? u : null;
        CGroupTree? v1 = _drivers.TryGetValue("freezer", out var d) && !d.Tree.IsV2 && d.Tree.Exists(path) ? d.Tree : null;
        return v2 is not null && (v1 is null || !V1StopPath) ? (v2, true) : v1 is not null ? (v1, false) : null;
    }

    private void SetFrozen(string path, bool frozen, TimeSpan timeout)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, frozen ? "freeze" : "thaw");
        RequireExists(path);
        var freezer = FreezerOf(path) ?? throw new PscException("FreezerUnavailable", ErrorKind.NotImplemented,
            $"Cannot {(frozen ? "freeze" : "thaw")} '{path}': neither cgroup.freeze (v2) nor the v1 freezer controller is available.", path);
        var (tree, v2) = freezer;
        string file = v2 ? "cgroup.freeze" : "freezer.state";
        string value = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
        tree.Write(path, file, value);
        Log?.Invoke($"wrote '{value}' to {tree.FullPath(path, file)}");
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while (true)
        {
            bool done = v2
                ? V2Driver.KeyValues(tree.TryRead(path, "cgroup.events")).GetValueOrDefault("frozen") == (frozen ? 1 : 0)
                : (tree.TryRead(path, "freezer.state") ?? "").Trim() == (frozen ? "FROZEN" : "THAWED");
            if (done)
            {
                return;
            }
            if (sw.Elapsed > timeout)
            {
                throw new PscException("FreezeTimeout", ErrorKind.OperationTimeout,
                    $"'{path}' did not become {(frozen ? "frozen" : "thawed")} within {timeout.TotalSeconds:0.#} s ({tree.FullPath(path, file)}).", path);
            }
            if (!v2 && frozen)
            {
                tree.TryWrite(path, file, value); // v1 may stay FREEZING; writing again retries
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>
    /// Kills every process in the cgroup and its descendants and waits until they are gone: cgroup.kill where
    /// the kernel has it, else freeze → SIGKILL each → thaw, repeated until empty.
    /// </summary>
    public void Kill(string path, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        CGroupPath.RequireWritable(path, ProjectRoot, "kill the processes of");
        RequireExists(path);
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var sw = Stopwatch.StartNew();
        bool killedByKernel = false;
        if (!V1StopPath && Unified is CGroupTree u && path != "/" && u.HasFile(path, "cgroup.kill"))
        {
            int err = u.TryWrite(path, "cgroup.kill", "1");
            if (err == 0)
            {
                killedByKernel = true;
                Log?.Invoke($"wrote '1' to {u.FullPath(path, "cgroup.kill")}");
            }
        }
        int delay = 1;
        // Every pid sent a SIGKILL by this call, and when the last full round was: a killed process may take a while to
        // exit (1000 of them ~0.6 s here), and freezing, signalling and thawing them all again each time the list is
        // not yet empty only slowed them down (4-5 rounds per stop of 1000). A new round runs when the list has a pid
        // not yet signalled, or 200 ms after the last (a pid reused meanwhile, a process stuck in the kernel).
        var signalled = new HashSet<int>();
        long lastRound = 0; // the first pass always runs a round: nothing is signalled yet
        // After cgroup.kill the kernel says when the last one is gone: wait for that notice, not by polling.
        if (killedByKernel && Unified is CGroupTree unified)
        {
            unified.WaitUnpopulated(path, TimeSpan.FromMilliseconds(Math.Min(limit.TotalMilliseconds, 2000)), cancel);
        }
        while (true)
        {
            var pids = SubtreeProcessIds(path);
            if (pids.Count == 0)
            {
                return;
            }
            if (sw.Elapsed > limit)
            {
                throw new PscException("CGroupKillTimeout", ErrorKind.OperationTimeout,
                    $"Processes {string.Join(", ", pids.Take(10))} in '{path}' were still alive after {limit.TotalSeconds:0.#} s of SIGKILL.", path);
            }
            // After cgroup.kill the kernel is at work: signal ourselves only if some survive it for a while.
            bool due = !pids.All(signalled.Contains) || sw.ElapsedMilliseconds - lastRound > 200;
            if ((!killedByKernel || sw.ElapsedMilliseconds > 20 || delay > 8) && due)
            {
                ThawDescendants(path);
                signalled.UnionWith(KillEach(path));
                lastRound = sw.ElapsedMilliseconds;
            }
            Pause(delay, cancel);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>
    /// A workload may have made and frozen sub-cgroups of its own: a SIGKILL to a frozen task waits for a thaw, so
    /// every frozen descendant is thawed (v2 cgroup.freeze, v1 freezer.state) before the next round of kills.
    /// </summary>
    private void ThawDescendants(string path)
    {
        foreach (string d in Descendants(path))
        {
            if (Unified is CGroupTree u && u.HasFile(d, "cgroup.freeze") && (u.TryRead(d, "cgroup.freeze") ?? "0").Trim() == "1")
            {
                if (u.TryWrite(d, "cgroup.freeze", "0") == 0)
                {
                    Log?.Invoke($"wrote '0' to {u.FullPath(d, "cgroup.freeze")}");
                }
            }
            if (_drivers.TryGetValue("freezer", out var f) && !f.Tree.IsV2 && f.Tree.Exists(d)
                && (f.Tree.TryRead(d, "freezer.state") ?? "THAWED").Trim() != "THAWED")
            {
                if (f.Tree.TryWrite(d, "freezer.state", "THAWED") == 0)
                {
                    Log?.Invoke($"wrote 'THAWED' to {f.Tree.FullPath(d, "freezer.state")}");
                }
            }
        }
    }

    /// <summary>
    /// Freeze (so nothing forks meanwhile) → SIGKILL every pid in the subtree → thaw (so the kills land). Returns the
    /// pids signalled.
    /// </summary>
    private IReadOnlyList<int> KillEach(string path)
    {
        var freezer = FreezerOf(path);
        bool frozen = false;
        if (freezer is not null)
        {
            try
            {
                SetFrozen(path, true, TimeSpan.FromSeconds(1));
                frozen = true;
            }
            catch (PscException)
            {
                // A process stuck in uninterruptible sleep can keep v1 FREEZING; kill anyway.
            }
        }
        var pids = SubtreeProcessIds(path);
        foreach (int pid in pids)
        {
            if (Sys.Kill(pid, Sys.SIGKILL) == 0)
            {
                Log?.Invoke($"sent SIGKILL to {pid}");
            }
        }
        if (frozen || freezer is not null)
        {
            try
            {
                SetFrozen(path, false, TimeSpan.FromSeconds(1));
            }
            catch (PscException)
            {
            }
        }
        return pids;
    }

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

    /// <summary>Waits between two tries; a cancelled wait (Ctrl+C on the cmdlet) ends the whole operation at once.</summary>
    private static void Pause(int milliseconds, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(milliseconds))
        {
            throw new OperationCanceledException(cancel);
        }
    }

    /// <summary>
    /// True when the cgroup2 tree has the cgroup and its cgroup.events says "populated 0": no process in it or below
    /// (one read). False otherwise, also on a host without a cgroup2 tree: then only a listing can tell.
    /// </summary>
    public bool IsUnpopulated(string path) => Unified is CGroupTree u && path != "/"
        && V2Driver.KeyValues(u.TryRead(path, "cgroup.events")).GetValueOrDefault("populated", 1) == 0;

    /// <summary>
    /// The common case of removing a container: nothing runs in or below the cgroup (the cgroup2 tree sees every
    /// process, on a hybrid host too) and it has no children, so one rmdir per hierarchy is all there is to do -
    /// no listing of children or processes. False, with whatever was removed removed, when a hierarchy refuses
    /// (children, a process in a v1-only child): the caller's full procedure (-Recurse -Force) finishes the job.
    /// </summary>
    private bool TryRemoveEmpty(string path)
    {
        if (Unified is not CGroupTree u || path == "/" ||
            V2Driver.KeyValues(u.TryRead(path, "cgroup.events")).GetValueOrDefault("populated", 1) != 0)
        {
            return false;
        }
        foreach (CGroupTree tree in _writable)
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
            foreach (CGroupTree tree in _writable)
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
                if (tree.IsV2 && p != "/" && tree.HasFile(p, "cgroup.freeze") && V2Driver.KeyValues(tree.TryRead(p, "cgroup.events")).GetValueOrDefault("frozen") == 1)
                {
                    tree.TryWrite(p, "cgroup.freeze", "0"); // a frozen cgroup can hold dying tasks
                }
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

    public void Dispose()
    {
        foreach (CGroupTree t in _trees)
        {
            t.Dispose();
        }
        _trees.Clear();
    }
}
