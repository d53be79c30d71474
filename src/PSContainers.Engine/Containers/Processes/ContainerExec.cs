using System.Diagnostics;
using System.Globalization;
using System.Text;
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
}

/// <summary>
/// Runs another process inside a running container (Garden's Run, runc exec) through <c>psc-init --exec</c>: it joins
/// the container's cgroups and namespaces and its root, so the process sees the container's init as pid 1. The
/// engine never forks, reaps or setns()es itself. psc-init's stdout is a stream of records ("o &lt;n&gt;" / "e &lt;n&gt;"
/// followed by n bytes of the program's stdout / stderr, and the status lines "exec", "error", "exit"; see the header
/// of psc-init.c), so output can be any bytes and never mixes with the status. Closing psc-init's stdin stops the
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
        config.AddProcess(cwd, ids, spec.ResourceLimits, env, file, r.ArgumentList);
        return new PreparedExec(r.Name, file, r.ArgumentList, m.Depot.PathOf(r.Name), state.InitPid, state.InitStartTicks, config.ToBytes());
    }

    private static PscException NotRunning(string name, string state) =>
        new("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {state}; commands run only in a Running container.", name);
}

/// <summary>A validated exec: the resolved program and psc-init's config. <see cref="Run"/> may be called on any thread.</summary>
public sealed class PreparedExec
{
    private readonly string _depotDir;
    private readonly int _initPid;
    private readonly ulong _initStartTicks;
    private readonly byte[] _config;

    internal PreparedExec(string name, string file, string[] args, string depotDir, int initPid, ulong initStartTicks, byte[] config)
    {
        ContainerName = name;
        FilePath = file;
        ArgumentList = args;
        _depotDir = depotDir;
        _initPid = initPid;
        _initStartTicks = initStartTicks;
        _config = config;
    }

    public string ContainerName { get; }

    /// <summary>The program, absolute inside the container.</summary>
    public string FilePath { get; }

    public string[] ArgumentList { get; }

    /// <summary>Host pid of the running program, once psc-init reported it.</summary>
    public int? Pid { get; private set; }

    /// <summary>
    /// Runs the program and blocks until it ends; each stdout/stderr line goes to the callbacks on this thread. Returns the
    /// exit code (128+n for signal n). Cancellation stops it (and its session) and throws OperationCanceledException.
    /// </summary>
    public int Run(Action<string> onStdout, Action<string> onStderr, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        if (!PidHandle.IsAlive(_initPid, _initStartTicks))
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{ContainerName}' is no longer running.", ContainerName);
        }
        string init = Launcher.InitPath;
        if (!File.Exists(init))
        {
            throw new PscException("InitNotFound", ErrorKind.ObjectNotFound, $"psc-init was not found at {init}; rebuild the module (dotnet build) or set {Launcher.InitVariable}.", init);
        }
        // Private (0600): the environment may hold secrets. psc-init reads it once at start; it is removed in finally.
        string conf = Path.Combine(_depotDir, $"exec-{Guid.NewGuid():N}.conf");
        try
        {
            using var fs = new FileStream(conf, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            fs.Write(_config);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{ContainerName}' cannot take commands: {e.Message}", ContainerName, 0, e);
        }
        var psi = new ProcessStartInfo(init)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--exec");
        psi.ArgumentList.Add(conf);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new PscException("InitStart", ErrorKind.NotSpecified, $"Could not start {init}.", init);
        }
        catch
        {
            TryDelete(conf);
            throw;
        }
        var stdinLock = new object();
        bool stdinClosed = false;
        void CloseStdin()
        {
            lock (stdinLock)
            {
                if (stdinClosed)
                {
                    return;
                }
                stdinClosed = true;
                try
                {
                    process.StandardInput.Close();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
            }
        }
        Timer? killTimer = null;
        var reg = cancel.Register(() =>
        {
            // psc-init kills the program's session and reports; if it cannot, psc-init itself dies and the program
            // with it (its parent-death signal).
            CloseStdin();
            killTimer = new Timer(_ => TryKill(process), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        });
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var reader = new RecordReader(process.StandardOutput.BaseStream);
            var outLines = new LineSplitter(onStdout);
            var errLines = new LineSplitter(onStderr);
            int? exitCode = null;
            try
            {
                while (true)
                {
                    string? line = reader.ReadLine();
                    if (line is null)
                    {
                        break;
                    }
                    TryDelete(conf);
                    string[] f = line.Split(' ', 4);
                    switch (f[0])
                    {
                        case "o" or "e" when f.Length == 2 && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n):
                            (f[0] == "o" ? outLines : errLines).Add(reader.ReadBytes(n));
                            break;
                        case "exec" when f.Length >= 2 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int errno):
                            if (errno == 0)
                            {
                                Pid = f.Length > 2 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
                                break;
                            }
                            cancel.ThrowIfCancellationRequested();
                            string step = f.Length > 2 ? f[2] : "execve";
                            throw new PscException($"ContainerExec,{Errno.Name(errno)}", Errno.Kind(errno),
                                $"Container '{ContainerName}' could not run '{FilePath}': {step} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}).", FilePath, errno);
                        case "error" when f.Length >= 3 && int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int err):
                            cancel.ThrowIfCancellationRequested();
                            if (f[1] == "target")
                            {
                                throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{ContainerName}' is no longer running.", ContainerName, err);
                            }
                            string detail = f.Length > 3 ? f[3] : "";
                            throw new PscException($"ContainerExecSetup,{Errno.Name(err)}", Errno.Kind(err),
                                $"Could not enter container '{ContainerName}': {f[1]} failed: {Errno.Describe(err)} ({Errno.Name(err)}) {detail}".TrimEnd(), ContainerName, err);
                        case "exit" when f.Length >= 2 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int code):
                            exitCode = code;
                            break;
                        default:
                            throw Protocol(line, stderr);
                    }
                }
                outLines.Flush();
                errLines.Flush();
                process.WaitForExit();
                cancel.ThrowIfCancellationRequested();
                return exitCode ?? throw Protocol("<end of output>", stderr);
            }
            finally
            {
                reg.Dispose();
                CloseStdin();
                if (!process.WaitForExit(5000))
                {
                    TryKill(process);
                }
                process.WaitForExit();
                killTimer?.Dispose();
                TryDelete(conf);
            }
        }
    }

    private PscException Protocol(string line, Task<string> stderr) =>
        new("InitProtocol", ErrorKind.NotSpecified,
            $"psc-init said '{line}' while running '{FilePath}' in container '{ContainerName}'. {(stderr.IsCompleted ? stderr.Result.Trim() : "")}".TrimEnd(), ContainerName);

    private static void TryKill(Process p)
    {
        try
        {
            p.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>psc-init's record stream: ASCII header lines, and raw payloads of a given length.</summary>
    private sealed class RecordReader
    {
        private readonly Stream _stream;
        private readonly byte[] _buf = new byte[65536];
        private int _pos, _len;

        public RecordReader(Stream stream) => _stream = stream;

        private bool Fill()
        {
            _pos = 0;
            _len = _stream.Read(_buf, 0, _buf.Length);
            return _len > 0;
        }

        /// <summary>One header line without its newline; null at the end of the stream.</summary>
        public string? ReadLine()
        {
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos == _len && !Fill())
                {
                    return sb.Length > 0 ? sb.ToString() : null;
                }
                int nl = Array.IndexOf(_buf, (byte)'\n', _pos, _len - _pos);
                int end = nl < 0 ? _len : nl;
                sb.Append(Encoding.UTF8.GetString(_buf, _pos, end - _pos));
                _pos = nl < 0 ? _len : nl + 1;
                if (nl >= 0)
                {
                    return sb.ToString();
                }
                if (sb.Length > 4096)
                {
                    return sb.ToString(); // not a record header: reported as a protocol error
                }
            }
        }

        public byte[] ReadBytes(int n)
        {
            var result = new byte[n];
            int got = 0;
            while (got < n)
            {
                if (_pos == _len && !Fill())
                {
                    throw new EndOfStreamException("psc-init's output ended inside a record.");
                }
                int take = Math.Min(n - got, _len - _pos);
                Buffer.BlockCopy(_buf, _pos, result, got, take);
                _pos += take;
                got += take;
            }
            return result;
        }
    }

    /// <summary>Bytes of one stream to lines: UTF-8 decoded across chunk boundaries, "\n" or "\r\n" ended, the rest flushed at the end.</summary>
    private sealed class LineSplitter
    {
        private readonly Action<string> _onLine;
        private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
        private readonly StringBuilder _line = new();

        public LineSplitter(Action<string> onLine) => _onLine = onLine;

        public void Add(byte[] bytes)
        {
            var chars = new char[_decoder.GetCharCount(bytes, 0, bytes.Length)];
            int n = _decoder.GetChars(bytes, 0, bytes.Length, chars, 0);
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (chars[i] != '\n')
                {
                    continue;
                }
                _line.Append(chars, start, i - start);
                Emit();
                start = i + 1;
            }
            _line.Append(chars, start, n - start);
        }

        public void Flush()
        {
            var chars = new char[_decoder.GetCharCount(Array.Empty<byte>(), 0, 0, flush: true)];
            _decoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, flush: true);
            _line.Append(chars);
            if (_line.Length > 0)
            {
                Emit();
            }
        }

        private void Emit()
        {
            if (_line.Length > 0 && _line[^1] == '\r')
            {
                _line.Length--;
            }
            string s = _line.ToString();
            _line.Clear();
            _onLine(s);
        }
    }
}
