using System.Globalization;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>What Invoke-ContainerCommand asks for: one more program in a running container.</summary>
public sealed record ContainerExecRequest
{
    public string Name { get; init; } = "";

    /// <summary>An absolute path inside the container, a path relative to the working directory, or a name searched in PATH.</summary>
    public string FilePath { get; init; } = "";

    public string[] ArgumentList { get; init; } = Array.Empty<string>();

    /// <summary>Added to (and overriding) the container's environment.</summary>
    public IDictionary<string, string>? Environment { get; init; }

    /// <summary>Absolute, inside the container; default the container's working directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>A name, uid or uid:gid from the container's own /etc/passwd; default the container's user.</summary>
    public string? User { get; init; }

    /// <summary>rlimits by name (as New-Container -ResourceLimit), over the container's own.</summary>
    public IDictionary<string, object?>? ResourceLimits { get; init; }

    /// <summary>Start-ContainerProcess -Tty: the program runs on a pty allocated inside the container.</summary>
    public bool Tty { get; init; }

    /// <summary>The pty's columns and rows (1 to 9999; default 80 x 24).</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>With Tty: a terminal attaches right after the start (Enter-Container); the tracker waits for it.</summary>
    public bool AttachNext { get; init; }
}

/// <summary>
/// Runs another process inside a running container (Garden's Run, runc exec) through <c>psc-init --exec</c>: it joins
/// the container's cgroups and namespaces and its root, so the process sees the container's init as pid 1. The
/// engine never forks, reaps or setns()es itself. psc-init's stdout is a stream of records ("o &lt;n&gt;" / "e &lt;n&gt;"
/// followed by n bytes of the program's stdout / stderr, and the status lines "exec", "error", "exit"; see "Exec" in
/// src/psc-init/README.md), so output can be any bytes and never mixes with the status. Closing psc-init's stdin stops the
/// program and what is left of its session.
/// </summary>
public static class ContainerExec
{
    /// <summary>
    /// Validates and runs: <paramref name="onStdout"/> and <paramref name="onStderr"/> get each line (without its newline)
    /// on the calling thread as it arrives. Returns the exit code, 128+n for signal n. Cancelling kills the program and
    /// its session and throws <see cref="OperationCanceledException"/> once nothing of it runs.
    /// </summary>
    public static int Run(ContainerManager m, string name, string filePath, string[]? args, IDictionary<string, string>? env,
        string? workingDirectory, string? user, Action<string> onStdout, Action<string> onStderr, CancellationToken cancel) =>
        Prepare(m, new ContainerExecRequest
        {
            Name = name, FilePath = filePath, ArgumentList = args ?? Array.Empty<string>(), Environment = env, WorkingDirectory = workingDirectory, User = user,
        }).Run(onStdout, onStderr, cancel);

    /// <summary>Checks everything that can be checked before anything runs; the result runs the program (once or more).</summary>
    public static PreparedExec Prepare(ContainerManager m, ContainerExecRequest r)
    {
        Container c = m.Get(r.Name);
        if (c.State != ContainerState.Running)
        {
            throw NotRunning(r.Name, c.State.ToString());
        }
        var state = m.Depot.ReadJson<ContainerRuntimeState>(r.Name, "state.json");
        if (state is null || !PidHandle.IsAlive(state.InitPid, state.InitStartTicks))
        {
            throw NotRunning(r.Name, "no longer running");
        }
        ContainerSpec spec = c.Spec;
        string root = $"/proc/{state.InitPid}/root";

        string where = $" in container '{r.Name}'";
        var env = SpecValidator.Environment(spec.Environment, r.Environment);
        string cwd = r.WorkingDirectory ?? spec.WorkingDirectory;
        SpecValidator.WorkingDirectory(cwd, root, where);
        string file = SpecValidator.Program(r.FilePath, root, cwd, env.TryGetValue("PATH", out string? path) ? path : SpecValidator.DefaultPath, where);
        SpecValidator.Arguments(r.ArgumentList);
        (int Cols, int Rows)? tty = r.Tty ? (SpecValidator.TerminalSize(r.Width ?? 80, "-Width"), SpecValidator.TerminalSize(r.Height ?? 24, "-Height"))
            : r.Width is not null || r.Height is not null ? throw PscException.Invalid("TerminalSizeNeedsTty", $"-Width and -Height size a terminal; add -Tty (given: {r.Width?.ToString(CultureInfo.InvariantCulture) ?? "-"} x {r.Height?.ToString(CultureInfo.InvariantCulture) ?? "-"}).", r.Width ?? r.Height)
            : null;
        var rlimits = new Dictionary<string, RLimitValue>(spec.ResourceLimits, StringComparer.Ordinal);
        foreach (var (key, value) in r.ResourceLimits ?? new Dictionary<string, object?>())
        {
            rlimits[key.ToLowerInvariant()] = RLimits.Parse(key, value);
        }
        (int Uid, int Gid, int[] Groups)? ids = r.User is not null
            ? Users.Resolve(r.User, root)
            : spec.User is not null ? (spec.Uid, spec.Gid, spec.Groups) : null;

        var cgroupDirs = spec.CGroupPath.Length > 0
            ? m.CGroups.WritableTrees.Where(t => t.Exists(spec.CGroupPath)).Select(t => t.FullPath(spec.CGroupPath)).ToArray()
            : Array.Empty<string>();
        var config = new InitConfig()
            .Add("target", state.InitPid.ToString(CultureInfo.InvariantCulture))
            .Add("target_start", state.InitStartTicks.ToString(CultureInfo.InvariantCulture));
        foreach (string dir in cgroupDirs)
        {
            config.Add("cgroup", dir);
        }
        if (tty is var (cols, rows))
        {
            config.Add("tty", $"{cols.ToString(CultureInfo.InvariantCulture)}x{rows.ToString(CultureInfo.InvariantCulture)}");
            if (r.AttachNext)
            {
                config.Add("attach_wait", "1");
            }
        }
        config.AddProcess(cwd, ids, rlimits, env, file, r.ArgumentList);
        return new PreparedExec(r.Name, file, r.ArgumentList, m.Depot.PathOf(r.Name), state.InitPid, state.InitStartTicks, config.ToBytes()) { Tty = r.Tty };
    }

    private static PscException NotRunning(string name, string state) =>
        new("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {state}; commands run only in a Running container.", name);
}
