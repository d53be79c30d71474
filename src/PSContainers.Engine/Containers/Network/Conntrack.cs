using System.Globalization;

namespace PSContainers.Containers;

/// <summary>
/// The conntrack entries of a removed mapping, deleted with Debian's conntrack tool, so a client's next packets (UDP
/// above all) are not sent on to the old container by an entry that outlived the mapping. Without the tool the
/// entries time out by themselves; the audit log says so.
/// </summary>
internal static class Conntrack
{
    public static void Flush(string? ns, PortMapping p, Action<string>? log = null)
    {
        if (NetTools.Find("conntrack") is null)
        {
            log?.Invoke($"conntrack (Debian's conntrack package) was not found: the connections of {p} end when they time out");
            return;
        }
        // Exit 1 means "0 flow entries deleted": nothing to do.
        NetTools.Run(ns, "conntrack", "conntrack", new[] { "-D", "-p", p.Protocol.ToString().ToLowerInvariant(), "--orig-port-dst", p.HostPort.ToString(CultureInfo.InvariantCulture) });
    }
}
