using System.Text.Json;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.Network;

/// <summary>Egress (NetOut): deny networks, rules allowing exceptions newest first, logging, established replies.</summary>
[Trait("Layout", "network")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels
public class NetOutTests
{
    private static (int Exit, string Output) Ping(string netns, string address)
    {
        string busybox = File.Exists("/usr/bin/busybox") ? "/usr/bin/busybox" : TestImages.Busybox;
        Skip.IfNot(File.Exists(busybox), "needs busybox (busybox-static) for ping");
        var (exit, stdout, stderr) = BridgeLab.Run(netns, TimeSpan.FromSeconds(10), busybox, "ping", "-c1", "-W1", address);
        return (exit, stdout + stderr);
    }

    /// <summary>The rules of a container's chain in order, each as its JSON text (nft -j list chain).</summary>
    private static string[] ChainRules(BridgeLab b, string name)
    {
        using var doc = JsonDocument.Parse(b.InHost("nft", "-j", "list", "chain", "inet", "psc0", NftRules.ChainOf(name)));
        return doc.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(e => e.TryGetProperty("rule", out _)).Select(e => e.GetProperty("rule").GetRawText()).ToArray();
    }

    [SkippableFact]
    public void Deny_all_blocks_the_outside_and_the_host_fast_and_rules_open_exactly_what_they_name()
    {
        using var b = new BridgeLab();
        b.StartEcho(LabSide.Outside, 7000, "outside");
        b.StartEcho(LabSide.Outside, 7001, "outside");
        b.StartEcho(LabSide.Host, 7002, "host");
        b.Create("nt-deny", "/bin/sleep", new[] { "600" }, deny: new[] { "0.0.0.0/0" });
        b.M.Start("nt-deny");
        string ns = b.NetnsOf("nt-deny");
        string gateway = b.M.Get("nt-deny").Gateway!;

        // Rejected, not dropped: the connect fails at once with "unreachable" (admin-prohibited).
        foreach (var (address, port) in new[] { (NetLab.OutsideAddress, 7000), (NetLab.HostAddress, 7002), (gateway, 7002) })
        {
            var r = b.Connect(ns, address, port);
            Assert.True(r.Exit == 1 && r.Answer == "unreachable", $"{address}:{port} gave '{r.Answer}'");
            Assert.True(r.Seconds < 1, $"{address}:{port} failed only after {r.Seconds} s");
        }
        Assert.NotEqual(0, Ping(ns, NetLab.OutsideAddress).Exit);

        // tcp to the outside's port 7000: that one opens, 7001 and the host stay closed.
        ContainerNetRule tcp = b.M.AddNetRule("nt-deny", NetRuleProtocol.Tcp, new[] { NetLab.OutsideAddress }, new[] { "7000" }, null, false);
        Assert.Equal(1, tcp.Id);
        Assert.Equal($"outside {NetLab.HostAddress}", b.Connect(ns, NetLab.OutsideAddress, 7000).Answer);
        Assert.Equal("unreachable", b.Connect(ns, NetLab.OutsideAddress, 7001).Answer);
        Assert.Equal("unreachable", b.Connect(ns, NetLab.HostAddress, 7002).Answer);
        Assert.NotEqual(0, Ping(ns, NetLab.OutsideAddress).Exit);

        // ICMP echo requests (type 8): ping passes, and the newest rule is first in the chain.
        ContainerNetRule icmp = b.M.AddNetRule("nt-deny", NetRuleProtocol.Icmp, new[] { "198.51.100.0/24" }, null, 8, false);
        Assert.Equal(2, icmp.Id);
        var ping = Ping(ns, NetLab.OutsideAddress);
        Assert.True(ping.Exit == 0, ping.Output);
        string[] rules = ChainRules(b, "nt-deny");
        Assert.Equal(3, rules.Length); // icmp, tcp, the deny networks' reject
        Assert.Contains("icmp", rules[0], StringComparison.Ordinal);
        Assert.Contains("7000", rules[1], StringComparison.Ordinal);
        Assert.Contains("reject", rules[2], StringComparison.Ordinal);
        Assert.Equal(new[] { 2, 1 }, b.M.NetRules("nt-deny").Select(r => r.Id));

        // Removing the tcp rule closes the port again; ping stays open.
        Assert.Equal(1, b.M.RemoveNetRule("nt-deny", 1).Id);
        Assert.Equal("unreachable", b.Connect(ns, NetLab.OutsideAddress, 7000).Answer);
        Assert.Equal(0, Ping(ns, NetLab.OutsideAddress).Exit);
        Assert.Equal(new[] { 2 }, b.M.NetRules("nt-deny").Select(r => r.Id));
        Assert.Equal(2, ChainRules(b, "nt-deny").Length);
    }

    [SkippableFact]
    public void Replies_of_a_published_port_pass_with_everything_denied()
    {
        using var b = new BridgeLab();
        b.StartEcho("nt-srv", 80, publish: new[] { "8080:80", "5353:80/udp" }, deny: new[] { "0.0.0.0/0" });
        Assert.Equal($"nt-srv {NetLab.OutsideAddress}", b.Connect(LabSide.Outside, NetLab.HostAddress, 8080).Answer);
        Assert.Equal($"nt-srv {NetLab.OutsideAddress} ping", b.Connect(LabSide.Outside, NetLab.HostAddress, 5353, "udp").Answer);
        // while the container itself may not open a connection
        b.StartEcho(LabSide.Outside, 7000, "outside");
        Assert.Equal("unreachable", b.Connect(b.NetnsOf("nt-srv"), NetLab.OutsideAddress, 7000).Answer);
    }

    [SkippableFact]
    public void Rules_added_to_a_created_container_hold_from_its_start()
    {
        using var b = new BridgeLab();
        b.StartEcho(LabSide.Outside, 7000, "outside");
        b.StartEcho(LabSide.Outside, 7001, "outside");
        // The program is the client itself: both connections are the container's first packets.
        string script = $"{BridgeLab.Python} -c \"$0\" {NetLab.OutsideAddress} 7000 tcp 2; {BridgeLab.Python} -c \"$0\" {NetLab.OutsideAddress} 7001 tcp 2";
        b.Create("nt-early", "/bin/sh", new[] { "-c", script, BridgeLab.Client }, deny: new[] { "0.0.0.0/0" });
        Assert.Equal(ContainerState.Created, b.M.Get("nt-early").State);
        b.M.AddNetRule("nt-early", NetRuleProtocol.Tcp, new[] { "198.51.100.0/24" }, new[] { "7000" }, null, false);
        Assert.Single(b.M.Get("nt-early").NetworkRules);
        b.M.Start("nt-early");
        Assert.Equal(ContainerState.Exited, b.M.Wait("nt-early", TimeSpan.FromSeconds(30), CancellationToken.None).State);
        string[] lines = b.Host.Stdout("nt-early");
        Assert.Equal($"outside {NetLab.HostAddress}", lines[0]);
        Assert.Equal("unreachable", lines[2]);
    }

    [SkippableFact]
    public void A_logged_rule_carries_the_containers_name_and_rule_id_as_its_log_prefix()
    {
        using var b = new BridgeLab();
        b.Create("nt-log", "/bin/sleep", new[] { "600" }, deny: new[] { "0.0.0.0/0" });
        ContainerNetRule r = b.M.AddNetRule("nt-log", NetRuleProtocol.Tcp, new[] { NetLab.OutsideAddress }, new[] { "7000-7010" }, null, true);
        Assert.True(r.Log);
        string chain = b.InHost("nft", "list", "chain", "inet", "psc0", NftRules.ChainOf("nt-log"));
        Assert.Contains($"log prefix \"psc nt-log rule {r.Id}: \"", chain, StringComparison.Ordinal);
        Assert.Contains("7000-7010", chain, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_logged_rule_writes_each_new_connection_to_the_kernel_log()
    {
        // nf_log writes for other network namespaces only with net.netfilter.nf_log_all_netns=1, a switch of the
        // init namespace's: the VM lane (a machine of its own) sets it; elsewhere the test leaves the machine's be.
        Skip.If(Environment.GetEnvironmentVariable("PSC_VM_MODE") is null,
            "the kernel log of a lab namespace needs net.netfilter.nf_log_all_netns=1, which only the VM lane sets (a machine-wide switch)");
        const string sysctl = "/proc/sys/net/netfilter/nf_log_all_netns";
        Skip.IfNot(File.Exists(sysctl), "this kernel has no net.netfilter.nf_log_all_netns");
        string before = File.ReadAllText(sysctl).Trim();
        File.WriteAllText(sysctl, "1");
        try
        {
            using var b = new BridgeLab();
            b.StartEcho(LabSide.Outside, 7000, "outside");
            b.Create("nt-klog", "/bin/sleep", new[] { "600" }, deny: new[] { "0.0.0.0/0" });
            ContainerNetRule r = b.M.AddNetRule("nt-klog", NetRuleProtocol.Tcp, new[] { NetLab.OutsideAddress }, new[] { "7000" }, null, true);
            b.M.Start("nt-klog");
            Assert.Equal(0, b.Connect(b.NetnsOf("nt-klog"), NetLab.OutsideAddress, 7000).Exit);
            string prefix = $"psc nt-klog rule {r.Id}: ";
            var sw = System.Diagnostics.Stopwatch.StartNew();
            string log = "";
            while (sw.Elapsed < TimeSpan.FromSeconds(10) && !log.Contains(prefix, StringComparison.Ordinal))
            {
                log = BridgeLab.Run("/proc/self/ns/net", TimeSpan.FromSeconds(10), "dmesg").Stdout;
                Thread.Sleep(log.Contains(prefix, StringComparison.Ordinal) ? 0 : 100);
            }
            Assert.Contains(prefix, log, StringComparison.Ordinal);
            Assert.Contains("DPT=7000", log, StringComparison.Ordinal);
        }
        finally
        {
            File.WriteAllText(sysctl, before);
        }
    }
}
