using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// What New-Container asked of the network, parsed and checked before anything is made (-Network, -PublishPort,
/// -DenyNetwork, -BandwidthLimit, -BandwidthBurst); ports of the pool are taken later, under the depot's lock.
/// </summary>
internal sealed record NetworkRequest(ContainerNetwork Mode, PortMapping[] Ports, string[] DenyNetworks, long? BandwidthLimit, long? BandwidthBurst)
{
    public static NetworkRequest Resolve(ContainerManager.Request r)
    {
        ContainerNetwork mode = r.Network ?? (r.Isolation.HasFlag(ContainerIsolation.Network) ? ContainerNetwork.Private : ContainerNetwork.Host);
        if (r.Network is ContainerNetwork.Host && r.Isolation.HasFlag(ContainerIsolation.Network))
        {
            throw PscException.Invalid("NetworkConflictsWithIsolation", "-Network Host shares the host's network, but -Isolation asks for a network namespace (Network); give one or the other.", "Host");
        }
        var ports = (r.PublishPort ?? Array.Empty<string>()).Select(ParsePort).ToArray();
        string[] deny = (r.DenyNetwork ?? Array.Empty<string>()).Select(n => Ipv4Range.Parse(n, "InvalidNetwork", "a network").ToString()).ToArray();
        CheckBandwidth(r.BandwidthLimit, r.BandwidthBurst);
        string? needsBridge = ports.Length > 0 ? "-PublishPort" : deny.Length > 0 ? "-DenyNetwork" : r.BandwidthLimit is not null || r.BandwidthBurst is not null ? "-BandwidthLimit" : null;
        if (needsBridge is not null && mode != ContainerNetwork.Bridge)
        {
            throw new PscException("NetworkNotBridged", ErrorKind.InvalidOperation, $"{needsBridge} needs -Network Bridge; this container's network would be {mode}.", mode.ToString());
        }
        if (r.BandwidthBurst is not null && r.BandwidthLimit is null)
        {
            throw PscException.Invalid("BurstWithoutLimit", $"-BandwidthBurst {r.BandwidthBurst} needs -BandwidthLimit.", r.BandwidthBurst);
        }
        var seen = new HashSet<(int, PortProtocol)>();
        foreach (PortMapping p in ports.Where(p => p.HostPort != 0))
        {
            if (!seen.Add((p.HostPort, p.Protocol)))
            {
                throw PscException.Invalid("DuplicateHostPort", $"The host port {p.HostPort}/{p.Protocol.ToString().ToLowerInvariant()} is given twice.", p.ToString());
            }
        }
        if (mode == ContainerNetwork.Bridge && Sys.EffectiveUid != 0)
        {
            throw new PscException("BridgeNeedsRoot", ErrorKind.PermissionDenied,
                $"-Network Bridge needs root (a veth on the host's bridge and nftables rules); this process is uid {Sys.EffectiveUid}. -Network Private gives a network namespace with loopback only without root.", "Bridge");
        }
        return new NetworkRequest(mode, ports, deny, r.BandwidthLimit, r.BandwidthBurst);
    }

    public static void CheckBandwidth(long? limit, long? burst)
    {
        if (limit is <= 0)
        {
            throw PscException.Invalid("InvalidBandwidth", $"-BandwidthLimit {limit} is not a rate: give bytes per second above 0 (e.g. 10MB).", limit);
        }
        if (burst is <= 0)
        {
            throw PscException.Invalid("InvalidBandwidth", $"-BandwidthBurst {burst} is not a burst: give bytes above 0 (e.g. 256KB).", burst);
        }
        if (limit is > 1L << 40 || burst is > 1L << 32)
        {
            throw PscException.Invalid("InvalidBandwidth", $"-BandwidthLimit {limit} / -BandwidthBurst {burst} is beyond what tc can shape (1 TB/s, 4 GB).", limit);
        }
    }

    /// <summary>"8080:80", "5353:53/udp", "0:443" (a host port from the pool), or "80" (the same as "0:80").</summary>
    public static PortMapping ParsePort(string text)
    {
        string s = (text ?? "").Trim();
        PortProtocol proto = PortProtocol.Tcp;
        int slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            proto = s[(slash + 1)..].ToLowerInvariant() switch
            {
                "tcp" => PortProtocol.Tcp,
                "udp" => PortProtocol.Udp,
                _ => throw BadMapping(text),
            };
            s = s[..slash];
        }
        string[] parts = s.Split(':');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0 || p.Length > 5 || !p.All(char.IsAsciiDigit)))
        {
            throw BadMapping(text);
        }
        int host = parts.Length == 2 ? int.Parse(parts[0], CultureInfo.InvariantCulture) : 0;
        int container = int.Parse(parts[^1], CultureInfo.InvariantCulture);
        CheckPort(host, "host port", allowZero: true, text);
        CheckPort(container, "container port", allowZero: false, text);
        return new PortMapping(host, container, proto);
    }

    public static void CheckPort(int port, string what, bool allowZero, object? shown = null)
    {
        if (port is < 0 or > 65535 || (port == 0 && !allowZero))
        {
            throw PscException.Invalid("PortOutOfRange",
                $"The {what} {port}{(shown is null ? "" : $" (in '{shown}')")} is outside 1-65535{(allowZero ? " (0 takes one from the pool)" : "")}.", shown ?? port);
        }
    }

    private static PscException BadMapping(string? text) => PscException.Invalid("InvalidPortMapping",
        $"'{text}' is not a port mapping: give 'hostPort:containerPort' with an optional '/tcp' or '/udp' (8080:80, 5353:53/udp; host port 0 takes one from the pool).", text);
}
