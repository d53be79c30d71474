using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using Xunit.Abstractions;

namespace PSContainers.Engine.Tests.Network;

/// <summary>Published ports (NetIn) and outbound NAT, each in a lab of its own on the real kernel.</summary>
[Trait("Layout", "network")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels
public class NetInTests
{
    private readonly ITestOutputHelper _out;

    public NetInTests(ITestOutputHelper output) => _out = output;

    [SkippableFact]
    public void A_published_port_answers_from_outside_from_the_hosts_loopback_from_another_container_and_from_itself()
    {
        using var b = new BridgeLab();
        Container web = b.StartEcho("nt-web", 80, publish: new[] { "8080:80" });
        Assert.Equal(new[] { new PortMapping(8080, 80, PortProtocol.Tcp) { ContainerName = "nt-web" } }, web.MappedPorts);
        Assert.NotNull(web.IPAddress);

        // From the outside world to the host's address: DNAT; the container sees the outside's own address.
        var outside = b.Connect(LabSide.Outside, NetLab.HostAddress, 8080);
        Assert.Equal($"nt-web {NetLab.OutsideAddress}", outside.Answer);

        // From the host itself, on 127.0.0.1 and on its own address (output chain, route_localnet, masquerade).
        Assert.StartsWith("nt-web ", b.Connect(LabSide.Host, "127.0.0.1", 8080).Answer, StringComparison.Ordinal);
        Assert.StartsWith("nt-web ", b.Connect(LabSide.Host, NetLab.HostAddress, 8080).Answer, StringComparison.Ordinal);

        // From a second container on the bridge, through the host's address (hairpin).
        b.Create("nt-other", "/bin/sleep", new[] { "600" });
        b.M.Start("nt-other");
        var other = b.Connect(b.NetnsOf("nt-other"), NetLab.HostAddress, 8080);
        Assert.Equal(0, other.Exit);
        Assert.StartsWith("nt-web ", other.Answer, StringComparison.Ordinal);

        // The container through its own published port.
        var self = b.Connect(b.NetnsOf("nt-web"), NetLab.HostAddress, 8080);
        Assert.Equal(0, self.Exit);
        Assert.StartsWith("nt-web ", self.Answer, StringComparison.Ordinal);

        // A port not published does not answer.
        Assert.Equal(1, b.Connect(LabSide.Outside, NetLab.HostAddress, 8081, timeout: 1).Exit);
    }

    [SkippableFact]
    public void A_udp_port_and_a_port_from_the_pool_answer()
    {
        using var b = new BridgeLab(poolFirst: 62000, poolLast: 62009);
        Container dns = b.StartEcho("nt-dns", 53, publish: new[] { "5353:53/udp", "0:53" });
        Assert.Equal(new PortMapping(5353, 53, PortProtocol.Udp) { ContainerName = "nt-dns" }, dns.MappedPorts[0]);
        int pooled = dns.MappedPorts[1].HostPort;
        Assert.InRange(pooled, 62000, 62009);
        Assert.Equal(PortProtocol.Tcp, dns.MappedPorts[1].Protocol);

        var udp = b.Connect(LabSide.Outside, NetLab.HostAddress, 5353, "udp");
        Assert.Equal($"nt-dns {NetLab.OutsideAddress} ping", udp.Answer);
        Assert.Equal($"nt-dns {NetLab.OutsideAddress}", b.Connect(LabSide.Outside, NetLab.HostAddress, pooled).Answer);
        // tcp 5353 is not published: only udp is
        Assert.Equal(1, b.Connect(LabSide.Outside, NetLab.HostAddress, 5353, "tcp", timeout: 1).Exit);

        // Publish-ContainerPort on the running container: the next port of the pool, never the one just handed out.
        PortMapping more = b.M.PublishPort("nt-dns", 53, 0, PortProtocol.Udp);
        Assert.InRange(more.HostPort, 62000, 62009);
        Assert.NotEqual(pooled, more.HostPort);
        Assert.StartsWith("nt-dns ", b.Connect(LabSide.Outside, NetLab.HostAddress, more.HostPort, "udp").Answer, StringComparison.Ordinal);

        // A new session's pool goes on after the cursor (the depot keeps it).
        using var session = b.Host.NewSession();
        session.Network = b.Settings;
        session.Create(new ContainerManager.Request { Name = "nt-next", FilePath = "/bin/true", Network = ContainerNetwork.Bridge, PublishPort = new[] { "0:1" } });
        int next = session.Get("nt-next").MappedPorts[0].HostPort;
        Assert.True(next > more.HostPort, $"the pool handed out {next} after {more.HostPort}");
    }

    [SkippableFact]
    public void Unpublishing_removes_the_map_entry_and_the_ports_conntrack_entries()
    {
        using var b = new BridgeLab();
        b.StartEcho("nt-un", 53, publish: new[] { "5353:53/udp", "8053:53" });
        Assert.StartsWith("nt-un ", b.Connect(LabSide.Outside, NetLab.HostAddress, 5353, "udp").Answer, StringComparison.Ordinal);
        Assert.StartsWith("nt-un ", b.Connect(LabSide.Outside, NetLab.HostAddress, 8053).Answer, StringComparison.Ordinal);
        Assert.Contains("udp . 5353", b.InHost("nft", "list", "map", "inet", "psc0", "published"), StringComparison.Ordinal);
        bool conntrack = NetLab.OnPath("conntrack");
        if (conntrack)
        {
            Assert.Contains("dport=5353", b.InHost("conntrack", "-L", "-p", "udp"), StringComparison.Ordinal);
        }

        PortMapping[] gone = b.M.UnpublishPort("nt-un", 5353, PortProtocol.Udp);
        Assert.Equal(new[] { new PortMapping(5353, 53, PortProtocol.Udp) { ContainerName = "nt-un" } }, gone);
        string map = b.InHost("nft", "list", "map", "inet", "psc0", "published");
        Assert.DoesNotContain("5353", map, StringComparison.Ordinal);
        Assert.Contains("tcp . 8053", map, StringComparison.Ordinal);
        Assert.Equal(new[] { new PortMapping(8053, 53, PortProtocol.Tcp) { ContainerName = "nt-un" } }, b.M.Get("nt-un").MappedPorts);
        if (conntrack)
        {
            Assert.DoesNotContain("dport=5353", b.InHost("conntrack", "-L", "-p", "udp"), StringComparison.Ordinal);
        }
        else
        {
            _out.WriteLine("skipped the conntrack assertion: conntrack (Debian's conntrack package) is not installed");
        }
        // The host port no longer reaches the container (a UDP client gets no answer, or an ICMP port unreachable).
        Assert.Equal(1, b.Connect(LabSide.Outside, NetLab.HostAddress, 5353, "udp", timeout: 1).Exit);
        Assert.StartsWith("nt-un ", b.Connect(LabSide.Outside, NetLab.HostAddress, 8053).Answer, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void What_a_container_sends_out_has_the_hosts_address_as_its_source()
    {
        using var b = new BridgeLab();
        b.StartEcho(LabSide.Outside, 7000, "outside");
        b.Create("nt-nat", "/bin/sleep", new[] { "600" });
        b.M.Start("nt-nat");
        var r = b.Connect(b.NetnsOf("nt-nat"), NetLab.OutsideAddress, 7000);
        Assert.Equal($"outside {NetLab.HostAddress}", r.Answer);
        var u = b.Connect(b.NetnsOf("nt-nat"), NetLab.OutsideAddress, 7000, "udp");
        Assert.Equal($"outside {NetLab.HostAddress} ping", u.Answer);
    }

    [SkippableFact]
    public void Network_none_leaves_even_loopback_down_and_private_brings_it_up()
    {
        Skip.IfNot(File.Exists("/usr/sbin/ip"), "needs /usr/sbin/ip (iproute2)");
        using var h = new Containers.ContainerHost();
        foreach (var (name, network) in new[] { ("nt-none", ContainerNetwork.None), ("nt-private", ContainerNetwork.Private) })
        {
            h.Manager.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", "/usr/sbin/ip -o link show | wc -l; /usr/sbin/ip -o link show lo" }, Network = network });
            h.Manager.Start(name);
            Assert.Equal(0, h.Manager.Wait(name, TimeSpan.FromSeconds(30), CancellationToken.None).ExitCode);
        }
        string[] none = h.Stdout("nt-none"), priv = h.Stdout("nt-private");
        Assert.Equal("1", none[0].Trim());
        Assert.DoesNotContain(",UP", none[1], StringComparison.Ordinal);
        Assert.Equal("1", priv[0].Trim());
        Assert.Contains(",UP", priv[1], StringComparison.Ordinal);
    }
}
