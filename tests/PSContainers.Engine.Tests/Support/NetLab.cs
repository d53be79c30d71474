using System.Diagnostics;

namespace PSContainers.Engine.Tests.Support;

/// <summary>Which of a <see cref="NetLab"/>'s two network namespaces.</summary>
public enum LabSide
{
    /// <summary>The "host": uplink0 198.51.100.1/24 and a default route via the outside.</summary>
    Host,

    /// <summary>"The outside world": eth0 198.51.100.2/24.</summary>
    Outside,
}

/// <summary>
/// A network lab of two network namespaces made by tests/net/netlab.sh in a folder of its own under /tmp: "host" (point
/// the engine's NetworkSettings.HostNetns at <see cref="HostNetns"/>) and "outside", joined by a veth pair with
/// TEST-NET-2 addresses. Nothing in it reaches the machine's real interfaces. Dispose kills every process still in
/// the two namespaces and unmounts them, even when the test failed. Tests skip with <see cref="SkipReason"/> where
/// the machine cannot make it. The lab does not set $PSCONTAINERS_HOST_NETNS: tests in this process run in parallel.
/// </summary>
public sealed class NetLab : IDisposable
{
    public const string HostAddress = "198.51.100.1";

    public const string OutsideAddress = "198.51.100.2";

    private static readonly Lazy<string?> Probe = new(ProbeSkipReason);
    private readonly List<Process> _processes = new();
    private bool _down;

    private NetLab(string dir)
    {
        Dir = dir;
    }

    /// <summary>tests/net/netlab.sh in this repository.</summary>
    public static string Script => Path.Combine(Fixtures.RepoRoot, "tests", "net", "netlab.sh");

    /// <summary>Null when this machine can make the lab (root; unshare, nsenter, ip; a veth pair in a new namespace), else why not.</summary>
    public static string? SkipReason => Probe.Value;

    public string Dir { get; }

    public string HostNetns => Path.Combine(Dir, "host");

    public string OutsideNetns => Path.Combine(Dir, "outside");

    /// <summary>Skips the test where the lab cannot be made, with the reason.</summary>
    public static void SkipUnlessUsable() => Skip.If(SkipReason is not null, SkipReason);

    /// <summary>Makes a lab in a fresh folder /tmp/&lt;prefix&gt;-&lt;random&gt; (skipping the test where it cannot).</summary>
    public static NetLab Up(string prefix = "psc-netlab-xunit")
    {
        SkipUnlessUsable();
        var lab = new NetLab(Path.Combine("/tmp", prefix + "-" + Guid.NewGuid().ToString("N")[..8]));
        var (exit, stdout, stderr) = Exec("bash", new[] { Script, "up", lab.Dir }, TimeSpan.FromSeconds(120));
        if (exit != 0)
        {
            lab.Dispose();
            throw new InvalidOperationException($"netlab.sh up {lab.Dir} failed (exit {exit}): {stdout}{stderr}");
        }
        return lab;
    }

    /// <summary>The namespace file of one side.</summary>
    public string Netns(LabSide side) => side == LabSide.Host ? HostNetns : OutsideNetns;

    /// <summary>Runs a command inside one side to its end; throws <see cref="TimeoutException"/> (after killing it) past the bound.</summary>
    public (int Exit, string Stdout, string Stderr) Run(LabSide side, string file, params string[] args) =>
        Run(side, TimeSpan.FromSeconds(30), file, args);

    /// <inheritdoc cref="Run(LabSide, string, string[])"/>
    public (int Exit, string Stdout, string Stderr) Run(LabSide side, TimeSpan timeout, string file, params string[] args) =>
        Exec("nsenter", new[] { "--net=" + Netns(side), "--", file }.Concat(args).ToArray(), timeout);

    /// <summary>Starts a command inside one side without waiting (a server); killed on dispose.</summary>
    public Process Start(LabSide side, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--net=" + Netns(side), "--", file }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    /// <summary>Waits until something listens on a TCP port inside one side; throws past <paramref name="timeout"/>.</summary>
    public void WaitForListener(LabSide side, int port, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var (exit, stdout, _) = Run(side, "ss", "-Hltn", $"sport = :{port}");
            if (exit == 0 && stdout.Trim().Length > 0)
            {
                return;
            }
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"nothing listens on TCP port {port} in the lab's {side} namespace after {timeout.TotalSeconds} s");
            }
            Thread.Sleep(20);
        }
    }

    /// <summary>Kills each process (with its tree) that still runs, and disposes of them all.</summary>
    public static void KillAll(IEnumerable<Process> processes)
    {
        foreach (var p in processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
    }

    /// <summary>Tears the lab down (netlab.sh down): kills what is still inside, unmounts, removes the folder.</summary>
    public void Dispose()
    {
        if (_down)
        {
            return;
        }
        _down = true;
        KillAll(_processes);
        var (exit, stdout, stderr) = Exec("bash", new[] { Script, "down", Dir }, TimeSpan.FromSeconds(120)); // the VM lane's emulated CPUs are slow
        if (exit != 0)
        {
            throw new InvalidOperationException($"netlab.sh down {Dir} failed (exit {exit}): {stdout}{stderr}");
        }
    }

    private static (int Exit, string Stdout, string Stderr) Exec(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit((int)timeout.TotalMilliseconds))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? ProbeSkipReason()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            return "the network lab needs root (network namespaces, veth)";
        }
        foreach (string tool in new[] { "unshare", "nsenter", "ip", "ss", "bash" })
        {
            if (!OnPath(tool))
            {
                return $"the network lab needs {tool} (util-linux, iproute2)";
            }
        }
        try
        {
            var (exit, stdout, stderr) = Exec("unshare", new[] { "--net", "--", "ip", "link", "add", "psc-probe0", "type", "veth", "peer", "name", "psc-probe1" }, TimeSpan.FromSeconds(10));
            return exit == 0 ? null : "this machine cannot make a veth pair in a new network namespace: " + (stdout + stderr).Trim();
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception)
        {
            return "this machine cannot make a veth pair in a new network namespace: " + e.Message;
        }
    }

    /// <summary>True when an executable of that name is on $PATH.</summary>
    public static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, tool)));
}
