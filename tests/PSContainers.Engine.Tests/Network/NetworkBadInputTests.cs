using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Network;

/// <summary>
/// Every refusal of the network's input: its error id, kind and value, and nothing changed — no depot entry, no link,
/// no nft change, no qdisc, the records and the pool's cursor as they were.
/// </summary>
[Trait("Layout", "network")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels
public class NetworkBadInputTests
{
    private static string Snapshot(BridgeLab b)
    {
        var parts = new List<string> { string.Join(",", b.HostLinks()), b.Ruleset(), b.InHost("tc", "qdisc", "show"), string.Join("\n", b.DepotMounts()) };
        foreach (string f in Directory.GetFileSystemEntries(b.M.Depot.Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            parts.Add(f);
            if (File.Exists(f) && (f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith("port-cursor", StringComparison.Ordinal)))
            {
                parts.Add(File.ReadAllText(f));
            }
        }
        return string.Join("\n--\n", parts);
    }

    private static void Refused(BridgeLab b, string id, ErrorKind kind, string value, Action act)
    {
        string before = Snapshot(b);
        var e = Assert.Throws<PscException>(act);
        Assert.True(e.ErrorId == id, $"expected {id}, got {e.ErrorId}: {e.Message}");
        Assert.Equal(kind, e.Kind);
        Assert.Contains(value, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(b));
    }

    private static ContainerManager.Request Bridged(string name, string[]? publish = null, string[]? deny = null, long? limit = null, long? burst = null, ContainerNetwork network = ContainerNetwork.Bridge) =>
        new() { Name = name, FilePath = "/bin/true", Network = network, PublishPort = publish, DenyNetwork = deny, BandwidthLimit = limit, BandwidthBurst = burst };

    [SkippableFact]
    public void New_container_refuses_bad_ports_networks_and_bandwidths_and_makes_nothing()
    {
        using var b = new BridgeLab();
        b.Create("nt-base", "/bin/true", Array.Empty<string>(), publish: new[] { "8080:80", "0:81" });
        b.Start(b.Lab.HostNetns, BridgeLab.Python, "-c",
            "import socket, time; s = socket.socket(); s.bind(('0.0.0.0', 7777)); s.listen(); time.sleep(600)");
        BridgeLab.WaitForListener(b.Lab.HostNetns, 7777);

        foreach (string bad in new[] { "80:80:80", "8080:80/sctp", "a:80", "8080:", "" })
        {
            Refused(b, "InvalidPortMapping", ErrorKind.InvalidArgument, $"'{bad}'", () => b.M.Create(Bridged("nt-x", new[] { bad })));
        }
        Refused(b, "PortOutOfRange", ErrorKind.InvalidArgument, "70000", () => b.M.Create(Bridged("nt-x", new[] { "70000:80" })));
        Refused(b, "PortOutOfRange", ErrorKind.InvalidArgument, "0", () => b.M.Create(Bridged("nt-x", new[] { "8081:0" })));
        Refused(b, "DuplicateHostPort", ErrorKind.InvalidArgument, "9000", () => b.M.Create(Bridged("nt-x", new[] { "9000:80", "9000:81" })));
        Refused(b, "HostPortTaken", ErrorKind.ResourceExists, "8080", () => b.M.Create(Bridged("nt-x", new[] { "9001:80", "8080:80" })));
        Refused(b, "HostPortInUse", ErrorKind.ResourceBusy, "7777", () => b.M.Create(Bridged("nt-x", new[] { "7777:80" })));
        Refused(b, "InvalidNetwork", ErrorKind.InvalidArgument, "10.0.0.0/33", () => b.M.Create(Bridged("nt-x", deny: new[] { "10.0.0.0/33" })));
        Refused(b, "InvalidNetwork", ErrorKind.InvalidArgument, "10.0.0.9-10.0.0.1", () => b.M.Create(Bridged("nt-x", deny: new[] { "10.0.0.9-10.0.0.1" })));
        Refused(b, "InvalidNetwork", ErrorKind.InvalidArgument, "example.org", () => b.M.Create(Bridged("nt-x", deny: new[] { "example.org" })));
        Refused(b, "NetworkNotBridged", ErrorKind.InvalidOperation, "-PublishPort", () => b.M.Create(Bridged("nt-x", new[] { "8090:80" }, network: ContainerNetwork.Private)));
        Refused(b, "NetworkNotBridged", ErrorKind.InvalidOperation, "-DenyNetwork", () => b.M.Create(Bridged("nt-x", deny: new[] { "0.0.0.0/0" }, network: ContainerNetwork.Host)));
        Refused(b, "InvalidBandwidth", ErrorKind.InvalidArgument, "0", () => b.M.Create(Bridged("nt-x", limit: 0)));
        Refused(b, "InvalidBandwidth", ErrorKind.InvalidArgument, "-5", () => b.M.Create(Bridged("nt-x", limit: -5)));
        Refused(b, "InvalidBandwidth", ErrorKind.InvalidArgument, "-1", () => b.M.Create(Bridged("nt-x", limit: 1000, burst: -1)));
        Refused(b, "BurstWithoutLimit", ErrorKind.InvalidArgument, "4096", () => b.M.Create(Bridged("nt-x", burst: 4096)));
        Assert.Equal(new[] { "nt-base" }, b.M.Depot.Names());
    }

    [SkippableFact]
    public void Changes_to_a_container_refuse_bad_input_and_change_nothing()
    {
        using var b = new BridgeLab();
        b.Create("nt-base", "/bin/true", Array.Empty<string>(), publish: new[] { "8080:80" }, deny: new[] { "0.0.0.0/0" });
        b.Create("nt-two", "/bin/true", Array.Empty<string>(), publish: new[] { "8081:80" });
        b.M.Create(new ContainerManager.Request { Name = "nt-private", FilePath = "/bin/true", Network = ContainerNetwork.Private });
        b.M.AddNetRule("nt-base", NetRuleProtocol.Tcp, new[] { "198.51.100.0/24" }, new[] { "80" }, null, false);

        Refused(b, "PortOutOfRange", ErrorKind.InvalidArgument, "65536", () => b.M.PublishPort("nt-base", 65536, 0, PortProtocol.Tcp));
        Refused(b, "PortOutOfRange", ErrorKind.InvalidArgument, "-1", () => b.M.PublishPort("nt-base", 80, -1, PortProtocol.Tcp));
        Refused(b, "HostPortTaken", ErrorKind.ResourceExists, "8080", () => b.M.PublishPort("nt-base", 81, 8080, PortProtocol.Tcp));
        Refused(b, "HostPortTaken", ErrorKind.ResourceExists, "8081", () => b.M.PublishPort("nt-base", 81, 8081, PortProtocol.Tcp)); // the other container's
        Refused(b, "NetworkNotBridged", ErrorKind.InvalidOperation, "nt-private", () => b.M.PublishPort("nt-private", 80, 0, PortProtocol.Tcp));
        Refused(b, "NetworkNotBridged", ErrorKind.InvalidOperation, "nt-private", () => b.M.AddNetRule("nt-private", NetRuleProtocol.All, new[] { "0.0.0.0/0" }, null, null, false));
        Refused(b, "NetworkNotBridged", ErrorKind.InvalidOperation, "nt-private", () => b.M.SetBandwidth("nt-private", 1000, null));
        Refused(b, "PortNotPublished", ErrorKind.ObjectNotFound, "9999", () => b.M.UnpublishPort("nt-base", 9999, null));
        Refused(b, "PortNotPublished", ErrorKind.ObjectNotFound, "8080/udp", () => b.M.UnpublishPort("nt-base", 8080, PortProtocol.Udp));
        Refused(b, "InvalidNetwork", ErrorKind.InvalidArgument, "198.51.100.0/40", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Tcp, new[] { "198.51.100.0/40" }, null, null, false));
        Refused(b, "InvalidNetwork", ErrorKind.InvalidArgument, "1.2.3", () => b.M.AddNetRule("nt-base", NetRuleProtocol.All, new[] { "1.2.3" }, null, null, false));
        Refused(b, "InvalidPortRange", ErrorKind.InvalidArgument, "90-80", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Tcp, new[] { "0.0.0.0/0" }, new[] { "90-80" }, null, false));
        Refused(b, "InvalidPortRange", ErrorKind.InvalidArgument, "70000", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Udp, new[] { "0.0.0.0/0" }, new[] { "70000" }, null, false));
        Refused(b, "InvalidPortRange", ErrorKind.InvalidArgument, "http", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Tcp, new[] { "0.0.0.0/0" }, new[] { "http" }, null, false));
        Refused(b, "PortsNeedTcpOrUdp", ErrorKind.InvalidArgument, "Icmp", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Icmp, new[] { "0.0.0.0/0" }, new[] { "80" }, null, false));
        Refused(b, "PortsNeedTcpOrUdp", ErrorKind.InvalidArgument, "All", () => b.M.AddNetRule("nt-base", NetRuleProtocol.All, new[] { "0.0.0.0/0" }, new[] { "80" }, null, false));
        Refused(b, "IcmpTypeNeedsIcmp", ErrorKind.InvalidArgument, "Tcp", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Tcp, new[] { "0.0.0.0/0" }, null, 8, false));
        Refused(b, "InvalidIcmpType", ErrorKind.InvalidArgument, "256", () => b.M.AddNetRule("nt-base", NetRuleProtocol.Icmp, new[] { "0.0.0.0/0" }, null, 256, false));
        Refused(b, "NetworkRequired", ErrorKind.InvalidArgument, "-Network", () => b.M.AddNetRule("nt-base", NetRuleProtocol.All, Array.Empty<string>(), null, null, false));
        Refused(b, "NetRuleNotFound", ErrorKind.ObjectNotFound, "7", () => b.M.RemoveNetRule("nt-base", 7));
        Refused(b, "InvalidBandwidth", ErrorKind.InvalidArgument, "0", () => b.M.SetBandwidth("nt-base", 0, null));
        Refused(b, "InvalidBandwidth", ErrorKind.InvalidArgument, "-3", () => b.M.SetBandwidth("nt-base", 1000, -3));
        Assert.Single(b.M.NetRules("nt-base"));
    }

    [SkippableFact]
    public void Bad_settings_a_full_pool_and_a_subnet_over_a_route_refuse_and_make_nothing()
    {
        using var b = new BridgeLab(poolFirst: 64000, poolLast: 64001);
        b.Create("nt-base", "/bin/true", Array.Empty<string>(), publish: new[] { "0:80", "0:81" });
        Assert.Equal(new[] { 64000, 64001 }, b.M.Get("nt-base").MappedPorts.Select(p => p.HostPort).Order());

        Refused(b, "PortPoolExhausted", ErrorKind.LimitsExceeded, "64000-64001", () => b.M.Create(Bridged("nt-x", new[] { "0:80" })));
        Refused(b, "PortPoolExhausted", ErrorKind.LimitsExceeded, "64000-64001", () => b.M.PublishPort("nt-base", 82, 0, PortProtocol.Udp));

        b.M.Network = b.Settings with { Subnet = "10.254.0.0/33" };
        Refused(b, "InvalidSubnet", ErrorKind.InvalidArgument, "10.254.0.0/33", () => b.M.Create(Bridged("nt-x")));
        b.M.Network = b.Settings with { Subnet = "10.254.0.0/30" };
        Refused(b, "InvalidSubnet", ErrorKind.InvalidArgument, "10.254.0.0/30", () => b.M.Create(Bridged("nt-x")));
        b.M.Network = b.Settings with { Bridge = "a bridge name that is far too long" };
        Refused(b, "InvalidBridgeName", ErrorKind.InvalidArgument, "far too long", () => b.M.Create(Bridged("nt-x")));

        // Another bridge whose subnet overlaps a route of the host's: no bridge, no table made.
        b.InHost("ip", "route", "add", "10.99.1.0/24", "via", NetLab.OutsideAddress);
        b.M.Network = b.Settings with { Bridge = "psc1", Subnet = "10.99.0.0/16" };
        Refused(b, "SubnetOverlapsRoute", ErrorKind.InvalidArgument, "10.99.0.0/16", () => b.M.Create(Bridged("nt-x")));
        b.M.Network = b.Settings;

        foreach (string pool in new[] { "70000-1", "5-4", "61001", "a-b", "0-10" })
        {
            var e = Assert.Throws<PscException>(() => NetworkSettings.ParsePool(pool));
            Assert.Equal("InvalidPortPool", e.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
            Assert.Contains($"'{pool}'", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(new[] { "nt-base" }, b.M.Depot.Names());
    }
}
