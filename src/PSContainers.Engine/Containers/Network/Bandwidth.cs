using System.Globalization;

namespace PSContainers.Containers;

/// <summary>
/// A bridged container's bandwidth limit, both ways, as the CNI bandwidth plugin shapes it: a tbf on the host end of
/// the veth shapes what the container receives; what it sends arrives on that veth's ingress, which has no queue of
/// its own, so a u32 filter matching every packet redirects it (mirred) to an ifb device whose tbf shapes it.
/// </summary>
internal static class Bandwidth
{
    /// <summary>tbf's latency: how long a packet may wait for tokens before it is dropped (garden-linux's value).</summary>
    private const string Latency = "25ms";

    /// <summary>A tenth of a second at the rate, at least 64 KiB: tbf drops what exceeds its burst, and veths send 64 KiB GSO packets.</summary>
    public static long DefaultBurst(long rate) => Math.Max(rate / 10, 64 * 1024);

    public static void Apply(NetworkState s, long rate, long burst)
    {
        string? ns = s.HostNetns;
        string ifb = s.IfbInterface.Length > 0 ? s.IfbInterface : BridgeNetwork.IfbOf(s.HostInterface);
        string tbf = string.Create(CultureInfo.InvariantCulture, $"tbf rate {rate}bps burst {burst} latency {Latency}"); // tc's "bps" is bytes per second
        if (!BridgeNetwork.HostLinks(ns).Any(l => l.Name == ifb))
        {
            NetTools.Check(ns, "ip", "iproute2", new[] { "-batch", "-" },
                $"link add {ifb} type ifb\nlink set {ifb} alias {BridgeNetwork.AliasPrefix}ifb-of-{s.HostInterface}\nlink set {ifb} up\n");
        }
        NetTools.Check(ns, "tc", "iproute2", new[] { "-batch", "-" }, string.Join('\n',
            $"qdisc replace dev {s.HostInterface} root {tbf}",
            $"qdisc replace dev {ifb} root {tbf}") + "\n");
        // The redirect once: a second ingress qdisc or filter would be refused or doubled. u32 rather than matchall:
        // kernels without CONFIG_NET_CLS_MATCHALL (this project's CI kernel among them) refuse matchall, and u32 is
        // what the CNI bandwidth plugin uses.
        string qdiscs = NetTools.Check(ns, "tc", "iproute2", new[] { "qdisc", "show", "dev", s.HostInterface, "ingress" });
        if (!qdiscs.Contains("ingress", StringComparison.Ordinal))
        {
            NetTools.Check(ns, "tc", "iproute2", new[] { "-batch", "-" }, string.Join('\n',
                $"qdisc add dev {s.HostInterface} handle ffff: ingress",
                $"filter add dev {s.HostInterface} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev {ifb}") + "\n");
        }
    }

    /// <summary>No limit: the qdiscs go back to the kernel's defaults and the ifb is removed.</summary>
    public static void Clear(NetworkState s)
    {
        string? ns = s.HostNetns;
        NetTools.Run(ns, "tc", "iproute2", new[] { "qdisc", "del", "dev", s.HostInterface, "root" });
        NetTools.Run(ns, "tc", "iproute2", new[] { "qdisc", "del", "dev", s.HostInterface, "ingress" });
        if (s.IfbInterface.Length > 0)
        {
            NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", s.IfbInterface });
        }
    }
}
