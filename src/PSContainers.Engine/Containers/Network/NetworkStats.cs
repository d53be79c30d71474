using System.Globalization;

namespace PSContainers.Containers;

/// <summary>A container's network counters, as the container sees them (received = what reached it).</summary>
public sealed record NetworkUsage(long RxBytes, long TxBytes, long RxPackets, long TxPackets, long RxDropped, long TxDropped);

/// <summary>
/// Read from /proc/&lt;init&gt;/net/dev, the container's own namespace (every interface but loopback); a stopped
/// bridged container's from its host veth's counters, swapped (what the host sent, the container received).
/// </summary>
internal static class NetworkStats
{
    public static NetworkUsage? Read(ContainerManager m, ContainerSpec spec)
    {
        if (spec.Network == ContainerNetwork.Host)
        {
            return null;
        }
        var state = m.Depot.ReadJson<ContainerRuntimeState>(spec.Name, "state.json");
        if (state is not null && Processes.PidHandle.IsAlive(state.InitPid, state.InitStartTicks) && ReadDev($"/proc/{state.InitPid}/net/dev") is NetworkUsage u)
        {
            return u;
        }
        if (spec.Network == ContainerNetwork.Bridge && BridgeNetwork.Read(m.Depot.PathOf(spec.Name)) is { IsBridge: true } n)
        {
            // Stopped: the host end's counters, swapped (what the host sent, the container received). /sys/class/net
            // shows the namespace sysfs was mounted in, so a host namespace of its own is asked through ip.
            return n.HostNetns is null ? FromSysfs(n.HostInterface) : FromIp(n.HostNetns, n.HostInterface);
        }
        return null;
    }

    private static NetworkUsage? FromSysfs(string hostInterface)
    {
        string dir = $"/sys/class/net/{hostInterface}/statistics/";
        long V(string f) => long.TryParse(File.ReadAllText(dir + f).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : 0;
        try
        {
            return new NetworkUsage(V("tx_bytes"), V("rx_bytes"), V("tx_packets"), V("rx_packets"), V("tx_dropped"), V("rx_dropped"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static NetworkUsage? FromIp(string netns, string hostInterface)
    {
        if (!File.Exists(netns))
        {
            return null;
        }
        var (exit, json, _) = NetTools.Run(netns, "ip", "iproute2", new[] { "-s", "-j", "link", "show", "dev", hostInterface });
        if (exit != 0)
        {
            return null;
        }
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        foreach (var link in doc.RootElement.EnumerateArray())
        {
            if (link.TryGetProperty("stats64", out var st))
            {
                long V(string dir, string f) => st.GetProperty(dir).GetProperty(f).GetInt64();
                return new NetworkUsage(V("tx", "bytes"), V("rx", "bytes"), V("tx", "packets"), V("rx", "packets"), V("tx", "dropped"), V("rx", "dropped"));
            }
        }
        return null;
    }

    /// <summary>The sums over every interface but lo of a /proc/net/dev table.</summary>
    internal static NetworkUsage? ReadDev(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        long rb = 0, rp = 0, rd = 0, tb = 0, tp = 0, td = 0;
        foreach (string line in lines.Skip(2))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || line[..colon].Trim() == "lo")
            {
                continue;
            }
            string[] f = line[(colon + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 12)
            {
                continue;
            }
            long P(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            rb += P(0); rp += P(1); rd += P(3);
            tb += P(8); tp += P(9); td += P(11);
        }
        return new NetworkUsage(rb, tb, rp, tp, rd, td);
    }
}
