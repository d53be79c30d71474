using System.Diagnostics;
using System.Globalization;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>
/// The processes of a container, as RunDMC's process tracker keeps them: each started process has its record in the
/// depot (processes/&lt;id&gt;/: spec.json by the engine; state, output.log and exit by its tracker, a psc-init that
/// outlives the session), so any session finds it running, reads its output and gets its exit. The container's own
/// program is process "main". Reads are pure.
/// </summary>
internal static class ProcessTracker
{
    public const string Folder = "processes";

    /// <summary>output.log's size before the tracker rotates it to output.log.1: at most twice this per process.</summary>
    public const long LogMax = 8L << 20;

    private static string Rel(string id, params string[] file) => Path.Combine(new[] { Folder, id }.Concat(file).ToArray());

    /// <summary>Start-ContainerProcess: validates like an exec, makes the record, and returns the process once it runs.</summary>
    public static ContainerProcess Start(ContainerManager m, ContainerExecRequest r, long logMax = LogMax)
    {
        PreparedExec exec = ContainerExec.Prepare(m, r);
        using (m.Depot.LockContainer(r.Name))
        {
            string id = NextId(m, r.Name);
            string dir = m.Depot.FileOf(r.Name, Rel(id));
            Directory.CreateDirectory(dir);
            try
            {
                m.Depot.WriteJson(r.Name, Rel(id, "spec.json"), new ProcessSpec
                {
                    Id = id, FilePath = exec.FilePath, ArgumentList = exec.ArgumentList, WorkingDirectory = r.WorkingDirectory, User = r.User,
                    Tty = r.Tty, CreatedTime = DateTime.UtcNow,
                });
                exec.StartTracked(dir, logMax);
            }
            catch
            {
                ContainerManager.TryQuietly(() => Directory.Delete(dir, recursive: true)); // nothing half-made stays
                throw;
            }
            m.Log?.Invoke($"started process {id} of '{r.Name}' (pid {exec.Pid})");
            return Describe(m, r.Name, id) ?? throw NotFound(r.Name, id);
        }
    }

    /// <summary>One more than the highest id the container has used: ids are never reused while its entry lives.</summary>
    private static string NextId(ContainerManager m, string name)
    {
        string folder = m.Depot.FileOf(name, Folder);
        int max = Directory.Exists(folder)
            ? Directory.GetDirectories(folder).Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0).DefaultIfEmpty(0).Max()
            : 0;
        return (max + 1).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The ids of the started processes that have a record, in order of start.</summary>
    private static IEnumerable<string> TrackedIds(ContainerManager m, string name)
    {
        string folder = m.Depot.FileOf(name, Folder);
        if (!Directory.Exists(folder))
        {
            return Array.Empty<string>();
        }
        return Directory.GetDirectories(folder)
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0)
            .Where(n => n > 0).OrderBy(n => n).Select(n => n.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Get-ContainerProcess: "main" (when the container has a program and was started), then every started process;
    /// with <paramref name="includeUntracked"/>, then every other process in the container's cgroup but its init
    /// (Mojo's session: moved in, or forked by a tracked one), with its pid and command line.
    /// </summary>
    public static IEnumerable<ContainerProcess> List(ContainerManager m, string name, bool includeUntracked = false)
    {
        Container c = StateReader.Get(m, name);
        var list = new List<ContainerProcess>();
        if (Main(c) is ContainerProcess main)
        {
            list.Add(main);
        }
        foreach (string id in TrackedIds(m, name))
        {
            if (Describe(m, name, id) is ContainerProcess p)
            {
                list.Add(p);
            }
        }
        if (includeUntracked && c.State is ContainerState.Running or ContainerState.Paused && c.CGroupPath.Length > 0 && m.CGroups.Exists(c.CGroupPath))
        {
            var known = list.Where(p => p.Pid is not null).Select(p => p.Pid!.Value).Append(c.InitPid ?? 0).ToHashSet();
            foreach (int pid in m.CGroups.SubtreeProcessIds(c.CGroupPath).Where(p => !known.Contains(p)).Order())
            {
                if (Untracked(name, pid) is ContainerProcess u)
                {
                    list.Add(u);
                }
            }
        }
        return list;
    }

    /// <summary>A process of the cgroup the module did not start: its command line from /proc (null when it is gone).</summary>
    private static ContainerProcess? Untracked(string name, int pid)
    {
        string cmdline;
        try
        {
            cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var args = cmdline.TrimEnd('\0').Split('\0');
        string file = args[0].Length > 0 ? args[0] : $"[{ProcStat.Read(pid)?.Command}]";
        return new ContainerProcess
        {
            ContainerName = name, Id = "", Pid = pid, FilePath = file, ArgumentList = args.Skip(1).ToArray(),
            State = ContainerProcessState.Running, Tracked = false,
        };
    }

    /// <summary>One process by id; ProcessNotFound when the container has none of that id.</summary>
    public static ContainerProcess Get(ContainerManager m, string name, string id)
    {
        if (id == ContainerProcess.MainId)
        {
            return Main(StateReader.Get(m, name)) ?? throw NotFound(name, id);
        }
        StateReader.ReadSpec(m, name);
        return Describe(m, name, CheckId(name, id)) ?? throw NotFound(name, id);
    }

    private static string CheckId(string name, string id) =>
        id.Length is > 0 and < 11 && id.All(char.IsAsciiDigit) ? id : throw NotFound(name, id);

    /// <summary>The container's own program as a process; null for a sandbox or a container never started.</summary>
    private static ContainerProcess? Main(Container c)
    {
        if (c.Spec.IsSandbox || c.StartTime is null)
        {
            return null;
        }
        return new ContainerProcess
        {
            ContainerName = c.Name, Id = ContainerProcess.MainId, Pid = c.State == ContainerState.Exited ? null : c.Pid,
            FilePath = c.FilePath, ArgumentList = c.ArgumentList,
            State = c.State == ContainerState.Exited ? ContainerProcessState.Exited : ContainerProcessState.Running,
            ExitCode = c.ExitCode, Signal = c.Signal, StartTime = c.StartTime, ExitTime = c.ExitTime,
            WorkingDirectory = c.Spec.WorkingDirectory, User = c.Spec.User,
        };
    }

    /// <summary>
    /// A started process from its record and the kernel; null when it has no record, or none that says it ran (a
    /// start under way). The tracker is asked about before the exit record is read: it writes the record before it
    /// ends, so a tracker found gone has left its record if it could.
    /// </summary>
    private static ContainerProcess? Describe(ContainerManager m, string name, string id)
    {
        var spec = m.Depot.ReadJson<ProcessSpec>(name, Rel(id, "spec.json"));
        var state = m.Depot.ReadKeyValues(name, Rel(id, "state"));
        if (spec is null || state is null)
        {
            return null;
        }
        bool tracked = PidHandle.IsAlive(Int(state, "shim_pid"), ULong(state, "shim_start_ticks"));
        var exit = m.Depot.ReadKeyValues(name, Rel(id, "exit"));
        var p = new ContainerProcess
        {
            ContainerName = name, Id = id, FilePath = spec.FilePath, ArgumentList = spec.ArgumentList, Tty = spec.Tty,
            WorkingDirectory = spec.WorkingDirectory, User = spec.User,
            StartTime = Time(state, "start_time_ns"),
            State = exit is null && tracked ? ContainerProcessState.Running : ContainerProcessState.Exited,
        };
        if (p.State == ContainerProcessState.Running)
        {
            p.Pid = Int(state, "pid");
        }
        else if (exit is not null)
        {
            (p.ExitCode, p.Signal, p.ExitTime) = ExitRecord.Parse(exit);
        }
        return p;
    }

    /// <summary>Wait-ContainerProcess: until the process has ended and its exit is recorded.</summary>
    public static ContainerProcess Wait(ContainerManager m, string name, string id, TimeSpan? timeout, CancellationToken cancel)
    {
        if (id == ContainerProcess.MainId)
        {
            Get(m, name, id);
            ContainerStop.Wait(m, name, timeout, cancel);
            return Get(m, name, id);
        }
        ContainerProcess p = Get(m, name, id);
        var state = m.Depot.ReadKeyValues(name, Rel(id, "state"))!;
        using PidHandle? tracker = PidHandle.Open(Int(state, "shim_pid"), ULong(state, "shim_start_ticks"));
        var sw = Stopwatch.StartNew();
        while (p.State == ContainerProcessState.Running)
        {
            cancel.ThrowIfCancellationRequested();
            if (timeout is TimeSpan t && sw.Elapsed >= t)
            {
                throw new PscException("WaitTimeout", ErrorKind.OperationTimeout, $"Process {id} of container '{name}' was still running after {t.TotalSeconds:0.#} s.", id);
            }
            if (tracker is null || !tracker.WaitExit(TimeSpan.FromMilliseconds(100)))
            {
                if (tracker is null)
                {
                    Thread.Sleep(50);
                }
            }
            p = Get(m, name, id);
        }
        return p;
    }

    /// <summary>
    /// Stop-ContainerProcess: <paramref name="signal"/> delivered as given (the process is returned at once); without
    /// one SIGTERM, up to <paramref name="timeout"/> for it to end, then SIGKILL (-Force: SIGKILL at once), and the
    /// process returned with its exit. "main" without a signal stops the container (Stop-Container).
    /// </summary>
    public static ContainerProcess Stop(ContainerManager m, string name, string id, int? signal, TimeSpan timeout, bool force, CancellationToken cancel)
    {
        ContainerProcess p = Get(m, name, id);
        if (p.State == ContainerProcessState.Exited)
        {
            return p;
        }
        if (id == ContainerProcess.MainId)
        {
            if (signal is null)
            {
                ContainerStop.Stop(m, name, timeout, force, cancel: cancel);
                return Get(m, name, id);
            }
            var cs = m.Depot.ReadJson<ContainerRuntimeState>(name, "state.json");
            using (PidHandle? main = cs is null ? null : PidHandle.Open(cs.MainPid, cs.MainStartTicks))
            {
                main?.Signal(signal.Value);
            }
            return Get(m, name, id);
        }
        var state = m.Depot.ReadKeyValues(name, Rel(id, "state"))!;
        using PidHandle? program = PidHandle.Open(Int(state, "pid"), ULong(state, "start_ticks"));
        using PidHandle? tracker = PidHandle.Open(Int(state, "shim_pid"), ULong(state, "shim_start_ticks"));
        if (signal is int sig)
        {
            if (program?.Signal(sig) == true)
            {
                m.Log?.Invoke($"sent {Signals.Name(sig)} to {program.Pid} (process {id} of '{name}')");
            }
            return Get(m, name, id);
        }
        bool ended = false;
        if (!force && program?.Signal(Sys.SIGTERM) == true)
        {
            m.Log?.Invoke($"sent SIGTERM to {program.Pid} (process {id} of '{name}')");
            var sw = Stopwatch.StartNew();
            while (!ended && sw.Elapsed < timeout)
            {
                cancel.ThrowIfCancellationRequested();
                ended = program.WaitExit(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, (timeout - sw.Elapsed).TotalMilliseconds))));
            }
        }
        if (!ended && program?.Signal(Sys.SIGKILL) == true)
        {
            m.Log?.Invoke($"sent SIGKILL to {program.Pid} (process {id} of '{name}')");
        }
        tracker?.WaitExit(TimeSpan.FromSeconds(3)); // it records the exit, after at most 1 s of what the pipes still hold
        return Get(m, name, id);
    }

    /// <summary>
    /// Stop and Remove: every started process still running is SIGKILLed (when the container's cgroup or PID namespace
    /// did not end it already) and its tracker given up to <paramref name="timeout"/> to record the exit, so no tracker
    /// writes into an entry being removed.
    /// </summary>
    public static void EndAll(ContainerManager m, string name, TimeSpan timeout)
    {
        var trackers = new List<PidHandle>();
        try
        {
            foreach (string id in TrackedIds(m, name))
            {
                var state = m.Depot.ReadKeyValues(name, Rel(id, "state"));
                if (state is null || File.Exists(m.Depot.FileOf(name, Rel(id, "exit"))))
                {
                    continue;
                }
                using (PidHandle? program = PidHandle.Open(Int(state, "pid"), ULong(state, "start_ticks")))
                {
                    program?.Signal(Sys.SIGKILL);
                }
                if (PidHandle.Open(Int(state, "shim_pid"), ULong(state, "shim_start_ticks")) is PidHandle t)
                {
                    trackers.Add(t);
                }
            }
            var sw = Stopwatch.StartNew();
            foreach (PidHandle t in trackers)
            {
                t.WaitExit(timeout - sw.Elapsed > TimeSpan.Zero ? timeout - sw.Elapsed : TimeSpan.Zero);
            }
        }
        finally
        {
            trackers.ForEach(t => t.Dispose());
        }
    }

    /// <summary>
    /// Enter-Container -ProcessId: the record folder whose attach socket a terminal joins (psc-init --attach); the
    /// process must be running on a pty.
    /// </summary>
    public static string AttachTarget(ContainerManager m, string name, string id, bool justStarted = false)
    {
        ContainerProcess p = Get(m, name, id);
        if (!p.Tty)
        {
            throw new PscException("ProcessNotTty", ErrorKind.InvalidOperation, $"Process {id} of container '{name}' runs without a terminal (started without -Tty); read its output with Get-ContainerLog -ProcessId {id} -Follow.", id);
        }
        if (p.State != ContainerProcessState.Running && !justStarted) // one just started waits for its terminal (attach_wait)
        {
            throw new PscException("ProcessNotRunning", ErrorKind.InvalidOperation, $"Process {id} of container '{name}' has ended (exit code {p.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}).", id);
        }
        return RecordDir(m, name, id);
    }

    /// <summary>The folder of a process's record (its output logs are read from there).</summary>
    public static string RecordDir(ContainerManager m, string name, string id) => m.Depot.FileOf(name, Rel(CheckId(name, id)));

    /// <summary>Whether a process (by its record) is still running: for log followers.</summary>
    public static bool Running(ContainerManager m, string name, string id) =>
        (id == ContainerProcess.MainId ? Main(StateReader.Get(m, name)) : Describe(m, name, id))?.State == ContainerProcessState.Running;

    public static PscException NotFound(string name, string id) =>
        new("ProcessNotFound", ErrorKind.ObjectNotFound, $"Container '{name}' has no process with id '{id}'.", id);

    private static int Int(Dictionary<string, string> kv, string key) =>
        kv.TryGetValue(key, out string? v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 0;

    private static ulong ULong(Dictionary<string, string> kv, string key) =>
        kv.TryGetValue(key, out string? v) && ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) ? n : 0;

    private static DateTime? Time(Dictionary<string, string> kv, string key) =>
        kv.TryGetValue(key, out string? v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns) ? DateTime.UnixEpoch.AddTicks(ns / 100) : null;
}
