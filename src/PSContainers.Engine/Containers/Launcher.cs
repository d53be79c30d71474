using System.Diagnostics;
using System.Globalization;
using System.Text;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Starts a container through psc-init and speaks its line protocol on psc-init's stdin/stdout:
/// psc-init joins the cgroups, detaches, unshares and forks init and the main process, then says
/// "ready &lt;init pid&gt; &lt;main pid&gt;"; the engine records them and answers "go"; psc-init answers "exec 0" once the
/// user's program is running, or "exec &lt;errno&gt; &lt;step&gt;" when it could not be started. Setup failures arrive as
/// "error &lt;step&gt; &lt;errno&gt; &lt;detail&gt;". The .NET process never forks, reaps or becomes a subreaper itself.
/// </summary>
internal static class Launcher
{
    public const string InitVariable = "PSCONTAINERS_INIT";

    /// <summary>psc-init: $PSCONTAINERS_INIT, else beside the engine assembly (the module folder, a test's bin).</summary>
    public static string InitPath
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(InitVariable);
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            return Path.Combine(Path.GetDirectoryName(typeof(Launcher).Assembly.Location) ?? AppContext.BaseDirectory, "psc-init");
        }
    }

    /// <summary>The NUL-separated key=value records psc-init reads.</summary>
    public static byte[] Config(ContainerSpec spec, string depotDir, IEnumerable<string> cgroupDirs)
    {
        var sb = new StringBuilder();
        void Add(string key, string value) => sb.Append(key).Append('=').Append(value).Append('\0');
        Add("depot", depotDir);
        foreach (string dir in cgroupDirs)
        {
            Add("cgroup", dir);
        }
        foreach (var (flag, name) in new[]
        {
            (ContainerIsolation.User, "user"), (ContainerIsolation.Pid, "pid"), (ContainerIsolation.Mount, "mount"), (ContainerIsolation.Uts, "uts"),
            (ContainerIsolation.Ipc, "ipc"), (ContainerIsolation.Network, "net"), (ContainerIsolation.CGroup, "cgroup"),
        })
        {
            if (spec.Isolation.HasFlag(flag))
            {
                Add("ns", name);
            }
        }
        if (spec.Isolation.HasFlag(ContainerIsolation.User))
        {
            int uid = Sys.EffectiveUid;
            int gid = (int)(uint)Tmds.Linux.LibC.getegid();
            // Root maps the whole id range onto itself; anyone else maps only their own id to root inside.
            Add("uid_map", uid == 0 ? "0 0 4294967295" : $"0 {uid} 1");
            Add("gid_map", uid == 0 ? "0 0 4294967295" : $"0 {gid} 1");
        }
        if (spec.Hostname is not null)
        {
            Add("hostname", spec.Hostname);
        }
        Add("cwd", spec.WorkingDirectory);
        if (spec.RootPath is not null)
        {
            Add("root", spec.RootPath);
        }
        if (spec.User is not null)
        {
            // Without -User the program keeps init's ids: root, or root of its user namespace.
            Add("uid", spec.Uid.ToString(CultureInfo.InvariantCulture));
            Add("gid", spec.Gid.ToString(CultureInfo.InvariantCulture));
            Add("groups", string.Join(',', spec.Groups.Select(g => g.ToString(CultureInfo.InvariantCulture))));
        }
        foreach (var (name, value) in spec.ResourceLimits)
        {
            Add("rlimit", $"{name}:{Limit(value.Soft)}:{Limit(value.Hard)}");
        }
        Add("no_new_privs", "1");
        foreach (var (key, value) in spec.Environment)
        {
            Add("env", key + "=" + value);
        }
        Add("arg", spec.FilePath);
        foreach (string a in spec.ArgumentList)
        {
            Add("arg", a);
        }
        Add("stdout", Path.Combine(depotDir, "stdout.log"));
        Add("stderr", Path.Combine(depotDir, "stderr.log"));
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string Limit(long v) => v == -1 ? "unlimited" : v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs the protocol. <paramref name="onReady"/> gets the host pids of init and the main process before the
    /// program runs (the engine records them); if it throws, psc-init is told nothing and kills what it made.
    /// </summary>
    public static (int InitPid, int MainPid) Launch(string configPath, string name, Action<int, int> onReady, TimeSpan timeout)
    {
        string init = InitPath;
        if (!File.Exists(init))
        {
            throw new PscException("InitNotFound", ErrorKind.ObjectNotFound, $"psc-init was not found at {init}; rebuild the module (dotnet build) or set {InitVariable}.", init);
        }
        var psi = new ProcessStartInfo(init)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(configPath);
        using var process = Process.Start(psi) ?? throw new PscException("InitStart", ErrorKind.NotSpecified, $"Could not start {init}.", init);
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            string[] ready = Expect(process, cts.Token, name, stderr);
            if (ready[0] != "ready" || ready.Length < 3)
            {
                throw Protocol(name, ready, stderr);
            }
            int initPid = int.Parse(ready[1], CultureInfo.InvariantCulture);
            int mainPid = int.Parse(ready[2], CultureInfo.InvariantCulture);
            onReady(initPid, mainPid);
            process.StandardInput.Write("go\n");
            process.StandardInput.Flush();
            string[] exec = Expect(process, cts.Token, name, stderr);
            if (exec[0] != "exec" || exec.Length < 2)
            {
                throw Protocol(name, exec, stderr);
            }
            int errno = int.Parse(exec[1], CultureInfo.InvariantCulture);
            if (errno != 0)
            {
                string step = exec.Length > 2 ? exec[2] : "execve";
                throw new PscException($"ContainerExec,{Errno.Name(errno)}", Errno.Kind(errno),
                    $"Container '{name}' could not run its program: {step} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}).", name, errno);
            }
            return (initPid, mainPid);
        }
        finally
        {
            // Closing stdin before "go" makes psc-init kill everything it made.
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
            if (!process.WaitForExit(5000))
            {
                process.Kill();
            }
            process.WaitForExit();
        }
    }

    private static string[] Expect(Process process, CancellationToken token, string name, Task<string> stderr)
    {
        string? line;
        try
        {
            line = process.StandardOutput.ReadLineAsync(token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PscException("ContainerStartTimeout", ErrorKind.OperationTimeout, $"psc-init did not answer in time while starting container '{name}'.", name);
        }
        if (line is null)
        {
            process.WaitForExit(2000);
            throw new PscException("ContainerStart", ErrorKind.NotSpecified,
                $"psc-init ended without an answer while starting container '{name}': {Tail(stderr)}", name);
        }
        string[] f = line.Split(' ', 4);
        if (f[0] == "error" && f.Length >= 3 && int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int errno))
        {
            string detail = f.Length > 3 ? f[3] : "";
            throw new PscException($"ContainerSetup,{Errno.Name(errno)}", Errno.Kind(errno),
                $"Container '{name}' could not be set up: {f[1]} failed: {Errno.Describe(errno)} ({Errno.Name(errno)}) {detail}".TrimEnd(), name, errno);
        }
        return f;
    }

    private static PscException Protocol(string name, string[] line, Task<string> stderr) =>
        new("InitProtocol", ErrorKind.NotSpecified, $"psc-init said '{string.Join(' ', line)}' while starting container '{name}'. {Tail(stderr)}", name);

    private static string Tail(Task<string> stderr) =>
        stderr.IsCompleted ? stderr.Result.Trim() : "";
}
