using System.Globalization;
using System.Text;

namespace PSContainers.Containers;

/// <summary>
/// The nftables text of the module's one table per bridge (family inet, named as the bridge) and of each container's
/// part of it, every change one batch for <c>nft -f -</c>:
/// <list type="bullet">
/// <item>map <c>published</c>: protocol . host port : container address . port; DNAT from prerouting and output for
/// every local address (<c>fib daddr type local</c>), so a published port answers on the host's addresses, on
/// 127.0.0.1 (the bridge has route_localnet) and from containers (hairpin).</item>
/// <item>postrouting: masquerade what leaves the subnet for another interface, and DNATed connections from the subnet
/// or from loopback into the bridge (hairpin and localhost: the reply must come back through the host).</item>
/// <item>map <c>egress</c>: container address : jump to its chain, from forward (what the container sends through the
/// host) and input (what it sends to the host itself), after established and related packets have passed.</item>
/// <item>chain <c>container-&lt;name&gt;</c>: the container's NetOut rules, newest first, each an accept (logged when
/// asked), then a reject of its deny networks. A container's rules go with its chain.</item>
/// </list>
/// </summary>
internal static class NftRules
{
    public static string ChainOf(string container) => "container-" + container;

    /// <summary>The table with its maps and base chains; made when a bridge's first container is.</summary>
    public static string Table(string table, string bridge, string subnet) => $$"""
        table inet {{table}} {
            comment "PSContainers: bridge {{bridge}}, subnet {{subnet}}"
            map published {
                type inet_proto . inet_service : ipv4_addr . inet_service
            }
            map egress {
                type ipv4_addr : verdict
            }
            chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                fib daddr type local dnat ip to meta l4proto . th dport map @published
            }
            chain output {
                type nat hook output priority -100; policy accept;
                fib daddr type local dnat ip to meta l4proto . th dport map @published
            }
            chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                oifname != "{{bridge}}" ip saddr {{subnet}} masquerade
                oifname "{{bridge}}" ct status dnat ip saddr {{subnet}} masquerade
                oifname "{{bridge}}" ct status dnat ip saddr 127.0.0.0/8 masquerade
            }
            chain forward {
                type filter hook forward priority filter; policy accept;
                iifname "{{bridge}}" ct state established,related accept
                iifname "{{bridge}}" ip saddr vmap @egress
            }
            chain input {
                type filter hook input priority filter; policy accept;
                iifname "{{bridge}}" ct state established,related accept
                iifname "{{bridge}}" ip saddr vmap @egress
            }
        }

        """;

    /// <summary>A new container's chain, rules, egress entry and published ports.</summary>
    public static string Attach(NetworkState s, string name)
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"add chain inet {s.Table} {ChainOf(name)}\n");
        AppendRules(b, s, name);
        b.Append(CultureInfo.InvariantCulture, $"add element inet {s.Table} egress {{ {s.Address} : jump {ChainOf(name)} }}\n");
        foreach (PortMapping p in s.Ports)
        {
            b.Append(AddPort(s, p));
        }
        return b.ToString();
    }

    /// <summary>The container's chain flushed and filled again: one batch, so no packet sees half of it.</summary>
    public static string ReplaceRules(NetworkState s, string name)
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"flush chain inet {s.Table} {ChainOf(name)}\n");
        AppendRules(b, s, name);
        return b.ToString();
    }

    public static string AddPort(NetworkState s, PortMapping p) =>
        string.Create(CultureInfo.InvariantCulture, $"add element inet {s.Table} published {{ {Proto(p.Protocol)} . {p.HostPort} : {s.Address} . {p.ContainerPort} }}\n");

    public static string DeletePort(NetworkState s, PortMapping p) =>
        string.Create(CultureInfo.InvariantCulture, $"delete element inet {s.Table} published {{ {Proto(p.Protocol)} . {p.HostPort} }}\n");

    /// <summary>Each of a container's objects, one command each (a batch fails whole when one is already gone).</summary>
    public static IEnumerable<string> Detach(NetworkState s, string name)
    {
        foreach (PortMapping p in s.Ports)
        {
            yield return DeletePort(s, p);
        }
        yield return $"delete element inet {s.Table} egress {{ {s.Address} }}\n";
        yield return $"delete chain inet {s.Table} {ChainOf(name)}\n";
    }

    private static string Proto(PortProtocol p) => p == PortProtocol.Tcp ? "tcp" : "udp";

    private static void AppendRules(StringBuilder b, NetworkState s, string name)
    {
        string chain = $"inet {s.Table} {ChainOf(name)}";
        foreach (ContainerNetRule r in s.Rules)
        {
            b.Append(CultureInfo.InvariantCulture, $"add rule {chain} {Match(r)}");
            if (r.Log)
            {
                b.Append(CultureInfo.InvariantCulture, $" ct state new log prefix \"psc {name} rule {r.Id}: \" level info");
            }
            b.Append(" accept\n");
        }
        if (s.DenyNetworks.Length > 0)
        {
            b.Append(CultureInfo.InvariantCulture, $"add rule {chain} ip daddr {Set(s.DenyNetworks)} reject with icmpx admin-prohibited\n");
        }
    }

    /// <summary>The match of one rule: its networks, then its protocol with ports or ICMP type.</summary>
    public static string Match(ContainerNetRule r)
    {
        string m = "ip daddr " + Set(r.Network);
        return r.Protocol switch
        {
            NetRuleProtocol.Tcp or NetRuleProtocol.Udp when r.Port.Length > 0 => $"{m} {r.Protocol.ToString().ToLowerInvariant()} dport {{ {string.Join(", ", r.Port)} }}",
            NetRuleProtocol.Tcp or NetRuleProtocol.Udp => $"{m} meta l4proto {r.Protocol.ToString().ToLowerInvariant()}",
            NetRuleProtocol.Icmp when r.IcmpType is int t => string.Create(CultureInfo.InvariantCulture, $"{m} icmp type {t}"),
            NetRuleProtocol.Icmp => $"{m} meta l4proto icmp",
            _ => m,
        };
    }

    /// <summary>An anonymous set of the networks, overlaps merged (nft refuses overlapping intervals).</summary>
    private static string Set(IEnumerable<string> networks) =>
        "{ " + string.Join(", ", Ipv4Range.Merge(networks.Select(n => Ipv4Range.Parse(n, "InvalidNetwork", "a network")))) + " }";
}
