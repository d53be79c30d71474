using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Add-ContainerNetRule's checks: what a rule may hold, said before anything changes.</summary>
internal static class NetRuleCheck
{
    public static ContainerNetRule Make(string container, int id, NetRuleProtocol protocol, string[] networks, string[]? ports, int? icmpType, bool log)
    {
        if (networks.Length == 0)
        {
            throw PscException.Invalid("NetworkRequired", "A rule needs at least one network (-Network 0.0.0.0/0 for every address).", "");
        }
        string[] nets = networks.Select(n => Ipv4Range.Parse(n, "InvalidNetwork", "a network").ToString()).ToArray();
        string[] portList = (ports ?? Array.Empty<string>()).Select(ParsePortRange).ToArray();
        if (portList.Length > 0 && protocol is not (NetRuleProtocol.Tcp or NetRuleProtocol.Udp))
        {
            throw PscException.Invalid("PortsNeedTcpOrUdp", $"-Port {string.Join(",", portList)} needs -Protocol Tcp or Udp, not {protocol}.", string.Join(",", portList));
        }
        if (icmpType is not null && protocol != NetRuleProtocol.Icmp)
        {
            throw PscException.Invalid("IcmpTypeNeedsIcmp", $"-IcmpType {icmpType} needs -Protocol Icmp, not {protocol}.", icmpType);
        }
        if (icmpType is < 0 or > 255)
        {
            throw PscException.Invalid("InvalidIcmpType", $"-IcmpType {icmpType} is outside 0-255.", icmpType);
        }
        return new ContainerNetRule
        {
            ContainerName = container,
            Id = id,
            Protocol = protocol,
            Network = nets,
            Port = portList,
            IcmpType = icmpType,
            Log = log,
            CreatedTime = DateTime.UtcNow,
        };
    }

    /// <summary>"80" or "8000-8080", each port 1-65535.</summary>
    public static string ParsePortRange(string text)
    {
        string[] p = (text ?? "").Trim().Split('-');
        var values = new List<int>();
        foreach (string part in p)
        {
            if (part.Length is 0 or > 5 || !part.All(char.IsAsciiDigit))
            {
                throw PscException.Invalid("InvalidPortRange", $"'{text}' is not a port or a port range (80, 8000-8080).", text);
            }
            values.Add(int.Parse(part, CultureInfo.InvariantCulture));
        }
        if (values.Count > 2 || values.Any(v => v is < 1 or > 65535) || (values.Count == 2 && values[1] < values[0]))
        {
            throw PscException.Invalid("InvalidPortRange", $"'{text}' is not a port or a port range within 1-65535 (80, 8000-8080).", text);
        }
        return string.Join('-', values.Distinct().Select(v => v.ToString(CultureInfo.InvariantCulture)));
    }
}
