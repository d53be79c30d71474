using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Networks (Network/): a bridged container's published ports, egress rules and bandwidth, changed on a container of
/// any state (its namespace and veth live from create to remove), each change under the depot's lock (ports are the
/// depot's to share) and the container's, recorded in network.json before the kernel's objects change.
/// </summary>
public sealed partial class ContainerManager
{
    private NetworkSettings? _network;

    /// <summary>Where bridged containers go: the bridge, subnet, port pool and host namespace (from the environment unless set).</summary>
    public NetworkSettings Network
    {
        get => _network ??= NetworkSettings.FromEnvironment();
        set => _network = value;
    }

    /// <summary>A container's network record, or NetworkNotBridged when it has no bridge.</summary>
    private NetworkState BridgedState(string name)
    {
        ContainerSpec spec = StateReader.ReadSpec(this, name);
        return BridgeNetwork.Read(Depot.PathOf(name)) is { IsBridge: true } s
            ? s
            : throw new PscException("NetworkNotBridged", ErrorKind.InvalidOperation,
                $"Container '{name}' has the network {spec.Network}; published ports, egress rules and bandwidth limits need -Network Bridge.", name);
    }

    /// <summary>Changes a bridged container's record and its kernel objects; a failed kernel change puts the record back.</summary>
    private T ChangeNetwork<T>(string name, Func<NetworkState, (NetworkState Next, T Result)> plan, Action<NetworkState, NetworkState> apply)
    {
        ContainerName.Check(name);
        using (Depot.Lock())
        using (Depot.LockContainer(name))
        {
            NetworkState before = BridgedState(name);
            var (next, result) = plan(before);
            string dir = Depot.PathOf(name);
            BridgeNetwork.Write(Depot, dir, next);
            try
            {
                apply(before, next);
            }
            catch
            {
                BridgeNetwork.Write(Depot, dir, before);
                throw;
            }
            return result;
        }
    }

    /// <summary>Publish-ContainerPort: the host port (0: one from the pool) answers for the container's port.</summary>
    public PortMapping PublishPort(string name, int containerPort, int hostPort, PortProtocol protocol)
    {
        NetworkRequest.CheckPort(containerPort, "container port", allowZero: false);
        NetworkRequest.CheckPort(hostPort, "host port", allowZero: true);
        return ChangeNetwork(name, s =>
        {
            var taken = BridgeNetwork.Leases(this).Ports;
            PortMapping p = PortPool.Take(this, Network with { HostNetns = s.HostNetns }, new[] { new PortMapping(hostPort, containerPort, protocol) }, taken)[0];
            return (s with { Ports = s.Ports.Append(p).ToArray() }, p with { ContainerName = name });
        }, (_, next) =>
        {
            NetTools.Check(next.HostNetns, "nft", "nftables", new[] { "-f", "-" }, NftRules.AddPort(next, next.Ports[^1]));
            Log?.Invoke($"container '{name}': published {next.Ports[^1]}");
        });
    }

    /// <summary>Unpublish-ContainerPort: the mapping of a host port goes, with its conntrack entries; returns what was removed.</summary>
    public PortMapping[] UnpublishPort(string name, int hostPort, PortProtocol? protocol)
    {
        return ChangeNetwork(name, s =>
        {
            var gone = s.Ports.Where(p => p.HostPort == hostPort && (protocol is null || p.Protocol == protocol)).ToArray();
            if (gone.Length == 0)
            {
                string which = hostPort + (protocol is null ? "" : "/" + protocol.ToString()!.ToLowerInvariant());
                throw new PscException("PortNotPublished", ErrorKind.ObjectNotFound, $"Container '{name}' has no published host port {which}.", which);
            }
            return (s with { Ports = s.Ports.Except(gone).ToArray() }, gone.Select(p => p with { ContainerName = name }).ToArray());
        }, (before, next) =>
        {
            foreach (PortMapping p in before.Ports.Except(next.Ports))
            {
                var (exit, _, err) = NetTools.Run(next.HostNetns, "nft", "nftables", new[] { "-f", "-" }, NftRules.DeletePort(before, p));
                if (exit != 0 && !err.Contains("No such file", StringComparison.Ordinal))
                {
                    throw new PscException("NetworkCommandFailed", ErrorKind.NotSpecified, $"Removing the mapping {p}: {err.Trim()}", p.ToString());
                }
                Conntrack.Flush(next.HostNetns, p, Log);
                Log?.Invoke($"container '{name}': unpublished {p}");
            }
        });
    }

    /// <summary>Add-ContainerNetRule: an egress exception, matched before every older rule and before the deny networks.</summary>
    public ContainerNetRule AddNetRule(string name, NetRuleProtocol protocol, string[] networks, string[]? ports, int? icmpType, bool log) =>
        ChangeNetwork(name, s =>
        {
            ContainerNetRule rule = NetRuleCheck.Make(name, s.NextRuleId, protocol, networks, ports, icmpType, log);
            return (s with { Rules = s.Rules.Prepend(rule).ToArray(), NextRuleId = s.NextRuleId + 1 }, rule);
        }, (_, next) => NetTools.Check(next.HostNetns, "nft", "nftables", new[] { "-f", "-" }, NftRules.ReplaceRules(next, name)));

    /// <summary>Remove-ContainerNetRule: the rule of that id goes; returns it.</summary>
    public ContainerNetRule RemoveNetRule(string name, int id) =>
        ChangeNetwork(name, s =>
        {
            ContainerNetRule rule = s.Rules.FirstOrDefault(r => r.Id == id)
                ?? throw new PscException("NetRuleNotFound", ErrorKind.ObjectNotFound, $"Container '{name}' has no egress rule {id}.", id);
            return (s with { Rules = s.Rules.Where(r => r.Id != id).ToArray() }, rule);
        }, (_, next) => NetTools.Check(next.HostNetns, "nft", "nftables", new[] { "-f", "-" }, NftRules.ReplaceRules(next, name)));

    /// <summary>Get-ContainerNetRule: the container's egress rules, newest (first matched) first.</summary>
    public ContainerNetRule[] NetRules(string name)
    {
        ContainerName.Check(name);
        return BridgedState(name).Rules.Select(r => r with { ContainerName = name }).ToArray();
    }

    /// <summary>Set-ContainerBandwidth: a new rate and burst both ways, or (null) no limit.</summary>
    public NetworkState SetBandwidth(string name, long? limit, long? burst)
    {
        NetworkRequest.CheckBandwidth(limit, burst);
        return ChangeNetwork(name, s =>
        {
            string ifb = limit is null ? s.IfbInterface : BridgeNetwork.IfbOf(s.HostInterface);
            var next = s with { BandwidthLimit = limit, BandwidthBurst = limit is long r ? burst ?? Bandwidth.DefaultBurst(r) : null, IfbInterface = limit is null ? "" : ifb };
            return (next, next);
        }, (before, next) =>
        {
            if (next.BandwidthLimit is long rate)
            {
                try
                {
                    Bandwidth.Apply(next, rate, next.BandwidthBurst!.Value);
                }
                catch when (before.BandwidthLimit is null)
                {
                    Bandwidth.Clear(next); // a first limit that failed half-way leaves no qdisc or ifb behind
                    throw;
                }
            }
            else
            {
                Bandwidth.Clear(before);
            }
        });
    }

    /// <summary>A container's network counters (Get-ContainerStats), or null with the host's network.</summary>
    public NetworkUsage? NetworkUsage(ContainerSpec spec) => NetworkStats.Read(this, spec);
}
