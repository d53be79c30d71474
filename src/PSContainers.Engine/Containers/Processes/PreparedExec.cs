using System.Diagnostics;
using System.Globalization;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Containers;

/// <summary>A validated exec: the resolved program and psc-init's config. <see cref="Run"/> may be called on any thread.</summary>
public sealed partial class PreparedExec
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

    /// <summary>On a pty (only a tracked start can be).</summary>
    public bool Tty { get; init; }

    /// <summary>Host pid of the running program, once psc-init reported it.</summary>
    public int? Pid { get; private set; }

    /// <summary>
    /// Runs the program and blocks until it ends; each stdout/stderr line goes to the callbacks on this thread. Returns the
    /// exit code (128+n for signal n). Cancellation stops it (and its session) and throws OperationCanceledException.
    /// </summary>
    public int Run(Action<string> onStdout, Action<string> onStderr, CancellationToken cancel) => Run(onStdout, onStderr, cancel, null, null);

    /// <summary>
    /// As <see cref="Run(Action{string}, Action{string}, CancellationToken)"/>; with <paramref name="input"/> the
    /// program's stdin is fed from it (and closed when it completes; else stdin is /dev/null); with
    /// <paramref name="onStdoutBytes"/> stdout arrives as the bytes the program wrote, not as lines.
    /// </summary>
    public int Run(Action<string> onStdout, Action<string> onStderr, CancellationToken cancel, ExecInput? input, Action<byte[]>? onStdoutBytes)
    {
        cancel.ThrowIfCancellationRequested();
        if (Tty)
        {
            throw PscException.Invalid("TtyNeedsTrackedProcess", $"A terminal is attached to through a tracked process: use Start-ContainerProcess -Tty or Enter-Container for '{FilePath}'.", FilePath);
        }
        Process process = Launch(input is null ? _config : _config.Concat("stdin=1\0"u8.ToArray()).ToArray(), out string conf);
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
            // The timer first: closing waits for a stdin write that a program not reading its input may hold up.
            killTimer = new Timer(_ => TryKill(process), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
            CloseStdin();
        });
        Task? feeder = null;
        void Feed()
        {
            // Only once the program runs: before that, anything on psc-init's stdin aborts the start.
            feeder ??= Task.Run(() => input!.WriteTo(chunk =>
            {
                lock (stdinLock)
                {
                    if (stdinClosed)
                    {
                        throw new OperationCanceledException();
                    }
                    Stream s = process.StandardInput.BaseStream;
                    s.Write(chunk);
                    s.Flush();
                }
            }, cancel));
        }
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
                            byte[] bytes = reader.ReadBytes(n);
                            if (f[0] == "o" && onStdoutBytes is not null)
                            {
                                onStdoutBytes(bytes);
                            }
                            else
                            {
                                (f[0] == "o" ? outLines : errLines).Add(bytes);
                            }
                            break;
                        case "exec" when f.Length >= 3 && f[1] == "0":
                            Pid = int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
                            if (input is not null)
                            {
                                Feed();
                            }
                            break;
                        case "exec" or "error" when Failure(f) is PscException failed:
                            cancel.ThrowIfCancellationRequested();
                            throw failed;
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
                input?.Abandon();
                try
                {
                    feeder?.Wait(TimeSpan.FromSeconds(5));
                }
                catch (AggregateException)
                {
                }
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

    /// <summary>Writes the config (private, 0600: the environment may hold secrets) beside the entry and starts psc-init --exec on it.</summary>
    private Process Launch(byte[] config, out string conf)
    {
        if (!PidHandle.IsAlive(_initPid, _initStartTicks))
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{ContainerName}' is no longer running.", ContainerName);
        }
        string init = Launcher.InitPath;
        if (!File.Exists(init))
        {
            throw new PscException("InitNotFound", ErrorKind.ObjectNotFound, $"psc-init was not found at {init}; rebuild the module (dotnet build) or set {Launcher.InitVariable}.", init);
        }
        // psc-init reads it once at start; it is removed as soon as psc-init answers.
        conf = Path.Combine(_depotDir, $"exec-{Guid.NewGuid():N}.conf");
        try
        {
            using var fs = new FileStream(conf, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            fs.Write(config);
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
        try
        {
            return Process.Start(psi) ?? throw new PscException("InitStart", ErrorKind.NotSpecified, $"Could not start {init}.", init);
        }
        catch
        {
            TryDelete(conf);
            throw;
        }
    }

    /// <summary>The error an "exec &lt;errno&gt; ..." (errno not 0) or "error ..." answer means; null for any other line.</summary>
    private PscException? Failure(string[] f)
    {
        if (f[0] == "exec" && f.Length >= 2 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int errno) && errno != 0)
        {
            string step = f.Length > 2 ? f[2] : "execve";
            return new PscException($"ContainerExec,{Errno.Name(errno)}", Errno.Kind(errno),
                $"Container '{ContainerName}' could not run '{FilePath}': {step} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}).", FilePath, errno);
        }
        if (f[0] == "error" && f.Length >= 3 && int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int err))
        {
            if (f[1] == "target")
            {
                return new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{ContainerName}' is no longer running.", ContainerName, err);
            }
            string detail = f.Length > 3 ? f[3] : "";
            return new PscException($"ContainerExecSetup,{Errno.Name(err)}", Errno.Kind(err),
                $"Could not enter container '{ContainerName}': {f[1]} failed: {Errno.Describe(err)} ({Errno.Name(err)}) {detail}".TrimEnd(), ContainerName, err);
        }
        return null;
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
}
