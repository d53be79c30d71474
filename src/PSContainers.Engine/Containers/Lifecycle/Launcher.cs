using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Starts a container through psc-init: the config records go in, one answer line comes out. psc-init joins the
/// cgroups, clones init into the namespaces, forks the main process, records state.json and the "started" event in
/// the depot and lets the program run; it answers "exec 0 &lt;init pid&gt; &lt;main pid&gt; &lt;start time in ns&gt;",
/// "exec &lt;errno&gt; &lt;step&gt;" when the program could not be executed, or "error &lt;step&gt; &lt;errno&gt; &lt;detail&gt;"
/// for any setup failure (after killing what it made). The .NET process never forks, reaps or becomes a subreaper
/// itself.
///
/// The psc-init that does this is resident (`psc-init --serve`, a small pool per process and psc-init path), so a
/// start costs no process start of its own: on this kind of machine an exec is a millisecond and more. A server
/// that misbehaves or times out is closed (EOF on its stdin makes it abort the start in progress and exit) and
/// replaced on the next start; all of them end with the process that started them.
/// </summary>
internal static class Launcher
{
    public const string InitVariable = "PSCONTAINERS_INIT";

    /// <summary>
    /// Idle launchers per psc-init path, last used first. A stack, not a ConcurrentBag: a bag keeps a queue per thread
    /// that ever added to it and searches them all when the taker's own is empty, and PowerShell runs each invocation
    /// of a runspace on a new thread, so with a bag every Start-Container paid for every earlier one (+1.1 ms after a
    /// few hundred, and a queue per dead thread kept forever).
    /// </summary>
    private static readonly ConcurrentDictionary<string, ConcurrentStack<LaunchServer>> Idle = new(StringComparer.Ordinal);

    /// <summary>psc-init: $PSCONTAINERS_INIT, else beside the engine assembly (the module folder, a test's bin).</summary>
    public static string InitPath
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(InitVariable);
            return string.IsNullOrEmpty(env) ? Bundled.Value : env;
        }
    }

    /// <summary>
    /// The psc-init beside the engine (a build's module folder), else the one for this process's architecture under
    /// runtimes/&lt;rid&gt;/ (the Gallery package ships linux-x64 and linux-arm64).
    /// </summary>
    private static readonly Lazy<string> Bundled = new(() =>
    {
        string dir = Path.GetDirectoryName(typeof(Launcher).Assembly.Location) ?? AppContext.BaseDirectory;
        string beside = Path.Combine(dir, "psc-init");
        string rid = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "linux-x64",
            System.Runtime.InteropServices.Architecture.Arm64 => "linux-arm64",
            _ => "",
        };
        string packaged = Path.Combine(dir, "runtimes", rid, "psc-init");
        return !File.Exists(beside) && rid.Length > 0 && File.Exists(packaged) ? packaged : beside;
    });
    /// <summary>
    /// The records psc-init reads to start the container <paramref name="spec"/> describes; <paramref name="oomCounter"/>
    /// is the cgroup's OOM kill counter file, which the init reads when the program ends to log its OOM kills.
    /// </summary>
    public static byte[] Config(ContainerSpec spec, string depotDir, IEnumerable<string> cgroupDirs, string? oomCounter = null)
    {
        var config = new InitConfig().Add("depot", depotDir);
        foreach (string dir in cgroupDirs)
        {
            config.Add("cgroup", dir);
        }
        if (oomCounter is not null)
        {
            config.Add("oom", oomCounter);
        }
        foreach (var (flag, name) in new[]
        {
            (ContainerIsolation.User, "user"), (ContainerIsolation.Pid, "pid"), (ContainerIsolation.Mount, "mount"), (ContainerIsolation.Uts, "uts"),
            (ContainerIsolation.Ipc, "ipc"), (ContainerIsolation.Network, "net"), (ContainerIsolation.CGroup, "cgroup"),
        })
        {
            if (spec.Isolation.HasFlag(flag) && !(flag == ContainerIsolation.Network && spec.Network == ContainerNetwork.Bridge))
            {
                config.Add("ns", name);
            }
        }
        if (spec.Network == ContainerNetwork.Bridge)
        {
            config.Add("netns", Path.Combine(depotDir, BridgeNetwork.NetnsFile)); // made at create, with its veth (psc-init/README.md)
        }
        else if (spec.Network == ContainerNetwork.None)
        {
            config.Add("loopback", "0"); // a namespace with nothing up
        }
        if (spec.Isolation.HasFlag(ContainerIsolation.User))
        {
            int uid = Sys.EffectiveUid;
            int gid = (int)(uint)Tmds.Linux.LibC.getegid();
            // Root maps the whole id range onto itself; anyone else maps only their own id to root inside.
            config.Add("uid_map", uid == 0 ? "0 0 4294967295" : $"0 {uid} 1");
            config.Add("gid_map", uid == 0 ? "0 0 4294967295" : $"0 {gid} 1");
        }
        if (spec.Hostname is not null)
        {
            config.Add("hostname", spec.Hostname);
        }
        if (spec.RootPath is not null)
        {
            config.Add("root", spec.RootPath);
            // The hosts, hostname and resolv.conf written at create (an entry made before they were has none).
            string etc = Path.Combine(depotDir, EtcFiles.Folder);
            if (Directory.Exists(etc))
            {
                config.Add("etc", etc);
            }
        }
        if (spec.IsSandbox)
        {
            config.Add("sandbox", "1"); // no program: the init holds the container open (psc-init/README.md, "Sandbox")
        }
        else
        {
            config.AddProcess(spec.WorkingDirectory, spec.User is null ? null : (spec.Uid, spec.Gid, spec.Groups), spec.ResourceLimits, spec.Environment, spec.FilePath, spec.ArgumentList);
        }
        // The main program's stdout and stderr, drained by the init into the depot's output.log (psc-init/README.md,
        // "Output logs"), rotated at the cap a tracked process's log has.
        return config
            .Add("log_max", ProcessTracker.LogMax.ToString(CultureInfo.InvariantCulture))
            .ToBytes();
    }

    /// <summary>Ends the idle launchers, so the next start spawns a fresh one (tests: what a new launcher inherits).</summary>
    internal static void CloseIdleLaunchers()
    {
        foreach (var bag in Idle.Values)
        {
            while (bag.TryPop(out LaunchServer? server))
            {
                server.Dispose();
            }
        }
    }

    /// <summary>What a start answered: the host pids of init and the main process, and when it started (the same
    /// values psc-init wrote to state.json; the time is absent from a psc-init older than the engine).</summary>
    public readonly record struct Started(int InitPid, int MainPid, long? StartTimeUnixNs);

    /// <summary>Starts the container <paramref name="config"/> describes.</summary>
    public static Started Launch(byte[] config, string name, TimeSpan timeout)
    {
        string init = InitPath;
        if (!File.Exists(init))
        {
            throw new PscException("InitNotFound", ErrorKind.ObjectNotFound, $"psc-init was not found at {init}; rebuild the module (dotnet build) or set {InitVariable}.", init);
        }
        var idle = Idle.GetOrAdd(init, _ => new ConcurrentStack<LaunchServer>());
        if (!idle.TryPop(out LaunchServer? server))
        {
            server = new LaunchServer(init);
        }
        string? line;
        try
        {
            line = server.Request(config, timeout);
        }
        catch
        {
            server.Dispose();
            throw;
        }
        string[] f = line?.Split(' ', 5) ?? Array.Empty<string>();
        if (line is not null && !server.TimedOut)
        {
            idle.Push(server); // a clear answer, good or bad: the server is ready for the next start
        }
        else
        {
            server.Dispose();
        }
        if (server.TimedOut)
        {
            // Even when the program got to run meanwhile: the caller takes down whatever was made.
            throw new PscException("ContainerStartTimeout", ErrorKind.OperationTimeout, $"psc-init did not answer in time while starting container '{name}'.", name);
        }
        if (f.Length >= 4 && f[0] == "exec" && f[1] == "0" && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int initPid)
            && int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out int mainPid))
        {
            return new Started(initPid, mainPid,
                f.Length == 5 && long.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out long ns) ? ns : null);
        }
        if (line is null)
        {
            throw new PscException("ContainerStart", ErrorKind.NotSpecified, $"psc-init ended without an answer while starting container '{name}': {server.Stderr}", name);
        }
        if (f[0] == "error" && f.Length >= 3 && int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int errno))
        {
            string detail = f.Length > 3 ? f[3] : "";
            throw new PscException($"ContainerSetup,{Errno.Name(errno)}", Errno.Kind(errno),
                $"Container '{name}' could not be set up: {f[1]} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}) {detail}".TrimEnd(), name, errno);
        }
        if (f[0] == "exec" && f.Length >= 2 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out errno) && errno != 0)
        {
            string step = f.Length > 2 ? f[2] : "execve";
            throw new PscException($"ContainerExec,{Errno.Name(errno)}", Errno.Kind(errno),
                $"Container '{name}' could not run its program: {step} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}).", name, errno);
        }
        throw new PscException("InitProtocol", ErrorKind.NotSpecified, $"psc-init said '{line}' while starting container '{name}'. {server.Stderr}", name);
    }

    /// <summary>One resident `psc-init --serve`: requests on its stdin, one answer line each on its stdout.</summary>
    private sealed class LaunchServer : IDisposable
    {
        private readonly Process _process;
        private readonly Stream _stdin;
        private readonly StringBuilder _stderr = new();

        public LaunchServer(string init)
        {
            var psi = new ProcessStartInfo(init)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("--serve");
            _process = Process.Start(psi) ?? throw new PscException("InitStart", ErrorKind.NotSpecified, $"Could not start {init}.", init);
            _stdin = _process.StandardInput.BaseStream;
            // psc-init itself writes nothing to stderr in normal work; what it might say is kept for error messages.
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_stderr)
                {
                    if (e.Data is not null && _stderr.Length < 4096)
                    {
                        _stderr.AppendLine(e.Data);
                    }
                }
            };
            _process.BeginErrorReadLine();
        }

        public bool TimedOut { get; private set; }

        public string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString().Trim();
                }
            }
        }

        /// <summary>Sends one request and reads its answer; null when the server ended without one.</summary>
        public string? Request(byte[] config, TimeSpan timeout)
        {
            byte[] header = Encoding.ASCII.GetBytes(config.Length.ToString(CultureInfo.InvariantCulture) + "\n");
            try
            {
                _stdin.Write(header);
                _stdin.Write(config);
                _stdin.Flush();
            }
            catch (IOException)
            {
                return null; // the server is gone; the caller replaces it
            }
            // A blocking read: the answer comes within milliseconds. On timeout the server's stdin is closed, which
            // makes it kill what it made for this start, answer "error aborted" and exit.
            using var timer = new Timer(_ =>
            {
                TimedOut = true;
                Close();
            }, null, timeout, Timeout.InfiniteTimeSpan);
            return _process.StandardOutput.ReadLine();
        }

        private void Close()
        {
            try
            {
                _stdin.Close();
                if (!_process.WaitForExit(3000))
                {
                    _process.Kill();
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }

        public void Dispose()
        {
            Close();
            _process.Dispose();
        }
    }
}
