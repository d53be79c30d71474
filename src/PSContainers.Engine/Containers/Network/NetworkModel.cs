using System.Globalization;
using System.Text.Json.Serialization;

namespace PSContainers.Containers;

/// <summary>
/// New-Container -Network: Host shares the host's network; None is a network namespace with nothing up, not even
/// loopback; Private is a namespace with loopback only (what -Isolation Network gives); Bridge adds a veth pair on
/// the module's bridge with an address, a default route, outbound NAT and published ports.
/// </summary>
public enum ContainerNetwork
{
    Host,
    None,
    Private,
    Bridge,
}

/// <summary>The protocol of a published port.</summary>
public enum PortProtocol
{
    Tcp,
    Udp,
}

/// <summary>The protocol an egress rule allows.</summary>
public enum NetRuleProtocol
{
    All,
    Tcp,
    Udp,
    Icmp,
}

/// <summary>A published port (Garden's NetIn): the host port answers for the container's port.</summary>
public sealed record PortMapping(int HostPort, int ContainerPort, PortProtocol Protocol)
{
    /// <summary>
    /// The container the mapping belongs to, so a mapping from Get-Container's MappedPorts pipes into
    /// Unpublish-ContainerPort; not kept in network.json (the entry's folder names the container).
    /// </summary>
    [JsonIgnore]
    public string ContainerName { get; init; } = "";

    /// <summary>"8080:80/tcp", as -PublishPort takes it.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{HostPort}:{ContainerPort}/{Protocol.ToString().ToLowerInvariant()}");
}

/// <summary>
/// An egress rule (Garden's NetOut): traffic from the container to these networks (and ports, or ICMP type) is
/// allowed even where -DenyNetwork denies it; the newest rule is matched first.
/// </summary>
public sealed record ContainerNetRule
{
    public string ContainerName { get; init; } = "";

    /// <summary>Stable, unique in the container, never reused: 1, 2, 3…</summary>
    public int Id { get; init; }

    public NetRuleProtocol Protocol { get; init; }

    /// <summary>Networks as CIDRs ("198.51.100.0/24", a lone address "/32") or ranges ("198.51.100.1-198.51.100.9").</summary>
    public string[] Network { get; init; } = Array.Empty<string>();

    /// <summary>Destination ports or ranges ("80", "8000-8080"); only with Tcp or Udp; empty = every port.</summary>
    public string[] Port { get; init; } = Array.Empty<string>();

    /// <summary>The ICMP type allowed (8 = echo request); only with Icmp; null = every type.</summary>
    public int? IcmpType { get; init; }

    /// <summary>Each new connection the rule lets through is written to the kernel log, prefixed "psc &lt;container&gt; rule &lt;id&gt; ".</summary>
    public bool Log { get; init; }

    public DateTime CreatedTime { get; init; }

    public override string ToString()
    {
        string what = Protocol.ToString().ToLowerInvariant() + " to " + string.Join(",", Network);
        if (Port.Length > 0)
        {
            what += " port " + string.Join(",", Port);
        }
        if (IcmpType is int t)
        {
            what += " type " + t.ToString(CultureInfo.InvariantCulture);
        }
        return what + (Log ? " (logged)" : "");
    }
}

/// <summary>
/// A container's network as the depot keeps it (network.json in its entry): where its objects are and what was asked
/// of them. Written at create and by every change (publish, rules, bandwidth), atomically.
/// </summary>
public sealed record NetworkState
{
    public ContainerNetwork Mode { get; init; }

    /// <summary>The network namespace file the host-side objects live in; null = the host's own (of the session that made them).</summary>
    public string? HostNetns { get; init; }

    public string Bridge { get; init; } = "";

    /// <summary>The nftables table (inet family) of the bridge.</summary>
    public string Table { get; init; } = "";

    /// <summary>The host end of the veth pair ("psc" and 8 hex digits); the container's end is eth0.</summary>
    public string HostInterface { get; init; } = "";

    /// <summary>The ifb device that shapes what the container sends ("psi" and the same digits), when limited.</summary>
    public string IfbInterface { get; init; } = "";

    public string Address { get; init; } = "";

    public int PrefixLength { get; init; }

    public string Gateway { get; init; } = "";

    public int Mtu { get; init; }

    public PortMapping[] Ports { get; init; } = Array.Empty<PortMapping>();

    /// <summary>Newest first, as they are matched.</summary>
    public ContainerNetRule[] Rules { get; init; } = Array.Empty<ContainerNetRule>();

    public string[] DenyNetworks { get; init; } = Array.Empty<string>();

    /// <summary>Bytes per second, each direction; null = unlimited.</summary>
    public long? BandwidthLimit { get; init; }

    /// <summary>Bytes that may pass at once above the rate.</summary>
    public long? BandwidthBurst { get; init; }

    public int NextRuleId { get; init; } = 1;

    [JsonIgnore]
    public bool IsBridge => Mode == ContainerNetwork.Bridge;
}
