using System.Diagnostics;
using System.Text.Json;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.Network;

/// <summary>
/// One network test's world: a <see cref="NetLab"/> (its "host" namespace is where the engine puts the bridge, the
/// veths, the nft table and the qdiscs) and a <see cref="ContainerHost"/> (a depot, image store and cgroup root of its
/// own) whose manager points at the lab. Dispose removes the containers first (their host-side objects live in the
/// lab), then the lab, even when the test failed.
/// </summary>
public sealed class BridgeLab : IDisposable
{
    /// <summary>A TCP and UDP server on one port: answers "&lt;tag&gt; &lt;peer address&gt;" (UDP: then the datagram).</summary>
    public const string EchoServer = """
        import socket, sys, threading
        port, tag = int(sys.argv[1]), sys.argv[2]
        def udp():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(('0.0.0.0', port))
            while True:
                d, a = u.recvfrom(2048)
                u.sendto(('%s %s ' % (tag, a[0])).encode() + d, a)
        threading.Thread(target=udp, daemon=True).start()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', port))
        s.listen(64)
        while True:
            c, a = s.accept()
            try:
                c.sendall(('%s %s\n' % (tag, a[0])).encode())
            except OSError:
                pass
            c.close()
        """;

    /// <summary>
    /// A client: host port proto [timeout]. Prints the answer (exit 0), or "refused", "unreachable", "timeout" or the
    /// error's name (exit 1), and the seconds it took on a second line.
    /// </summary>
    public const string Client = """
        import errno, socket, sys, time
        host, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 3
        t = time.monotonic()
        try:
            if proto == 'tcp':
                s = socket.create_connection((host, port), timeout=timeout)
                print(s.recv(200).decode().strip())
            else:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.settimeout(timeout)
                u.sendto(b'ping', (host, port))
                print(u.recv(200).decode().strip())
            code = 0
        except ConnectionRefusedError:
            print('refused'); code = 1
        except socket.timeout:
            print('timeout'); code = 1
        except OSError as e:
            print('unreachable' if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else errno.errorcode.get(e.errno, str(e))); code = 1
        print('%.3f' % (time.monotonic() - t))
        sys.exit(code)
        """;

    public const string Python = "/usr/bin/python3";

    private readonly List<Process> _processes = new();

    public BridgeLab(int poolFirst = 61001, int poolLast = 65000)
    {
        Lab = NetLab.Up("psc-nt");
        try
        {
            Skip.IfNot(File.Exists(Python), "needs /usr/bin/python3 (Debian's python3) for the servers and clients");
            foreach (string tool in new[] { "nft", "tc", "ss", "sysctl" })
            {
                Skip.IfNot(NetLab.OnPath(tool), $"bridge networking needs {tool} (nftables, iproute2, procps)");
            }
            Host = new ContainerHost();
            Settings = new NetworkSettings { HostNetns = Lab.HostNetns, PoolFirst = poolFirst, PoolLast = poolLast };
            Host.Manager.Network = Settings;
        }
        catch
        {
            Lab.Dispose();
            throw;
        }
    }

    public NetLab Lab { get; }

    public ContainerHost Host { get; } = null!;

    public ContainerManager M => Host.Manager;

    public NetworkSettings Settings { get; }

    /// <summary>The container's own network namespace (the bind mount its psc-init joins).</summary>
    public string NetnsOf(string name) => Path.Combine(M.Depot.PathOf(name), BridgeNetwork.NetnsFile);

    /// <summary>A bridged container (not started).</summary>
    public Container Create(string name, string file, string[] args, string[]? publish = null, string[]? deny = null, long? limit = null, long? burst = null) =>
        M.Create(new ContainerManager.Request
        {
            Name = name, FilePath = file, ArgumentList = args, Network = ContainerNetwork.Bridge,
            PublishPort = publish, DenyNetwork = deny, BandwidthLimit = limit, BandwidthBurst = burst,
        });

    /// <summary>A bridged container running <see cref="EchoServer"/> on <paramref name="port"/>, listening when this returns.</summary>
    public Container StartEcho(string name, int port, string[]? publish = null, string[]? deny = null, long? limit = null)
    {
        Create(name, Python, new[] { "-c", EchoServer, port.ToString(System.Globalization.CultureInfo.InvariantCulture), name }, publish, deny, limit);
        M.Start(name);
        WaitForListener(NetnsOf(name), port);
        return M.Get(name);
    }

    /// <summary>Runs <see cref="Client"/> in a namespace file: (answer or error word, seconds, exit).</summary>
    public (string Answer, double Seconds, int Exit) Connect(string netns, string host, int port, string proto = "tcp", double timeout = 3)
    {
        var (exit, stdout, stderr) = Run(netns, TimeSpan.FromSeconds(timeout + 10), Python, "-c", Client, host, port.ToString(System.Globalization.CultureInfo.InvariantCulture), proto,
            timeout.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 2, $"the client printed '{stdout}' ({stderr})");
        return (lines[0].Trim(), double.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture), exit);
    }

    public (string Answer, double Seconds, int Exit) Connect(LabSide side, string host, int port, string proto = "tcp", double timeout = 3) =>
        Connect(Lab.Netns(side), host, port, proto, timeout);

    /// <summary>Runs a command in a network namespace file to its end; killed and failed past the bound.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(string netns, TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--net=" + netns, "--", file }.Concat(args))
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
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {timeout.TotalSeconds} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a command in the lab's host namespace and returns its stdout; a failure fails the test.</summary>
    public string InHost(params string[] args)
    {
        var (exit, stdout, stderr) = Lab.Run(LabSide.Host, args[0], args[1..]);
        Assert.True(exit == 0, $"{string.Join(' ', args)} in the lab's host: exit {exit}: {stderr}");
        return stdout;
    }

    /// <summary>Starts a command in a namespace file without waiting; killed on dispose.</summary>
    public Process Start(string netns, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--net=" + netns, "--", file }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    /// <summary>Starts <see cref="EchoServer"/> in one side of the lab, listening when this returns.</summary>
    public void StartEcho(LabSide side, int port, string tag)
    {
        Start(Lab.Netns(side), Python, "-c", EchoServer, port.ToString(System.Globalization.CultureInfo.InvariantCulture), tag);
        WaitForListener(Lab.Netns(side), port);
    }

    /// <summary>Waits (up to 10 s) until something listens on the TCP port in the namespace.</summary>
    public static void WaitForListener(string netns, int port, string flags = "-Hltn")
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var (exit, stdout, _) = Run(netns, TimeSpan.FromSeconds(10), "ss", flags, $"sport = :{port}");
            if (exit == 0 && stdout.Trim().Length > 0)
            {
                return;
            }
            if (sw.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"nothing listens on port {port} in {netns} after 10 s");
            }
            Thread.Sleep(20);
        }
    }

    /// <summary>The names of the links in the lab's host.</summary>
    public string[] HostLinks()
    {
        using var doc = JsonDocument.Parse(InHost("ip", "-j", "link", "show"));
        return doc.RootElement.EnumerateArray().Select(l => l.GetProperty("ifname").GetString()!).OrderBy(n => n, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The lab host's whole nft ruleset, as text.</summary>
    public string Ruleset() => InHost("nft", "list", "ruleset");

    /// <summary>The depot's mounts (findmnt): none may be left.</summary>
    public string[] DepotMounts() => File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains(M.Depot.Root, StringComparison.Ordinal)).ToArray();

    /// <summary>Asserts the lab's host holds nothing of the module's: only lo and uplink0, no table, no qdisc but the defaults, no mount.</summary>
    public void AssertNothingLeft()
    {
        Assert.Equal(new[] { "lo", "uplink0" }, HostLinks());
        Assert.Equal("", Ruleset().Trim());
        string qdiscs = InHost("tc", "qdisc", "show");
        Assert.DoesNotContain("tbf", qdiscs, StringComparison.Ordinal);
        Assert.DoesNotContain("ingress", qdiscs, StringComparison.Ordinal);
        Assert.Empty(DepotMounts());
    }

    public void Dispose()
    {
        try
        {
            NetLab.KillAll(_processes);
            if (Host is not null)
            {
                // What a creation cut short by a failed test left (a staging entry with its namespace mounted): swept.
                try
                {
                    StaleSweep.Run(M);
                }
                catch (PSContainers.Native.PscException)
                {
                }
                Host.Dispose();
            }
        }
        finally
        {
            Lab.Dispose();
        }
    }
}
