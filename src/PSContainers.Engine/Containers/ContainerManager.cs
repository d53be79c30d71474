using PSContainers.CGroups;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Containers: create (depot entry + cgroup with limits, nothing running), start (through psc-init), stop
/// (SIGTERM, grace, SIGKILL to the whole cgroup), wait, list, remove. The depot is the source of truth; the live
/// kernel (pids with their start times, the exit record psc-init writes) decides the state. This is the facade the
/// cmdlets call; each call is done by the class of the room it belongs to: Depot/ (entries, locks, the stale sweep),
/// Spec/ (the request, the one validator, properties), Lifecycle/ (create, start, stop, wait, remove, pause),
/// State/ (reading a container: pure), Events/ (the event log, OOM kills, following the logs), Processes/ (exec,
/// moves).
/// </summary>
public sealed partial class ContainerManager : IDisposable
{
    public ContainerManager(Depot depot, CGroupManager cgroups, ImageStore? store = null)
    {
        Depot = depot;
        CGroups = cgroups;
        Store = store ?? ImageStore.FromEnvironment();
    }

    public static ContainerManager OpenHost() => new(Depot.FromEnvironment(), CGroupManager.OpenHost());

    public Depot Depot { get; }

    /// <summary>The image store: images, and the writable layers of image containers.</summary>
    public ImageStore Store { get; }

    public CGroupManager CGroups { get; }

    /// <summary>Audit hook: every signal and state change, as text (the cmdlets' Write-Verbose).</summary>
    public Action<string>? Log
    {
        get => CGroups.Log;
        set => CGroups.Log = value;
    }

    /// <summary>Validates everything, then creates the depot entry and the cgroup with its limits. All or nothing.</summary>
    public Container Create(Request r) => ContainerCreation.Create(this, r);

    /// <summary>
    /// Starts a created container and returns once its program runs (or reports why it could not); only this
    /// container is locked meanwhile, so starts of different containers overlap.
    /// </summary>
    public Container Start(string name, TimeSpan? timeout = null) => ContainerStart.Start(this, name, timeout);

    /// <summary>
    /// Stops a running container: SIGTERM to the main process, up to <paramref name="timeout"/> for it to end, then
    /// SIGKILL to every process in the cgroup until it is empty. <paramref name="force"/> skips the SIGTERM.
    /// </summary>
    public Container Stop(string name, TimeSpan timeout, bool force, Action<string, double>? progress = null, CancellationToken cancel = default) =>
        ContainerStop.Stop(this, name, timeout, force, progress, cancel);

    /// <summary>Waits until the container's main process has ended; returns it with ExitCode and Signal. Writes nothing.</summary>
    public Container Wait(string name, TimeSpan? timeout, CancellationToken cancel) => ContainerStop.Wait(this, name, timeout, cancel);

    /// <summary>
    /// Removes a container: its cgroup (unless KeepCGroup) and its depot entry. Running ones need -Force. A cancelled
    /// <paramref name="cancel"/> ends the waits (a stop, a busy cgroup) with OperationCanceledException and leaves the
    /// entry, so the container is listed and can be removed again.
    /// </summary>
    public void Remove(string name, bool force, CancellationToken cancel = default) => ContainerRemoval.Remove(this, name, force, cancel);

    /// <summary>Freezes a running container's whole cgroup and waits until the kernel reports it frozen.</summary>
    public Container Suspend(string name) => ContainerPause.Suspend(this, name);

    /// <summary>Thaws a paused container and waits until the kernel reports it thawed.</summary>
    public Container Resume(string name) => ContainerPause.Resume(this, name);

    /// <summary>One container from the depot, its state decided by the live kernel. Writes nothing.</summary>
    public Container Get(string name) => StateReader.Get(this, name);

    /// <summary>Every container in the depot. A damaged entry is reported through <paramref name="onCorrupt"/> and skipped.</summary>
    public IEnumerable<Container> List(Action<string, PscException>? onCorrupt = null) => StateReader.List(this, onCorrupt);

    /// <summary>
    /// The spec of every container in the depot, without asking the kernel about its state (what Get-ContainerStats
    /// needs: the name and the cgroup). A damaged entry is reported through <paramref name="onCorrupt"/> and skipped.
    /// </summary>
    public IEnumerable<ContainerSpec> Specs(Action<string, PscException>? onCorrupt = null) => StateReader.Specs(this, onCorrupt);

    /// <summary>
    /// The container's cgroup (read from its spec, the kernel is not asked), else ContainerHasNoCGroup: a rootless
    /// container without limits runs without one. What every cmdlet that acts on a container's cgroup asks.
    /// </summary>
    public string CGroupOf(string name) => StateReader.CGroupOf(StateReader.ReadSpec(this, name));

    /// <summary>The cgroup a spec names, else ContainerHasNoCGroup.</summary>
    public static string CGroupOf(ContainerSpec spec) => StateReader.CGroupOf(spec);

    /// <summary>What a container's writable layer holds and its limits (Get-ContainerStats), or null without an image.</summary>
    public static LayerUsage? LayerUsage(ContainerSpec spec) => WritableLayer.Usage(spec);

    /// <summary>Sets (or with a null value removes) one user property, kept in the depot's spec.json.</summary>
    public Container SetProperty(string name, string key, string? value) => ContainerProperties.SetProperty(this, name, key, value);

    /// <summary>The container's event log: created, started, exited, stopped, oom-killed, paused, resumed…</summary>
    public IEnumerable<ContainerEvent> Events(string name) => ContainerEvents.Events(this, name);

    /// <summary>
    /// Logs the OOM kills the container's cgroup counts beyond the "oom-killed" events already logged, under the
    /// container's lock: exactly once however many sessions observe the same end. Only for an init that ended without
    /// logging them (killed with its cgroup); while it runs, it logs them itself when the program ends. Returns the
    /// count of kills.
    /// </summary>
    public long RecordOomKills(string name) => ContainerEvents.RecordOomKills(this, name);

    /// <summary>
    /// Passes the container's stdout and stderr lines to <paramref name="onLine"/> as they are written, until its main
    /// process has ended (returns the container, exit code filled in) or <paramref name="cancel"/> is set (returns null).
    /// </summary>
    public Container? Follow(string name, Action<LogStream, string> onLine, CancellationToken cancel) => ContainerEvents.Follow(this, name, onLine, cancel);

    /// <summary>Moves an outside process into a running container's cgroups (the seeds' migrate_process).</summary>
    /// <summary>Start-ContainerProcess: one more process in a running container, tracked in the depot beyond this session.</summary>
    public ContainerProcess StartProcess(ContainerExecRequest r) => ProcessTracker.Start(this, r);

    /// <summary>The container's processes: "main" (its program, once started) and each one started in it.</summary>
    public IEnumerable<ContainerProcess> Processes(string name, bool includeUntracked = false) => ProcessTracker.List(this, name, includeUntracked);

    public ContainerProcess GetProcess(string name, string id) => ProcessTracker.Get(this, name, id);

    /// <summary>The psc-init binary (the attach client is <c>psc-init --attach &lt;record folder&gt;</c>).</summary>
    public static string InitPath => Launcher.InitPath;

    /// <summary>The record folder of a running -Tty process, whose attach socket <c>psc-init --attach</c> joins.</summary>
    public string AttachTarget(string name, string id, bool justStarted = false) => ProcessTracker.AttachTarget(this, name, id, justStarted);

    public ContainerProcess WaitProcess(string name, string id, TimeSpan? timeout, CancellationToken cancel) =>
        ProcessTracker.Wait(this, name, id, timeout, cancel);

    /// <summary>A signal as given, or SIGTERM, <paramref name="timeout"/>, SIGKILL (<paramref name="force"/>: SIGKILL at once).</summary>
    public ContainerProcess StopProcess(string name, string id, int? signal, TimeSpan timeout, bool force, CancellationToken cancel = default) =>
        ProcessTracker.Stop(this, name, id, signal, timeout, force, cancel);

    /// <summary>
    /// A reader of a process's output from its beginning: the output.log in the depot entry for "main" (empty for a
    /// container never started), the one in the process's record for the rest.
    /// </summary>
    public ILogFollower ProcessOutput(string name, string id)
    {
        if (id == ContainerProcess.MainId)
        {
            Get(name);
            return new ProcessLogs(Depot.PathOf(name));
        }
        ProcessTracker.Get(this, name, id);
        return new ProcessLogs(ProcessTracker.RecordDir(this, name, id));
    }

    /// <summary>
    /// Passes a process's output to <paramref name="onLine"/>: first what it wrote so far (the last <paramref name="tail"/>
    /// lines of <paramref name="stream"/>), then each line as it is written, until the process has ended (returns true)
    /// or <paramref name="cancel"/> is set (returns false; the process goes on).
    /// </summary>
    public bool FollowProcess(string name, string id, LogStream stream, int? tail, Action<LogStream, string> onLine, CancellationToken cancel) =>
        ContainerEvents.FollowProcess(this, name, id, stream, tail, onLine, cancel);

    public void MoveProcess(int pid, string name) => ProcessMove.MoveProcess(this, pid, name);

    /// <summary>
    /// The cgroup a process moved into this container joins: the container must be Running or Paused
    /// (ContainerNotRunning) and have a cgroup of its own (ContainerHasNoCGroup). Nothing is moved.
    /// </summary>
    public string MoveTarget(string name) => ProcessMove.MoveTarget(this, name);

    /// <summary>Runs a clean-up step whose failure must not hide the error being reported (or that a reader may not be allowed to do).</summary>
    internal static void TryQuietly(Action action)
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
