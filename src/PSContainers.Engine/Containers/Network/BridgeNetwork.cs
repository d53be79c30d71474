using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// A bridged container's host side, made at create and removed with the container: a network namespace of its own
/// kept as a bind mount at &lt;entry&gt;/netns (psc-init joins it at every start), a veth pair (psc&lt;8 hex&gt; on
/// the bridge, eth0 inside with its address and default route), its part of the nftables table (<see cref="NftRules"/>)
/// and its qdiscs (<see cref="Bandwidth"/>). network.json is written before anything is made, so a sweep knows what a
/// creation cut short made.
/// </summary>
internal static class BridgeNetwork
{
    public const string NetnsFile = "netns";
    public const string StateFile = "network.json";
    public const string AliasPrefix = "pscontainers:";

    /// <summary>The ifb device that shapes what a container sends: "psi" and the digits of its veth's host end.</summary>
    public static string IfbOf(string hostInterface) => "psi" + hostInterface[3..];

    /// <summary>The host end of the veth ("psc" and 8 hex digits of the depot and name: interface names are 15 bytes at most).</summary>
    public static string InterfaceId(string depotRoot, string name) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(depotRoot + "\0" + name)))[..8].ToLowerInvariant();

    public static NetworkState? Read(string entryDir)
    {
        string file = Path.Combine(entryDir, StateFile);
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<NetworkState>(File.ReadAllText(file), Depot.Json) : null;
        }
        catch (JsonException e)
        {
            throw new PscException("DepotCorrupt", ErrorKind.InvalidData, $"The network record {file} is damaged: {e.Message}", file, 0, e);
        }
    }

    public static void Write(Depot depot, string entryDir, NetworkState s) =>
        depot.WriteFile(Path.Combine(entryDir, StateFile), JsonSerializer.Serialize(s, Depot.Json));

    /// <summary>
    /// Makes the container's network in <paramref name="entryDir"/> (the staging entry), under the depot's lock: an
    /// address and pool ports taken, then the objects. A failure removes whatever was made.
    /// </summary>
    public static NetworkState Attach(ContainerManager m, string entryDir, string name, NetworkRequest req)
    {
        NetworkSettings settings = m.Network;
        (uint net, int prefix) = settings.Validate();
        string? ns = settings.HostNetns;
        var links = HostLinks(ns);
        EnsureBridge(m, settings, net, prefix, links);
        string id = InterfaceId(m.Depot.Root, name);
        var taken = Leases(m);
        var state = new NetworkState
        {
            Mode = ContainerNetwork.Bridge,
            HostNetns = ns,
            Bridge = settings.Bridge,
            Table = settings.Bridge,
            HostInterface = "psc" + id,
            IfbInterface = req.BandwidthLimit is null ? "" : IfbOf("psc" + id),
            Address = Ipv4Range.Format(FreeAddress(net, prefix, taken.Addresses, settings.Subnet)),
            PrefixLength = prefix,
            Gateway = Ipv4Range.Format(net + 1),
            Mtu = UplinkMtu(ns, links),
            Ports = PortPool.Take(m, settings, req.Ports, taken.Ports),
            DenyNetworks = req.DenyNetworks,
            BandwidthLimit = req.BandwidthLimit,
            BandwidthBurst = req.BandwidthLimit is long rate ? req.BandwidthBurst ?? Bandwidth.DefaultBurst(rate) : null,
        };
        Write(m.Depot, entryDir, state); // first: what a sweep of a creation cut short removes
        try
        {
            MakeNamespace(Path.Combine(entryDir, NetnsFile));
            string netnsFile = Path.Combine(entryDir, NetnsFile);
            NetTools.Check(ns, "ip", "iproute2", new[] { "-batch", "-" }, string.Join('\n',
                $"link add {state.HostInterface} mtu {state.Mtu} type veth peer name eth0 mtu {state.Mtu} netns {Quote(netnsFile)}",
                $"link set {state.HostInterface} alias {Quote(AliasPrefix + m.Depot.Root + "/" + name)}",
                $"link set {state.HostInterface} master {state.Bridge}",
                // hairpin: a container reaching its own published port through a host address gets the answer back
                // through the port it came in on, which a bridge refuses otherwise
                $"link set {state.HostInterface} type bridge_slave hairpin on",
                $"link set {state.HostInterface} up") + "\n");
            NetTools.Check(netnsFile, "ip", "iproute2", new[] { "-batch", "-" }, string.Join('\n',
                "link set lo up",
                "link set eth0 up",
                $"addr add {state.Address}/{state.PrefixLength} dev eth0",
                $"route add default via {state.Gateway}") + "\n");
            NetTools.Check(ns, "nft", "nftables", new[] { "-f", "-" }, NftRules.Attach(state, name));
            if (state.BandwidthLimit is long limit)
            {
                Bandwidth.Apply(state, limit, state.BandwidthBurst ?? Bandwidth.DefaultBurst(limit));
            }
            return state;
        }
        catch
        {
            Detach(m, entryDir, name, state);
            throw;
        }
    }

    /// <summary>Removes every host-side object of the container's network (each step on its own: whatever is gone already is skipped).</summary>
    public static void Detach(ContainerManager m, string entryDir, string name, NetworkState? state = null)
    {
        state ??= TryRead(entryDir);
        string netnsFile = Path.Combine(entryDir, NetnsFile);
        if (state is { IsBridge: true })
        {
            string? ns = state.HostNetns is { } h && !File.Exists(h) ? null : state.HostNetns;
            if (state.HostNetns is null || ns is not null)
            {
                // One batch when everything is there (the usual case); else each on its own, skipping what is gone.
                var commands = NftRules.Detach(state, name).ToList();
                if (NetTools.Run(ns, "nft", "nftables", new[] { "-f", "-" }, string.Concat(commands)).Exit != 0)
                {
                    foreach (string command in commands)
                    {
                        NetTools.Run(ns, "nft", "nftables", new[] { "-f", "-" }, command);
                    }
                }
                if (state.HostInterface.Length > 0)
                {
                    NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", state.HostInterface });
                }
                if (state.IfbInterface.Length > 0)
                {
                    NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", state.IfbInterface });
                }
                foreach (PortMapping p in state.Ports)
                {
                    Conntrack.Flush(ns, p, m.Log);
                }
                RemoveBridgeIfUnused(m, state, ns);
            }
        }
        ReleaseNamespace(netnsFile);
    }

    /// <summary>The record, or null when it is absent or damaged (a removal and a lease count go on without it).</summary>
    private static NetworkState? TryRead(string entryDir)
    {
        try
        {
            return Read(entryDir);
        }
        catch (PscException)
        {
            return null;
        }
    }

    /// <summary>A network namespace kept alive by a bind mount on <paramref name="file"/> (util-linux unshare --net=file).</summary>
    public static void MakeNamespace(string file)
    {
        using (File.Create(file))
        {
        }
        NetTools.Check(null, "unshare", "util-linux", new[] { "--net=" + file, "true" });
    }

    /// <summary>Unmounts and removes a namespace file; absent or never mounted is fine.</summary>
    public static void ReleaseNamespace(string file)
    {
        if (!File.Exists(file))
        {
            return;
        }
        for (int i = 0; i < 4 && MountCalls.Umount(file, MountCalls.MNT_DETACH) == 0; i++)
        {
        }
        ContainerManager.TryQuietly(() => File.Delete(file));
    }

    /// <summary>The host's links (ip -j link show): name, mtu, alias, master.</summary>
    internal static List<(string Name, int Mtu, string? Alias, string? Master)> HostLinks(string? ns)
    {
        string json = NetTools.Check(ns, "ip", "iproute2", new[] { "-j", "link", "show" });
        var list = new List<(string, int, string?, string?)>();
        using var doc = JsonDocument.Parse(json.Length == 0 ? "[]" : json);
        foreach (JsonElement l in doc.RootElement.EnumerateArray())
        {
            list.Add((l.GetProperty("ifname").GetString() ?? "",
                l.TryGetProperty("mtu", out var mtu) ? mtu.GetInt32() : 1500,
                l.TryGetProperty("ifalias", out var alias) ? alias.GetString() : null,
                l.TryGetProperty("master", out var master) ? master.GetString() : null));
        }
        return list;
    }

    /// <summary>The MTU of the interface of the host's default route (1500 without one).</summary>
    private static int UplinkMtu(string? ns, List<(string Name, int Mtu, string? Alias, string? Master)> links)
    {
        string json = NetTools.Check(ns, "ip", "iproute2", new[] { "-j", "route", "show", "default" });
        using var doc = JsonDocument.Parse(json.Length == 0 ? "[]" : json);
        foreach (JsonElement r in doc.RootElement.EnumerateArray())
        {
            if (r.TryGetProperty("dev", out var dev) && links.FirstOrDefault(l => l.Name == dev.GetString()) is { Name.Length: > 0 } uplink)
            {
                return Math.Clamp(uplink.Mtu, 1280, 65535);
            }
        }
        return 1500;
    }

    /// <summary>
    /// The bridge with its gateway address, pinned MAC, route_localnet and forwarding, and the nftables table; made once,
    /// checked after. A subnet that overlaps a route of the host's is refused before the bridge is made.
    /// </summary>
    private static void EnsureBridge(ContainerManager m, NetworkSettings s, uint net, int prefix, List<(string Name, int Mtu, string? Alias, string? Master)> links)
    {
        string? ns = s.HostNetns;
        string gateway = Ipv4Range.Format(net + 1) + "/" + prefix.ToString(CultureInfo.InvariantCulture);
        if (!links.Any(l => l.Name == s.Bridge))
        {
            CheckRoutes(ns, s, net, prefix);
            byte[] h = SHA256.HashData(Encoding.UTF8.GetBytes(s.Bridge + "/" + s.Subnet));
            string mac = $"02:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}:{h[3]:x2}:{h[4]:x2}"; // pinned: a bridge's own MAC would follow its ports
            try
            {
                NetTools.Check(ns, "ip", "iproute2", new[] { "-batch", "-" }, string.Join('\n',
                    $"link add {s.Bridge} address {mac} type bridge mcast_snooping 0",
                    $"link set {s.Bridge} alias {Quote(AliasPrefix + "bridge " + s.Subnet)}",
                    $"addr add {gateway} dev {s.Bridge}",
                    $"link set {s.Bridge} up") + "\n");
            }
            catch
            {
                NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", s.Bridge });
                throw;
            }
            m.Log?.Invoke($"made the bridge {s.Bridge} ({gateway}, MAC {mac})");
        }
        else
        {
            string addrs = NetTools.Check(ns, "ip", "iproute2", new[] { "-j", "addr", "show", "dev", s.Bridge });
            if (!addrs.Contains($"\"local\":\"{Ipv4Range.Format(net + 1)}\"", StringComparison.Ordinal))
            {
                throw new PscException("BridgeSubnetMismatch", ErrorKind.InvalidOperation,
                    $"The bridge {s.Bridge} exists without the gateway address {gateway} of the subnet {s.Subnet}: it was made for another subnet or by someone else. Remove its containers, or set $env:PSCONTAINERS_BRIDGE and PSCONTAINERS_SUBNET to another pair.", s.Bridge);
            }
        }
        NetTools.Check(ns, "sysctl", "procps", new[] { "-q", "-w", "net.ipv4.ip_forward=1", $"net.ipv4.conf.{s.Bridge}.route_localnet=1" });
        if (NetTools.Run(ns, "nft", "nftables", new[] { "list", "table", "inet", s.Bridge }).Exit != 0)
        {
            NetTools.Check(ns, "nft", "nftables", new[] { "-f", "-" }, NftRules.Table(s.Bridge, s.Bridge, s.Subnet));
        }
    }

    /// <summary>A subnet that overlaps one of the host's routes (other than the bridge's own and default routes) is refused.</summary>
    private static void CheckRoutes(string? ns, NetworkSettings s, uint net, int prefix)
    {
        var mine = new Ipv4Range(net, net | ~Ipv4Range.Mask(prefix));
        string json = NetTools.Check(ns, "ip", "iproute2", new[] { "-j", "-4", "route", "show", "table", "all" });
        using var doc = JsonDocument.Parse(json.Length == 0 ? "[]" : json);
        foreach (JsonElement r in doc.RootElement.EnumerateArray())
        {
            string dst = r.TryGetProperty("dst", out var d) ? d.GetString() ?? "" : "";
            string dev = r.TryGetProperty("dev", out var v) ? v.GetString() ?? "" : "";
            string type = r.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            if (dst is "default" or "" || dev == s.Bridge || dev == "lo" || type is "local" or "broadcast" or "multicast" || !Ipv4Range.TryParse(dst, out Ipv4Range route))
            {
                continue;
            }
            if (route.Overlaps(mine))
            {
                throw PscException.Invalid("SubnetOverlapsRoute",
                    $"The subnet {s.Subnet} overlaps the host's route to {dst} (dev {dev}); set $env:PSCONTAINERS_SUBNET to a free one.", s.Subnet);
            }
        }
    }

    /// <summary>The bridge and its table go when its last port has gone (a bridge left by another depot keeps its ports, so it stays).</summary>
    private static void RemoveBridgeIfUnused(ContainerManager m, NetworkState state, string? ns)
    {
        if (state.Bridge.Length == 0)
        {
            return;
        }
        var links = HostLinks(ns);
        if (!links.Any(l => l.Name == state.Bridge) || links.Any(l => l.Master == state.Bridge))
        {
            return;
        }
        NetTools.Run(ns, "nft", "nftables", new[] { "delete", "table", "inet", state.Table });
        NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", state.Bridge });
        m.Log?.Invoke($"removed the bridge {state.Bridge}: its last container is gone");
    }

    /// <summary>Addresses and host ports held by the depot's containers (and by entries being made or swept).</summary>
    internal static (HashSet<uint> Addresses, HashSet<(int, PortProtocol)> Ports) Leases(ContainerManager m)
    {
        var addresses = new HashSet<uint>();
        var ports = new HashSet<(int, PortProtocol)>();
        var dirs = m.Depot.Names().Select(m.Depot.PathOf).Concat(m.Depot.StaleEntries().Select(e => e.Dir));
        foreach (string dir in dirs)
        {
            NetworkState? s = TryRead(dir);
            if (s is not { IsBridge: true })
            {
                continue;
            }
            if (Ipv4Range.TryParseAddress(s.Address, out uint a))
            {
                addresses.Add(a);
            }
            foreach (PortMapping p in s.Ports)
            {
                ports.Add((p.HostPort, p.Protocol));
            }
        }
        return (addresses, ports);
    }

    private static uint FreeAddress(uint net, int prefix, HashSet<uint> taken, string subnet)
    {
        uint last = (net | ~Ipv4Range.Mask(prefix)) - 1; // not the broadcast address
        for (uint a = net + 2; a <= last; a++)
        {
            if (!taken.Contains(a))
            {
                return a;
            }
        }
        throw new PscException("SubnetExhausted", ErrorKind.LimitsExceeded, $"Every address of the subnet {subnet} is taken by a container.", subnet);
    }

    /// <summary>A word for ip -batch, in double quotes when it holds a space.</summary>
    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal) ? "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : s;
}
