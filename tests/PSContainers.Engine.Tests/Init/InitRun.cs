using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace PSContainers.Engine.Tests.Init;

internal static class Libc
{
    [DllImport("libc", SetLastError = true)]
    public static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int sig);

    public const int SIGKILL = 9, SIGTERM = 15;
}

/// <summary>The exit file psc-init's init writes into the depot.</summary>
public sealed record ExitRecord(string ExitCode, int Signal, long ExitTimeNs, string Raw);

/// <summary>
/// One run of psc-init speaking its stdin/stdout protocol directly (no engine classes): a temp depot
/// with an empty output.log (the main program's stdout and stderr as records), optionally a cgroup of its own in memory, pids, freezer and unified,
/// and the config file. Every process the run starts carries a marker in its environment (the
/// launcher's, and the main program's via env=) so Dispose can find and kill leftovers even without
/// cgroups; Dispose then removes the cgroups and the depot, also when the test failed.
/// </summary>
public sealed class InitRun : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly string[] Controllers = { "memory", "pids", "freezer", "unified" };
    private readonly List<(string Key, string Value)> _config = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<string> _extraDirs = new();

    public InitRun(bool cgroups = true, bool marker = true, bool logs = true)
    {
        Skip.IfNot(IsRoot, "psc-init tests need root (cgroups, namespaces)");
        Depot = Directory.CreateTempSubdirectory("psc-init-test-").FullName;
        Add("depot", Depot);
        if (logs)
        {
            File.WriteAllText(OutputLog, "");
            Add("log_max", LogMax.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (marker)
        {
            Add("env", MarkerVar + "=" + Id);
        }
        if (cgroups)
        {
            foreach (string c in Controllers)
            {
                string mount = "/sys/fs/cgroup/" + c;
                if (!Directory.Exists(mount))
                {
                    continue;
                }
                string dir = Path.Combine(mount, "psc-init-test-" + Id);
                Directory.CreateDirectory(dir);
                CGroups.Add(dir);
                Add("cgroup", dir);
            }
        }
    }

    public static string InitPath => Path.Combine(AppContext.BaseDirectory, "psc-init");

    public static bool IsRoot => Libc.geteuid() == 0;

    public const string MarkerVar = "PSC_INIT_TEST";

    public string Id { get; } = Guid.NewGuid().ToString("N")[..10];

    public string Depot { get; }

    /// <summary>The main program's output.log cap in these runs.</summary>
    public const long LogMax = 1 << 20;

    public string OutputLog => Path.Combine(Depot, "output.log");

    public string ConfigPath => Path.Combine(Depot, "init.conf");

    public string ExitPath => Path.Combine(Depot, "exit");

    /// <summary>The cgroup directories this run created (and removes).</summary>
    public List<string> CGroups { get; } = new();

    public Process? Launcher { get; private set; }

    public int InitPid { get; private set; }

    public int MainPid { get; private set; }

    /// <summary>The main program's stdout so far, taken from the "o" records of output.log (and output.log.1 before it).</summary>
    public string Stdout => Stream('o');

    /// <summary>Its stderr so far (with psc-init's own notes), from the "e" records.</summary>
    public string Stderr => Stream('e');

    /// <summary>One stream of the main program's output (<see cref="OutputRecords"/>).</summary>
    public string Stream(char tag) => OutputRecords.Stream(Depot, tag);

    /// <summary>What psc-init printed on its stderr so far (diagnostics).</summary>
    public string LauncherStderr { get { lock (_stderr) { return _stderr.ToString(); } } }

    public InitRun Add(string key, string value)
    {
        _config.Add((key, value));
        return this;
    }

    public InitRun Ns(params string[] names)
    {
        foreach (string n in names)
        {
            Add("ns", n);
        }
        return this;
    }

    public InitRun Program(params string[] argv)
    {
        foreach (string a in argv)
        {
            Add("arg", a);
        }
        return this;
    }

    public InitRun Sh(string script) => Program("/bin/sh", "-c", script).Add("env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin");

    /// <summary>A directory removed on dispose (e.g. a root file system).</summary>
    public string TempDir(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "psc-init-test-" + Id + "-" + name);
        Directory.CreateDirectory(dir);
        _extraDirs.Add(dir);
        return dir;
    }

    /// <summary>
    /// Writes the config, starts psc-init and returns its first stdout line. `command` replaces the
    /// plain psc-init path (e.g. setpriv ... -- /path/psc-init); the config path is appended.
    /// </summary>
    public string Start(params string[] command)
    {
        var bytes = new List<byte>();
        foreach (var (k, v) in _config)
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(k + "=" + v));
            bytes.Add(0);
        }
        File.WriteAllBytes(ConfigPath, bytes.ToArray());
        if (command.Length == 0)
        {
            command = new[] { InitPath };
        }
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(ConfigPath);
        psi.Environment[MarkerVar] = Id;
        Launcher = Process.Start(psi)!;
        Launcher.ErrorDataReceived += (_, e) => { if (e.Data != null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        Launcher.BeginErrorReadLine();
        string line = ReadLine();
        if (line.StartsWith("exec 0 "))
        {
            string[] f = line.Split(' ');
            InitPid = int.Parse(f[2]);
            MainPid = int.Parse(f[3]);
        }
        return line;
    }

    /// <summary>Start and assert the program runs ("exec 0 &lt;init&gt; &lt;main&gt;").</summary>
    public InitRun StartRunning(params string[] command)
    {
        string line = Start(command);
        Assert.True(line.StartsWith("exec 0 "), $"expected exec 0, got '{line}'; stderr: {LauncherStderr}");
        return this;
    }

    public string ReadLine()
    {
        var t = Launcher!.StandardOutput.ReadLineAsync();
        if (!t.Wait(Timeout))
        {
            throw new TimeoutException("psc-init printed nothing; stderr: " + LauncherStderr);
        }
        return t.Result ?? "<eof>";
    }

    /// <summary>Start, expect exec 0, wait for the exit record.</summary>
    public ExitRecord Run()
    {
        StartRunning();
        return WaitExit();
    }

    public int WaitLauncher()
    {
        Assert.True(Launcher!.WaitForExit((int)Timeout.TotalMilliseconds), "psc-init (A) did not exit");
        Launcher.WaitForExit();
        return Launcher.ExitCode;
    }

    public ExitRecord WaitExit() => WaitExit(Timeout);

    public ExitRecord WaitExit(TimeSpan timeout)
    {
        Assert.True(WaitUntil(() => File.Exists(ExitPath), timeout), "no exit record; stderr: " + Stderr);
        string raw = File.ReadAllText(ExitPath);
        var kv = raw.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        return new ExitRecord(kv["exit_code"], int.Parse(kv["signal"]), long.Parse(kv["exit_time_ns"]), raw);
    }

    /// <summary>Waits until the stdout log contains text.</summary>
    public void WaitForOutput(string text) =>
        Assert.True(WaitUntil(() => Stdout.Contains(text), Timeout), $"'{text}' not in stdout log: {Stdout}");

    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                return false;
            }
            Thread.Sleep(10);
        }
        return true;
    }

    /// <summary>Process state letter from /proc/pid/stat, or '\0' when the pid does not exist.</summary>
    public static char State(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return '\0';
        }
    }

    public static bool Alive(int pid) => State(pid) is not ('\0' or 'Z' or 'X');

    /// <summary>Direct children of a process (zombies included), from /proc.</summary>
    public static int[] Children(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        }
        catch (IOException)
        {
            return Array.Empty<int>();
        }
    }

    public List<int> CGroupProcs(string cgroup) =>
        File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")).Where(l => l.Length > 0).Select(int.Parse).ToList();

    /// <summary>Live (non-zombie) processes of this run: in its cgroups or carrying its marker.</summary>
    public List<int> LivePids()
    {
        var pids = new HashSet<int>();
        foreach (string cg in CGroups)
        {
            try
            {
                pids.UnionWith(CGroupProcs(cg));
            }
            catch (IOException)
            {
            }
        }
        byte[] marker = Encoding.ASCII.GetBytes(MarkerVar + "=" + Id + "\0");
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                if (File.ReadAllBytes(dir + "/environ").AsSpan().IndexOf(marker) >= 0)
                {
                    pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        pids.RemoveWhere(p => !Alive(p));
        return pids.ToList();
    }

    /// <summary>True when no process of this run is left within the timeout.</summary>
    public bool NoneLeft(TimeSpan timeout) => WaitUntil(() => LivePids().Count == 0, timeout);

    public void Dispose()
    {
        try
        {
            if (Launcher is { HasExited: false })
            {
                Launcher.Kill();
                Launcher.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        Launcher?.Dispose();
        WaitUntil(() =>
        {
            var left = LivePids();
            foreach (int p in left)
            {
                Libc.kill(p, Libc.SIGKILL);
            }
            return left.Count == 0;
        }, TimeSpan.FromSeconds(10));
        foreach (string cg in CGroups)
        {
            // rmdir fails with EBUSY until the last task has left; zombies do not count.
            WaitUntil(() =>
            {
                try
                {
                    Directory.Delete(cg);
                    return true;
                }
                catch (DirectoryNotFoundException)
                {
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(5));
        }
        foreach (string dir in _extraDirs.Append(Depot))
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
