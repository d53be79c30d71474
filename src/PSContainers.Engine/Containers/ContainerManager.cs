using System.Diagnostics;
using System.Globalization;
using PSContainers.CGroups;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>
/// Containers: create (depot entry + cgroup with limits, nothing running), start (through psc-init), stop
/// (SIGTERM, grace, SIGKILL to the whole cgroup), wait, list, remove. The depot is the source of truth; the live
/// kernel (pids with their start times, the exit record psc-init writes) decides the state.
/// </summary>
public sealed class ContainerManager : IDisposable
{
    public ContainerManager(Depot depot, CGroupManager cgroups)
    {
        Depot = depot;
        CGroups = cgroups;
    }

    public static ContainerManager OpenHost() => new(Depot.FromEnvironment(), CGroupManager.OpenHost());

    public Depot Depot { get; }

    public CGroupManager CGroups { get; }

    /// <summary>Audit hook: every signal and state change, as text (the cmdlets' Write-Verbose).</summary>
    public Action<string>? Log
    {
        get => CGroups.Log;
        set => CGroups.Log = value;
    }

    /// <summary>What New-Container takes; resolved and validated by <see cref="Create"/>.</summary>
    public sealed record Request
    {
        public string Name { get; init; } = "";
        public string? Group { get; init; }
        public string FilePath { get; init; } = "";
        public string[] ArgumentList { get; init; } = Array.Empty<string>();
        public ContainerIsolation Isolation { get; init; } = ContainerIsolation.Default;
        public string? Hostname { get; init; }
        public string? WorkingDirectory { get; init; }
        public IDictionary<string, string>? Environment { get; init; }
        public string? User { get; init; }
        public string? RootPath { get; init; }
        public IDictionary<string, object?>? ResourceLimits { get; init; }
        public IDictionary<string, string>? Properties { get; init; }
        public CGroupLimits Limits { get; init; } = new();
        public bool KeepCGroup { get; init; }
    }

    /// <summary>Validates everything, then creates the depot entry and the cgroup with its limits. All or nothing.</summary>
    public Container Create(Request r)
    {
        ContainerName.Check(r.Name);
        CGroupPath.CheckNewName(r.Name, r.Name);
        if (r.Group is not null)
        {
            ContainerName.Check(r.Group, "group name", "InvalidGroupName");
            CGroupPath.CheckNewName(r.Group, r.Group);
        }
        if (r.Hostname is not null)
        {
            CheckHostname(r.Hostname);
        }
        SpecValidator.Arguments(r.ArgumentList);
        CheckPrivilege(r.Isolation);
        string? root = null;
        if (r.RootPath is not null)
        {
            root = Path.GetFullPath(r.RootPath);
            if (!Directory.Exists(root))
            {
                throw new PscException("RootPathNotFound", ErrorKind.ObjectNotFound, $"The root path '{r.RootPath}' does not exist or is not a directory.", r.RootPath);
            }
            if (!r.Isolation.HasFlag(ContainerIsolation.Mount))
            {
                throw PscException.Invalid("RootPathNeedsMount", $"-RootPath '{r.RootPath}' needs the Mount isolation (pivot_root happens in the container's mount namespace).", r.RootPath);
            }
        }
        if (r.Hostname is not null && !r.Isolation.HasFlag(ContainerIsolation.Uts))
        {
            throw PscException.Invalid("HostnameNeedsUts", $"-Hostname '{r.Hostname}' needs the Uts isolation; without it the container would rename the host.", r.Hostname);
        }
        // With a root, a relative program is taken from the root's top and a bare name from the standard directories;
        // without one, from this process's current directory and PATH (New-Container's documented rules).
        string where = root is null ? "" : " in " + root;
        string file = root is null
            ? SpecValidator.Program(r.FilePath, null, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PATH") ?? SpecValidator.DefaultPath, where)
            : SpecValidator.Program(r.FilePath, root, "/", SpecValidator.DefaultPath, where);
        string cwd = r.WorkingDirectory ?? "/";
        SpecValidator.WorkingDirectory(cwd, root, where);
        int uid = 0, gid = 0;
        int[] groups = Array.Empty<int>();
        if (r.User is not null)
        {
            (uid, gid, groups) = Users.Resolve(r.User, root);
        }
        var rlimits = new Dictionary<string, RLimitValue>(StringComparer.Ordinal);
        foreach (var (key, value) in r.ResourceLimits ?? new Dictionary<string, object?>())
        {
            rlimits[key.ToLowerInvariant()] = RLimits.Parse(key, value);
        }
        var basis = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = SpecValidator.DefaultPath,
            ["HOME"] = uid == 0 ? "/root" : "/",
        };
        if (r.Isolation.HasFlag(ContainerIsolation.Uts))
        {
            basis["HOSTNAME"] = r.Hostname ?? r.Name;
        }
        var env = SpecValidator.Environment(basis, r.Environment);
        foreach (string key in (r.Properties ?? new Dictionary<string, string>()).Keys)
        {
            CheckPropertyKey(key);
        }
        var online = CpuList.Online();
        r.Limits.Validate(online.Count, online);

        string groupPath = r.Group is null ? CGroups.ProjectRoot : CGroupPath.Combine(CGroups.ProjectRoot, r.Group);
        string cgroupPath = CGroupPath.Combine(groupPath, r.Name);
        var spec = new ContainerSpec
        {
            Name = r.Name,
            Group = r.Group,
            FilePath = file,
            ArgumentList = r.ArgumentList,
            Isolation = r.Isolation,
            Hostname = r.Isolation.HasFlag(ContainerIsolation.Uts) ? r.Hostname ?? r.Name : null,
            WorkingDirectory = cwd,
            Environment = env,
            User = r.User,
            Uid = uid,
            Gid = gid,
            Groups = groups,
            RootPath = root,
            ResourceLimits = rlimits,
            Properties = new Dictionary<string, string>(r.Properties ?? new Dictionary<string, string>()),
            Limits = r.Limits,
            KeepCGroup = r.KeepCGroup,
            CGroupPath = cgroupPath,
            CreatedTime = DateTime.UtcNow,
        };

        using (Depot.Lock())
        {
            if (r.Group is not null && Depot.Exists(r.Group) && Depot.ReadJson<ContainerSpec>(r.Group, "spec.json")?.CGroupPath == groupPath)
            {
                throw new PscException("GroupNameTaken", ErrorKind.ResourceExists,
                    $"The group '{r.Group}' would share the cgroup {groupPath} of the container named '{r.Group}'; choose another group name.", r.Group);
            }
            // The entry is made under a hidden name and renamed into place complete, so no reader ever sees a
            // container without its spec; a session killed meanwhile leaves only the hidden directory (swept later).
            // The sweep lists the whole depot, so it runs on this process's first creation in this depot and then
            // on every 64th (and when the name's cgroup is in the way, below), not on each: with 1000 containers a
            // listing costs 0.3 ms, and Create had become O(n).
            if (SweepCount.AddOrUpdate(Depot.Root, 0, (_, n) => n + 1) % 64 == 0)
            {
                SweepStaleEntries();
            }
            string staging = Depot.CreateStaging(r.Name);
            bool cgroupMade = false;
            try
            {
                // spec.json first: it names the cgroup, so a sweep can remove the cgroup of a creation cut short.
                string specFile = Path.Combine(staging, "spec.json");
                Depot.WriteFile(specFile, System.Text.Json.JsonSerializer.Serialize(spec, Depot.Json));
                try
                {
                    if (r.Group is not null && !CGroups.Exists(groupPath))
                    {
                        CGroups.Make(groupPath, null);
                    }
                    try
                    {
                        CGroups.Make(cgroupPath, r.Limits);
                    }
                    catch (PscException e) when (e.ErrorId == "CGroupExists")
                    {
                        // Maybe left by a creation cut short that no sweep has seen yet: sweep, then try once more.
                        SweepStaleEntries();
                        CGroups.Make(cgroupPath, r.Limits);
                    }
                    cgroupMade = true;
                }
                catch (PscException e) when (e.Kind == ErrorKind.PermissionDenied && Sys.EffectiveUid != 0 && r.Limits.IsEmpty && r.Group is null)
                {
                    // A rootless container without limits runs without a cgroup of its own (like Nomad's basic
                    // executor); its PID namespace, or psc-init as subreaper, still holds the tree together.
                    Log?.Invoke($"container '{r.Name}' runs without a cgroup: {e.Message}");
                    spec = spec with { CGroupPath = "" };
                    Depot.WriteFile(specFile, System.Text.Json.JsonSerializer.Serialize(spec, Depot.Json));
                }
                // Everything a start writes to is made here, so a start creates no file but state.json (psc-init
                // renames state.json.new into place): on a disk-backed /run a new inode costs 0.1-0.7 ms.
                Depot.CreateEmpty(staging, "stdout.log");
                Depot.CreateEmpty(staging, "stderr.log");
                Depot.CreateEmpty(staging, Depot.StateNext);
                Depot.AppendEventTo(staging, "created");
                Depot.Commit(staging, r.Name);
            }
            catch
            {
                if (cgroupMade)
                {
                    TryQuietly(() => CGroups.Remove(cgroupPath, recurse: true, force: true));
                }
                TryQuietly(() => Depot.Discard(staging));
                throw;
            }
        }
        return Unstarted(r.Name, spec); // what Get would read back: the spec, no state.json, no exit
    }

    /// <summary>Creations per depot root in this process: the sweep of stale entries runs on every 64th.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> SweepCount = new(StringComparer.Ordinal);

    /// <summary>
    /// Entries a killed session left hidden: a creation cut short also left the cgroup it had made (its path is in the
    /// entry), which would block that name for good; it is removed unless a container of that name exists now. Runs
    /// under the depot's lock, so no creation is in progress meanwhile.
    /// </summary>
    private void SweepStaleEntries()
    {
        foreach (var (dir, name, creating) in Depot.StaleEntries())
        {
            string? path = null;
            if (creating)
            {
                // spec.json names the cgroup (entries made by earlier versions have a "cgroup" file instead).
                string marker = Path.Combine(dir, "cgroup");
                TryQuietly(() =>
                {
                    try
                    {
                        path = File.Exists(marker)
                            ? File.ReadAllText(marker).Trim()
                            : System.Text.Json.JsonSerializer.Deserialize<ContainerSpec>(File.ReadAllText(Path.Combine(dir, "spec.json")), Depot.Json)?.CGroupPath;
                    }
                    catch (System.Text.Json.JsonException)
                    {
                        // written by a tmp + rename, so whole or absent; anything else is not ours to judge
                    }
                });
            }
            if (path is { Length: > 0 } && !Depot.Exists(name) && CGroups.Exists(path))
            {
                Log?.Invoke($"removing {path}, left by a creation of '{name}' that was cut short");
                TryQuietly(() => CGroups.Remove(path, recurse: true, force: true));
            }
            TryQuietly(() => Depot.Discard(dir));
        }
    }

    /// <summary>The namespaces but User that need CAP_SYS_ADMIN to be made, unless a user namespace is made with them.</summary>
    private const ContainerIsolation PrivilegedNamespaces =
        ContainerIsolation.Pid | ContainerIsolation.Mount | ContainerIsolation.Uts | ContainerIsolation.Ipc | ContainerIsolation.Network | ContainerIsolation.CGroup;

    /// <summary>
    /// Namespaces other than User take CAP_SYS_ADMIN in the current user namespace: without it the clone in psc-init
    /// would fail at Start with a bare EPERM. Said here, before anything is made, with the way out.
    /// </summary>
    internal static void CheckPrivilege(ContainerIsolation isolation)
    {
        if ((isolation & PrivilegedNamespaces) == 0 || isolation.HasFlag(ContainerIsolation.User) || Capabilities.Has(Capabilities.SysAdmin) != false)
        {
            return;
        }
        throw new PscException("IsolationNeedsRoot", ErrorKind.PermissionDenied, NeedsRootMessage(isolation), isolation);
    }

    internal static string NeedsRootMessage(ContainerIsolation isolation)
    {
        // Each flag by name: "Default" would hide what is asked for.
        string named = string.Join(", ", Enum.GetValues<ContainerIsolation>()
            .Where(f => f is not ContainerIsolation.None and not ContainerIsolation.Default && isolation.HasFlag(f)));
        return $"The isolation {named} needs root (CAP_SYS_ADMIN), which this process (uid {Sys.EffectiveUid}) does not have. " +
            $"Run as root, or add -Isolation User to make the namespaces inside a user namespace of the container's own " +
            $"(e.g. -Isolation User, {named}).";
    }

    /// <summary>A host name as sethostname(2) and resolvers take it: 1 to 64 letters, digits, '-' and '.'.</summary>
    private static void CheckHostname(string hostname)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(hostname, "^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$"))
        {
            string shown = hostname.Replace("\0", "\\0").Replace("\n", "\\n");
            throw PscException.Invalid("InvalidHostname",
                $"'{shown}' is not a valid host name: use 1 to 64 letters, digits, '-' or '.', starting and ending with a letter or digit.", shown);
        }
    }

    /// <summary>
    /// Starts a created container and returns once its program runs (or reports why it could not). psc-init records
    /// state.json and the "started" event itself before the program runs, so one request to a resident launcher and
    /// one answer line are the whole exchange; only this container is locked meanwhile, so starts of different
    /// containers overlap.
    /// </summary>
    public Container Start(string name, TimeSpan? timeout = null)
    {
        ContainerName.Check(name);
        using (Depot.LockContainer(name))
        {
            // Created means no state.json (a failed start removes it again): only a started one needs the kernel asked.
            ContainerSpec spec = ReadSpec(name);
            if (Depot.ReadJson<ContainerRuntimeState>(name, "state.json") is not null)
            {
                throw new PscException("ContainerAlreadyStarted", ErrorKind.InvalidOperation, $"Container '{name}' is {Describe(name, spec).State}; only a Created container can be started.", name);
            }
            bool hasCGroup = spec.CGroupPath.Length > 0;
            var cgroupDirs = hasCGroup ? CGroups.WritableTrees.Where(t => t.Exists(spec.CGroupPath)).Select(t => t.FullPath(spec.CGroupPath)).ToArray() : Array.Empty<string>();
            if (hasCGroup && cgroupDirs.Length == 0)
            {
                throw new PscException("CGroupNotFound", ErrorKind.ObjectNotFound, $"The cgroup '{spec.CGroupPath}' of container '{name}' is gone.", spec.CGroupPath);
            }
            string dir = Depot.PathOf(name); // stdout.log and stderr.log exist since Create (psc-init makes them if not)
            Launcher.Started started;
            try
            {
                started = Launcher.Launch(Launcher.Config(spec, dir, cgroupDirs), name, timeout ?? TimeSpan.FromSeconds(30));
                Log?.Invoke($"container '{name}': init {started.InitPid}, main process {started.MainPid}");
            }
            catch (PscException e) when (e.Errno == Errno.EPERM && !spec.Isolation.HasFlag(ContainerIsolation.User)
                && (spec.Isolation & PrivilegedNamespaces) != 0 && Capabilities.Has(Capabilities.SysAdmin) == false)
            {
                // Created by a process that had the privilege (or in a shared depot), started by one without it.
                Cleanup();
                throw new PscException("IsolationNeedsRoot", ErrorKind.PermissionDenied, NeedsRootMessage(spec.Isolation) + " (" + e.Message + ")",
                    name, e.Errno, e);
            }
            catch (PscException)
            {
                Cleanup();
                throw;
            }
            void Cleanup()
            {
                // Nothing stays behind: whatever psc-init made dies with the cgroup, and the container is Created again.
                if (hasCGroup)
                {
                    TryQuietly(() => CGroups.Kill(spec.CGroupPath, TimeSpan.FromSeconds(5)));
                }
                TryQuietly(() => File.Delete(Depot.FileOf(name, "state.json")));
                TryQuietly(() => File.Delete(Depot.FileOf(name, "exit")));
                TryQuietly(() => Depot.AppendEvent(name, "start-failed"));
            }
            if (started.StartTimeUnixNs is not long ns)
            {
                return Describe(name, spec); // a psc-init that does not say when (an older one, through $PSCONTAINERS_INIT)
            }
            // What psc-init answered is what state.json now says, and the cgroup is the fresh one made at Create (no OOM
            // kill, not frozen): nothing to read back. The program is exec'ing right now on the other CPU, so every
            // read here would only slow it down.
            Container c = Unstarted(name, spec);
            c.State = ContainerState.Running;
            c.InitPid = started.InitPid;
            c.Pid = started.MainPid;
            c.StartTime = DateTime.UnixEpoch.AddTicks(ns / 100);
            return c;
        }
    }

    private static string? _bootId;

    /// <summary>The kernel's boot id (read once: it cannot change while this process runs).</summary>
    private static string BootId()
    {
        if (_bootId is null)
        {
            try
            {
                _bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            }
            catch (IOException)
            {
                return "";
            }
        }
        return _bootId;
    }

    /// <summary>One container from the depot, its state decided by the live kernel.</summary>
    public Container Get(string name) => Describe(name, ReadSpec(name));

    private ContainerSpec ReadSpec(string name)
    {
        ContainerName.Check(name);
        if (!Depot.Exists(name))
        {
            throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {Depot.Root}).", name);
        }
        return ReadSpecOrMissing(name);
    }

    /// <summary>
    /// spec.json of an entry, else the reason it is missing. An entry can be removed and made anew under the same
    /// name between a reader's look at the spec and its look at the directory (each whole, by a rename): a spec missing
    /// from an entry that exists is read again (a few times) before the entry is called damaged.
    /// </summary>
    private ContainerSpec ReadSpecOrMissing(string name)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (Depot.ReadJson<ContainerSpec>(name, "spec.json") is ContainerSpec spec)
            {
                return spec;
            }
            if (attempt == 3 || !Depot.Exists(name))
            {
                throw MissingSpec(name);
            }
        }
    }

    /// <summary>The container a spec describes, with its state, pids and exit read from the depot and the kernel.</summary>
    private Container Describe(string name, ContainerSpec spec) => Describe(name, spec, out _, out _);

    /// <summary>The same, also handing back what it read: state.json and the exit record (null when absent).</summary>
    private Container Describe(string name, ContainerSpec spec, out ContainerRuntimeState? state, out Dictionary<string, string>? exit)
    {
        state = Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        exit = Depot.ReadKeyValues(name, "exit");
        Container c = Unstarted(name, spec);
        bool sameBoot = state is null || state.BootId.Length == 0 || state.BootId == BootId();
        bool initAlive = state is not null && sameBoot && PidHandle.IsAlive(state.InitPid, state.InitStartTicks);
        if (state is null)
        {
            return c; // never started, or a start that failed (it removes state.json again)
        }
        c.StartTime = state.StartTime;
        c.InitPid = state.InitPid;
        c.OomKilled = c.CGroupPath.Length > 0 && CGroups.OomKills(c.CGroupPath) > 0;
        if (exit is not null)
        {
            c.State = ContainerState.Exited;
            ReadExit(c, exit);
            c.InitPid = null;
            return c;
        }
        if (initAlive)
        {
            c.State = spec.CGroupPath.Length > 0 && CGroups.IsFrozen(spec.CGroupPath) == true ? ContainerState.Paused : ContainerState.Running;
            c.Pid = PidHandle.IsAlive(state.MainPid, state.MainStartTicks) ? state.MainPid : null;
            return c;
        }
        // init is gone without an exit record (killed from outside, or the machine rebooted).
        c.State = ContainerState.Exited;
        c.InitPid = null;
        return c;
    }

    /// <summary>The container a spec describes before anything ran: what every Container starts from.</summary>
    private Container Unstarted(string name, ContainerSpec spec) => new()
    {
        Name = spec.Name,
        Spec = spec,
        CGroupPath = spec.CGroupPath,
        Group = spec.Group,
        FilePath = spec.FilePath,
        ArgumentList = spec.ArgumentList,
        Isolation = spec.Isolation,
        Hostname = spec.Hostname,
        Properties = spec.Properties,
        CreatedTime = spec.CreatedTime,
        DepotPath = Depot.PathOf(name),
        State = ContainerState.Created,
    };

    /// <summary>
    /// Logs the OOM kills of a container that its event log does not have yet: one "oom-killed count=&lt;n&gt;" line
    /// for each kill the cgroup's counter (v2 memory.events oom_kill, v1 memory.oom_control oom_kill) has beyond the
    /// "oom-killed" lines already logged. Called by whoever observes the exit: psc-init when the main process ends,
    /// and from here where psc-init cannot (Stop kills it with the whole cgroup; Remove before the cgroup goes).
    /// Done under the container's lock (<see cref="Depot.LockContainer"/>), so two sessions that both see the same
    /// kill log it once. Returns the number of kills the counter shows.
    /// </summary>
    public long RecordOomKills(string name)
    {
        using (Depot.LockContainer(name))
        {
            return RecordOomKillsLocked(name, ReadSpec(name).CGroupPath);
        }
    }

    /// <summary><see cref="RecordOomKills"/> for a caller that holds the container's lock.</summary>
    private long RecordOomKillsLocked(string name, string cgroupPath)
    {
        long kills = cgroupPath.Length == 0 ? 0 : CGroups.OomKills(cgroupPath) ?? 0;
        if (kills > 0)
        {
            long logged = Events(name).Count(e => e.Event == "oom-killed");
            for (long i = logged; i < kills; i++)
            {
                Depot.AppendEvent(name, "oom-killed", $"count={(i + 1).ToString(CultureInfo.InvariantCulture)}");
            }
        }
        return kills;
    }

    private static void ReadExit(Container c, Dictionary<string, string> exit)
    {
        int signal = exit.TryGetValue("signal", out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int sig) ? sig : 0;
        if (signal > 0)
        {
            c.Signal = signal;
            c.ExitCode = 128 + signal;
        }
        else if (exit.TryGetValue("exit_code", out string? code) && int.TryParse(code, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
        {
            c.ExitCode = n;
        }
        if (exit.TryGetValue("exit_time_ns", out string? t) && long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns))
        {
            c.ExitTime = DateTime.UnixEpoch.AddTicks(ns / 100);
        }
    }

    /// <summary>
    /// The spec of every container in the depot, without asking the kernel about its state (what Get-ContainerStats
    /// needs: the name and the cgroup). A damaged entry is reported through <paramref name="onCorrupt"/> and skipped.
    /// </summary>
    public IEnumerable<ContainerSpec> Specs(Action<string, PscException>? onCorrupt = null)
    {
        foreach (string name in Depot.Names())
        {
            ContainerSpec? spec = null;
            try
            {
                spec = ReadSpecOrMissing(name);
            }
            catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal))
            {
                onCorrupt?.Invoke(name, e);
            }
            catch (PscException e) when (e.ErrorId == "ContainerNotFound")
            {
                // removed meanwhile
            }
            if (spec is not null)
            {
                yield return spec;
            }
        }
    }

    /// <summary>
    /// No spec.json: the entry was removed meanwhile (it disappears whole, by a rename), or it is damaged.
    /// </summary>
    private PscException MissingSpec(string name) => Depot.Exists(name)
        ? new PscException("DepotCorrupt", ErrorKind.InvalidOperation, $"The depot entry of '{name}' has no spec.json; Remove-Container -Force can remove it.", name)
        : new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {Depot.Root}).", name);

    /// <summary>Every container in the depot. A damaged entry is reported through <paramref name="onCorrupt"/> and skipped.</summary>
    public IEnumerable<Container> List(Action<string, PscException>? onCorrupt = null)
    {
        foreach (string name in Depot.Names())
        {
            Container? c = null;
            try
            {
                c = Get(name);
            }
            catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal) || e.ErrorId == "ContainerNotFound")
            {
                if (e.ErrorId != "ContainerNotFound")
                {
                    onCorrupt?.Invoke(name, e);
                }
            }
            if (c is not null)
            {
                yield return c;
            }
        }
    }

    /// <summary>
    /// Stops a running container: SIGTERM to the main process, up to <paramref name="timeout"/> for it to end, then
    /// SIGKILL to every process in the cgroup until it is empty. <paramref name="force"/> skips the SIGTERM.
    /// </summary>
    public Container Stop(string name, TimeSpan timeout, bool force, Action<string, double>? progress = null, CancellationToken cancel = default)
    {
        ContainerSpec spec = ReadSpec(name);
        Container c = Describe(name, spec, out var read, out var exitRecord);
        if (c.State is ContainerState.Created || read is null)
        {
            return c;
        }
        var state = read;
        string path = spec.CGroupPath;
        if (c.State is ContainerState.Exited && exitRecord is not null
            && (path.Length == 0 || !CGroups.Exists(path) || CGroups.SubtreeProcessIds(path).Count == 0))
        {
            return c; // ended and recorded, nothing left in its cgroup: nothing to stop, nothing to write
        }
        bool ended = false;
        if (c.State is ContainerState.Running or ContainerState.Paused)
        {
            using PidHandle? init = PidHandle.Open(state.InitPid, state.InitStartTicks);
            using PidHandle? main = PidHandle.Open(state.MainPid, state.MainStartTicks);
            if (c.State == ContainerState.Paused)
            {
                TryQuietly(() => CGroups.Thaw(path)); // a frozen process cannot act on SIGTERM
            }
            if (!force && main is not null && main.Signal(Sys.SIGTERM))
            {
                Log?.Invoke($"sent SIGTERM to {state.MainPid} (main process of '{name}')");
                var sw = Stopwatch.StartNew();
                while (!ended && sw.Elapsed < timeout)
                {
                    cancel.ThrowIfCancellationRequested(); // Ctrl+C during the grace period: leave it running
                    progress?.Invoke($"Waiting for '{name}' to exit after SIGTERM", sw.Elapsed.TotalSeconds / Math.Max(timeout.TotalSeconds, 0.001));
                    ended = init is null || init.WaitExit(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, (timeout - sw.Elapsed).TotalMilliseconds))));
                }
            }
            if (!ended)
            {
                // After a grace period: SIGKILL the main process first, so init records how it ended, then
                // everything in the cgroup. -Force goes straight to the cgroup (the exit record then says SIGKILL).
                if (!force && main is not null && main.Signal(Sys.SIGKILL))
                {
                    Log?.Invoke($"sent SIGKILL to {state.MainPid} (main process of '{name}')");
                    init?.WaitExit(TimeSpan.FromMilliseconds(500));
                }
                if (path.Length == 0 && init is not null && !init.WaitExit(TimeSpan.Zero) && init.Signal(Sys.SIGKILL))
                {
                    // No cgroup to empty: init's death ends its PID namespace (or it already killed its tree).
                    Log?.Invoke($"sent SIGKILL to {state.InitPid} (init of '{name}')");
                    init.WaitExit(TimeSpan.FromSeconds(2));
                }
            }
        }
        progress?.Invoke($"Killing every process in {path}", 1);
        // The usual SIGTERM stop: init has recorded the exit and ended, and with it its PID namespace; when the cgroup2
        // tree (which sees every process, on a hybrid host too) says nothing is left, there is nothing to kill, and the
        // cgroup.kill, the wait and the listing of 8 hierarchies' processes and children (~40 syscalls) are skipped.
        if (path.Length > 0 && !(ended && CGroups.IsUnpopulated(path)) && CGroups.Exists(path))
        {
            CGroups.Kill(path, TimeSpan.FromSeconds(10), cancel);
        }
        if (Depot.ReadKeyValues(name, "exit") is null)
        {
            // init died with the rest before it could write: the record says what we did to it.
            long ns = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            Depot.WriteAtomic(name, "exit", $"exit_code=\nsignal={Sys.SIGKILL}\nexit_time_ns={ns}\n");
        }
        // The cgroup is empty now, so its OOM counter is final; psc-init may have died with the rest before logging.
        using (Depot.LockContainer(name))
        {
            RecordOomKillsLocked(name, path);
        }
        Depot.AppendEvent(name, "stopped", force ? "force=1" : null);
        return Describe(name, spec);
    }

    /// <summary>Waits until the container's main process has ended; returns it with ExitCode and Signal.</summary>
    public Container Wait(string name, TimeSpan? timeout, CancellationToken cancel)
    {
        Container c = Get(name);
        if (c.State == ContainerState.Created)
        {
            throw new PscException("ContainerNotStarted", ErrorKind.InvalidOperation, $"Container '{name}' has not been started.", name);
        }
        var state = Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
        var sw = Stopwatch.StartNew();
        using PidHandle? init = state is null ? null : PidHandle.Open(state.InitPid, state.InitStartTicks);
        while (c.State is ContainerState.Running or ContainerState.Paused)
        {
            cancel.ThrowIfCancellationRequested();
            if (timeout is TimeSpan t && sw.Elapsed >= t)
            {
                throw new PscException("WaitTimeout", ErrorKind.OperationTimeout, $"Container '{name}' was still running after {t.TotalSeconds:0.#} s.", name);
            }
            if (init is not null)
            {
                init.WaitExit(TimeSpan.FromMilliseconds(100));
            }
            else
            {
                Thread.Sleep(50);
            }
            c = Get(name);
        }
        return c;
    }

    /// <summary>
    /// Removes a container: its cgroup (unless KeepCGroup) and its depot entry. Running ones need -Force. A cancelled
    /// <paramref name="cancel"/> ends the waits (a stop, a busy cgroup) with OperationCanceledException and leaves the
    /// entry, so the container is listed and can be removed again.
    /// </summary>
    public void Remove(string name, bool force, CancellationToken cancel = default)
    {
        ContainerName.Check(name);
        Container? c = null;
        PscException? corrupt = null;
        try
        {
            c = Get(name);
        }
        catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal) && force)
        {
            corrupt = e;
        }
        if (c is not null && c.State is ContainerState.Running or ContainerState.Paused)
        {
            if (!force)
            {
                throw new PscException("ContainerRunning", ErrorKind.ResourceBusy, $"Container '{name}' is {c.State}; stop it first or use -Force.", name);
            }
            Stop(name, TimeSpan.Zero, force: true, cancel: cancel);
        }
        using (Depot.Lock())
        using (Depot.LockContainer(name))
        {
            // Only a Created container can have been started since we looked (a start writes state.json first).
            if (!force && c is { State: ContainerState.Created } && File.Exists(Depot.FileOf(name, "state.json")))
            {
                throw new PscException("ContainerRunning", ErrorKind.ResourceBusy, $"Container '{name}' was started meanwhile; stop it first or use -Force.", name);
            }
            if (c is { OomKilled: true })
            {
                // The last chance: the counter goes with the cgroup. A log that cannot be written does not keep it.
                TryQuietly(() => RecordOomKillsLocked(name, c.Spec.CGroupPath));
            }
            var paths = c is not null
                ? new[] { c.Spec.CGroupPath }.Where(p => p.Length > 0).ToArray()
                : CandidateCGroups(name);
            foreach (string path in paths)
            {
                if (!CGroups.Exists(path))
                {
                    continue;
                }
                if (c is not null && c.Spec.KeepCGroup)
                {
                    CGroups.Kill(path, TimeSpan.FromSeconds(10), cancel);
                }
                else
                {
                    CGroups.Remove(path, recurse: true, force: true, TimeSpan.FromSeconds(10), cancel);
                }
            }
            Depot.Delete(name);
            Log?.Invoke($"removed container '{name}'{(corrupt is null ? "" : " (its depot entry was damaged)")}");
        }
    }

    /// <summary>Where a container whose spec is unreadable may have its cgroup: &lt;root&gt;/&lt;name&gt; or &lt;root&gt;/&lt;group&gt;/&lt;name&gt;.</summary>
    private string[] CandidateCGroups(string name)
    {
        var list = new List<string> { CGroupPath.Combine(CGroups.ProjectRoot, name) };
        if (CGroups.Exists(CGroups.ProjectRoot))
        {
            list.AddRange(CGroups.ChildPaths(CGroups.ProjectRoot).Select(g => CGroupPath.Combine(g, name)));
        }
        return list.Distinct().ToArray();
    }

    /// <summary>Freezes a running container's whole cgroup and waits until the kernel reports it frozen.</summary>
    public Container Suspend(string name)
    {
        Container c = Get(name);
        if (c.State != ContainerState.Running)
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a running container can be suspended.", name);
        }
        CGroups.Freeze(CGroupOf(c.Spec));
        Depot.AppendEvent(name, "paused");
        return Get(name);
    }

    /// <summary>Thaws a paused container and waits until the kernel reports it thawed.</summary>
    public Container Resume(string name)
    {
        Container c = Get(name);
        if (c.State != ContainerState.Paused)
        {
            throw new PscException("ContainerNotPaused", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a paused container can be resumed.", name);
        }
        CGroups.Thaw(c.CGroupPath);
        Depot.AppendEvent(name, "resumed");
        return Get(name);
    }

    /// <summary>
    /// The container's cgroup (read from its spec, the kernel is not asked), else ContainerHasNoCGroup: a rootless
    /// container without limits runs without one. What every cmdlet that acts on a container's cgroup asks.
    /// </summary>
    public string CGroupOf(string name) => CGroupOf(ReadSpec(name));

    /// <summary>The cgroup a spec names, else ContainerHasNoCGroup.</summary>
    public static string CGroupOf(ContainerSpec spec) => spec.CGroupPath.Length > 0
        ? spec.CGroupPath
        : throw new PscException("ContainerHasNoCGroup", ErrorKind.InvalidOperation, $"Container '{spec.Name}' runs without a cgroup of its own (rootless, without limits).", spec.Name);

    /// <summary>Sets (or with a null value removes) one user property, kept in the depot's spec.json.</summary>
    public Container SetProperty(string name, string key, string? value)
    {
        CheckPropertyKey(key);
        using (Depot.Lock())
        {
            Container c = Get(name);
            var properties = new Dictionary<string, string>(c.Spec.Properties);
            if (value is null)
            {
                if (!properties.Remove(key))
                {
                    throw new PscException("PropertyNotFound", ErrorKind.ObjectNotFound, $"Container '{name}' has no property '{key}'.", key);
                }
            }
            else
            {
                properties[key] = value;
            }
            Depot.WriteJson(name, "spec.json", c.Spec with { Properties = properties });
            return Get(name);
        }
    }

    private static void CheckPropertyKey(string? key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Contains('\0'))
        {
            throw PscException.Invalid("InvalidPropertyKey", $"The property key '{key?.Replace("\0", "\\0")}' is empty, blank or contains NUL.", key);
        }
    }

    /// <summary>The container's event log: created, started, exited, stopped, oom-killed, paused, resumed…</summary>
    public IEnumerable<ContainerEvent> Events(string name)
    {
        string file = Depot.FileOf(name, "events.log");
        if (!File.Exists(file))
        {
            yield break;
        }
        foreach (string line in File.ReadAllLines(file))
        {
            string[] f = line.Split(' ', 3);
            if (f.Length >= 2 && long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns))
            {
                yield return new ContainerEvent(name, DateTime.UnixEpoch.AddTicks(ns / 100), f[1], f.Length > 2 ? f[2] : null);
            }
        }
    }

    /// <summary>
    /// Passes the container's stdout and stderr lines to <paramref name="onLine"/> as they are written, until its main
    /// process has ended (returns the container, exit code filled in) or <paramref name="cancel"/> is set (returns null).
    /// </summary>
    public Container? Follow(string name, Action<LogStream, string> onLine, CancellationToken cancel)
    {
        var logs = new ContainerLogs(Depot, name);
        void Flush(bool final)
        {
            foreach (var (stream, line) in logs.ReadNew(final))
            {
                onLine(stream, line);
            }
        }
        while (true)
        {
            Flush(final: false);
            Container c = Get(name);
            if (c.State == ContainerState.Exited)
            {
                Flush(final: true);
                return c;
            }
            if (cancel.WaitHandle.WaitOne(20))
            {
                Flush(final: true);
                return null;
            }
        }
    }

    /// <summary>Moves an outside process into a running container's cgroups (the seeds' migrate_process).</summary>
    public void MoveProcess(int pid, string name) => CGroups.MoveProcess(pid, MoveTarget(name));

    /// <summary>
    /// The cgroup a process moved into this container joins: the container must be Running or Paused
    /// (ContainerNotRunning) and have a cgroup of its own (ContainerHasNoCGroup). Nothing is moved.
    /// </summary>
    public string MoveTarget(string name)
    {
        Container c = Get(name);
        if (c.State is not (ContainerState.Running or ContainerState.Paused))
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a running container takes processes.", name);
        }
        return CGroupOf(c.Spec);
    }

    private static void TryQuietly(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is PscException or IOException or UnauthorizedAccessException)
        {
        }
    }

    public void Dispose() => CGroups.Dispose();
}
