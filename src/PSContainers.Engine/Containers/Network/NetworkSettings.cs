using System.Globalization;
using System.Text.RegularExpressions;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Where bridged containers go: the bridge (and its nftables table, named the same), the subnet, the pool of host
/// ports handed out for host port 0, and the network namespace that stands for the host (null: the process's own).
/// From $env:PSCONTAINERS_BRIDGE, PSCONTAINERS_SUBNET, PSCONTAINERS_PORT_POOL and PSCONTAINERS_HOST_NETNS; read when a
/// bridged container is made, so a bad value fails that New-Container and nothing else.
/// </summary>
public sealed partial record NetworkSettings
{
    public const string DefaultBridge = "psc0";
    public const string DefaultSubnet = "10.254.0.0/16";
    public const int DefaultPoolFirst = 61001;
    public const int DefaultPoolLast = 65000;

    public string Bridge { get; init; } = DefaultBridge;

    public string Subnet { get; init; } = DefaultSubnet;

    public int PoolFirst { get; init; } = DefaultPoolFirst;

    public int PoolLast { get; init; } = DefaultPoolLast;

    /// <summary>A network namespace file (a bind mount of /proc/&lt;pid&gt;/ns/net) that stands for the host, or null.</summary>
    public string? HostNetns { get; init; }

    /// <summary>The settings the environment gives; unset or empty variables keep the defaults.</summary>
    public static NetworkSettings FromEnvironment()
    {
        static string? Env(string n) => Environment.GetEnvironmentVariable(n) is { Length: > 0 } v ? v : null;
        var s = new NetworkSettings { Bridge = Env("PSCONTAINERS_BRIDGE") ?? DefaultBridge, Subnet = Env("PSCONTAINERS_SUBNET") ?? DefaultSubnet, HostNetns = Env("PSCONTAINERS_HOST_NETNS") };
        if (Env("PSCONTAINERS_PORT_POOL") is string pool)
        {
            (int first, int last) = ParsePool(pool);
            s = s with { PoolFirst = first, PoolLast = last };
        }
        return s;
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$")]
    private static partial Regex InterfaceName();

    /// <summary>Checks every value; throws InvalidArgument with the variable's value.</summary>
    public (uint Network, int Prefix) Validate()
    {
        if (!InterfaceName().IsMatch(Bridge))
        {
            throw PscException.Invalid("InvalidBridgeName", $"'{Bridge}' is not a valid bridge name ($env:PSCONTAINERS_BRIDGE): use 1 to 15 letters, digits, '_', '.' or '-'.", Bridge);
        }
        if (!Subnet.Contains('/', StringComparison.Ordinal) || !Ipv4Range.TryParse(Subnet, out Ipv4Range r) || r.PrefixLength is < 8 or > 29)
        {
            throw PscException.Invalid("InvalidSubnet", $"'{Subnet}' is not a usable subnet ($env:PSCONTAINERS_SUBNET): give an IPv4 CIDR with a prefix of 8 to 29 bits, e.g. {DefaultSubnet}.", Subnet);
        }
        if (HostNetns is not null && !File.Exists(HostNetns))
        {
            throw new PscException("HostNetnsNotFound", ErrorKind.ObjectNotFound, $"The network namespace file '{HostNetns}' ($env:PSCONTAINERS_HOST_NETNS) does not exist.", HostNetns);
        }
        return (r.First, r.PrefixLength);
    }

    /// <summary>"61001-65000": the first and last host port of the pool.</summary>
    public static (int First, int Last) ParsePool(string s)
    {
        string[] p = s.Split('-');
        if (p.Length == 2 && int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
            && int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b) && a >= 1 && b <= 65535 && a <= b)
        {
            return (a, b);
        }
        throw PscException.Invalid("InvalidPortPool", $"'{s}' is not a port pool ($env:PSCONTAINERS_PORT_POOL): give 'first-last' within 1-65535, e.g. {DefaultPoolFirst}-{DefaultPoolLast}.", s);
    }
}
