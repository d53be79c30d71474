using System.Globalization;
using System.Text.Json;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using Xunit.Abstractions;

namespace PSContainers.Engine.Tests.Network;

/// <summary>Bandwidth limits measured with iperf3 both ways, and the network counters of Get-ContainerStats.</summary>
[Trait("Layout", "network")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels
public class BandwidthTests
{
    private readonly ITestOutputHelper _out;

    public BandwidthTests(ITestOutputHelper output) => _out = output;

    /// <summary>iperf3 -J's receiver rate in bytes per second.</summary>
    private static double Received(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 8;
    }

    private static double Iperf(string netns, string address, int port, int seconds)
    {
        var (exit, stdout, stderr) = BridgeLab.Run(netns, TimeSpan.FromSeconds(seconds + 15), "iperf3", "-c", address, "-p",
            port.ToString(CultureInfo.InvariantCulture), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J", "--connect-timeout", "3000");
        Assert.True(exit == 0, $"iperf3 -c {address}:{port}: exit {exit}: {stdout}{stderr}");
        return Received(stdout);
    }

    private void AssertNear(double measured, long limit, string what)
    {
        double ratio = measured / limit;
        _out.WriteLine($"{what}: {measured / 1e6:F3} MB/s against a limit of {limit / 1e6:F3} MB/s ({ratio * 100:F1} %)");
        Assert.InRange(ratio, 0.85, 1.15);
    }

    [SkippableFact]
    public void The_limit_holds_both_ways_changes_on_a_running_container_and_goes_with_its_qdiscs()
    {
        Skip.IfNot(NetLab.OnPath("iperf3"), "needs iperf3 (Debian's iperf3 package)");
        using var b = new BridgeLab();
        const long limit = 2_000_000, faster = 4_000_000;
        // An iperf3 server in the container (published) and one in the outside world; one test each (-1).
        b.Create("nt-bw", "/usr/bin/iperf3", new[] { "-s", "-p", "5201" }, publish: new[] { "9201:5201" }, limit: limit);
        b.M.Start("nt-bw");
        string ns = b.NetnsOf("nt-bw");
        BridgeLab.WaitForListener(ns, 5201);
        b.Start(b.Lab.OutsideNetns, "iperf3", "-s", "-p", "5201");
        BridgeLab.WaitForListener(b.Lab.OutsideNetns, 5201);
        string veth = BridgeNetwork.Read(b.M.Depot.PathOf("nt-bw"))!.HostInterface;
        string ifb = "psi" + veth[3..];
        Assert.Contains(ifb, b.HostLinks());
        Assert.Contains("tbf", b.InHost("tc", "qdisc", "show", "dev", veth), StringComparison.Ordinal);

        AssertNear(Iperf(ns, NetLab.OutsideAddress, 5201, 3), limit, "container -> outside");
        AssertNear(Iperf(b.Lab.OutsideNetns, NetLab.HostAddress, 9201, 3), limit, "outside -> published port");

        Assert.Equal(faster, b.M.SetBandwidth("nt-bw", faster, null).BandwidthLimit);
        Assert.Equal(faster, b.M.Get("nt-bw").BandwidthLimit);
        AssertNear(Iperf(ns, NetLab.OutsideAddress, 5201, 2), faster, "container -> outside after SetBandwidth");

        Assert.Null(b.M.SetBandwidth("nt-bw", null, null).BandwidthLimit);
        Assert.DoesNotContain(ifb, b.HostLinks());
        string qdiscs = b.InHost("tc", "qdisc", "show", "dev", veth);
        Assert.DoesNotContain("tbf", qdiscs, StringComparison.Ordinal);
        Assert.DoesNotContain("ingress", qdiscs, StringComparison.Ordinal);
        double free = Iperf(ns, NetLab.OutsideAddress, 5201, 1);
        _out.WriteLine($"container -> outside without a limit: {free / 1e6:F1} MB/s");
        Assert.True(free > 2 * faster, $"without a limit only {free} B/s");
    }

    [SkippableFact]
    public void Network_usage_grows_by_at_least_what_a_transfer_moved_both_ways()
    {
        using var b = new BridgeLab();
        const int n = 4 << 20;
        // The outside world: a sink on 7100 and a source of n bytes on 7101.
        b.Start(b.Lab.OutsideNetns, BridgeLab.Python, "-c", $$"""
            import socket, threading
            def serve(port, fn):
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', port)); s.listen(8)
                while True:
                    c, _ = s.accept(); fn(c); c.close()
            def sink(c):
                while c.recv(65536): pass
            threading.Thread(target=serve, args=(7100, sink), daemon=True).start()
            serve(7101, lambda c: c.sendall(b'x' * {{n}}))
            """);
        BridgeLab.WaitForListener(b.Lab.OutsideNetns, 7100);
        BridgeLab.WaitForListener(b.Lab.OutsideNetns, 7101);
        b.Create("nt-stats", "/bin/sleep", new[] { "600" });
        b.M.Start("nt-stats");
        ContainerSpec spec = b.M.Get("nt-stats").Spec;
        NetworkUsage before = b.M.NetworkUsage(spec)!;

        string ns = b.NetnsOf("nt-stats");
        var send = BridgeLab.Run(ns, TimeSpan.FromSeconds(20), BridgeLab.Python, "-c",
            $"import socket; s = socket.create_connection(('{NetLab.OutsideAddress}', 7100), timeout=10); s.sendall(b'y' * {n}); s.shutdown(socket.SHUT_WR); s.recv(1)");
        Assert.True(send.Exit == 0, send.Stderr);
        NetworkUsage sent = b.M.NetworkUsage(spec)!;
        var get = BridgeLab.Run(ns, TimeSpan.FromSeconds(20), BridgeLab.Python, "-c", $$"""
            import socket
            s = socket.create_connection(('{{NetLab.OutsideAddress}}', 7101), timeout=10); got = 0
            while True:
                d = s.recv(65536)
                if not d: break
                got += len(d)
            print(got)
            """);
        Assert.Equal(n.ToString(CultureInfo.InvariantCulture), get.Stdout.Trim());
        NetworkUsage after = b.M.NetworkUsage(spec)!;
        _out.WriteLine($"before {before}\nsent   {sent}\nafter  {after}");

        Assert.True(sent.TxBytes - before.TxBytes >= n, $"tx grew by {sent.TxBytes - before.TxBytes} for {n} bytes sent");
        Assert.True(after.RxBytes - sent.RxBytes >= n, $"rx grew by {after.RxBytes - sent.RxBytes} for {n} bytes received");
        // Packets: at least one per 64 KiB (a veth passes GSO packets whole), and the other way the ACKs.
        Assert.True(sent.TxPackets - before.TxPackets >= n / 65536, $"tx packets grew by {sent.TxPackets - before.TxPackets}");
        Assert.True(after.RxPackets - sent.RxPackets >= n / 65536, $"rx packets grew by {after.RxPackets - sent.RxPackets}");
        Assert.True(sent.RxPackets > before.RxPackets && after.TxPackets > sent.TxPackets, "the ACKs of each transfer were counted");
        Assert.Equal(0, after.RxDropped + after.TxDropped);

        // Stopped, the counters come from the host end of the veth (in the lab's host namespace, through ip): at least
        // what the container had counted, each direction.
        b.M.Stop("nt-stats", TimeSpan.Zero, force: true);
        NetworkUsage stopped = b.M.NetworkUsage(spec)!;
        _out.WriteLine($"stopped {stopped}");
        Assert.True(stopped.RxBytes >= after.RxBytes && stopped.TxBytes >= after.TxBytes, $"stopped {stopped} vs running {after}");
    }
}
