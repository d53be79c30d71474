using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Host ports for published ports, under the depot's lock: a port given is checked against every container's
/// mappings and the host's listening sockets; port 0 takes the next free port of the pool after the last one handed
/// out. That cursor is kept in &lt;depot&gt;/.network/port-cursor, so a new session does not hand a port out again
/// before the pool wraps (a client may still hold a connection or a UDP conntrack entry to the old owner).
/// </summary>
internal static class PortPool
{
    public static PortMapping[] Take(ContainerManager m, NetworkSettings s, IReadOnlyList<PortMapping> asked, HashSet<(int, PortProtocol)> taken)
    {
        if (asked.Count == 0)
        {
            return Array.Empty<PortMapping>();
        }
        var listening = HostListeners(s.HostNetns);
        var result = new List<PortMapping>();
        var mine = new HashSet<(int, PortProtocol)>(taken);
        foreach (PortMapping p in asked.Where(p => p.HostPort != 0))
        {
            if (mine.Contains((p.HostPort, p.Protocol)))
            {
                throw new PscException("HostPortTaken", ErrorKind.ResourceExists,
                    $"The host port {p.HostPort}/{p.Protocol.ToString().ToLowerInvariant()} is already published by a container.", p.ToString());
            }
            if (listening.Contains((p.HostPort, p.Protocol)))
            {
                throw new PscException("HostPortInUse", ErrorKind.ResourceBusy,
                    $"The host port {p.HostPort}/{p.Protocol.ToString().ToLowerInvariant()} is in use by a process of the host.", p.ToString());
            }
            mine.Add((p.HostPort, p.Protocol));
        }
        int cursor = ReadCursor(m, s);
        foreach (PortMapping p in asked)
        {
            if (p.HostPort != 0)
            {
                result.Add(p);
                continue;
            }
            int size = s.PoolLast - s.PoolFirst + 1, port = 0;
            for (int i = 1; i <= size; i++)
            {
                int candidate = s.PoolFirst + (((cursor - s.PoolFirst) + i) % size + size) % size;
                // Free for both protocols, so a port handed out stays one number for the container whatever it adds.
                if (!mine.Contains((candidate, PortProtocol.Tcp)) && !mine.Contains((candidate, PortProtocol.Udp))
                    && !listening.Contains((candidate, PortProtocol.Tcp)) && !listening.Contains((candidate, PortProtocol.Udp)))
                {
                    port = candidate;
                    break;
                }
            }
            if (port == 0)
            {
                throw new PscException("PortPoolExhausted", ErrorKind.LimitsExceeded,
                    $"Every port of the pool {s.PoolFirst}-{s.PoolLast} is published or in use; unpublish one, or widen $env:PSCONTAINERS_PORT_POOL.", $"{s.PoolFirst}-{s.PoolLast}");
            }
            cursor = port;
            mine.Add((port, p.Protocol));
            result.Add(p with { HostPort = port });
        }
        if (asked.Any(p => p.HostPort == 0))
        {
            WriteCursor(m, cursor);
        }
        return result.ToArray();
    }

    private static string CursorFile(ContainerManager m) => Path.Combine(m.Depot.Root, ".network", "port-cursor");

    private static int ReadCursor(ContainerManager m, NetworkSettings s)
    {
        try
        {
            string text = File.ReadAllText(CursorFile(m)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c >= s.PoolFirst && c <= s.PoolLast ? c : s.PoolFirst - 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return s.PoolFirst - 1;
        }
    }

    private static void WriteCursor(ContainerManager m, int port)
    {
        string file = CursorFile(m);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Depot.Failure("DepotCreate", Path.GetDirectoryName(file)!, e);
        }
        m.Depot.WriteFile(file, port.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    /// <summary>The ports host processes listen on (TCP) or are bound to (UDP), from ss (iproute2).</summary>
    internal static HashSet<(int, PortProtocol)> HostListeners(string? ns)
    {
        var set = new HashSet<(int, PortProtocol)>();
        string text = NetTools.Check(ns, "ss", "iproute2", new[] { "-H", "-l", "-n", "-t", "-u" });
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5)
            {
                continue;
            }
            string local = f[4];
            int colon = local.LastIndexOf(':');
            if (colon >= 0 && int.TryParse(local[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            {
                set.Add((port, f[0] == "udp" ? PortProtocol.Udp : PortProtocol.Tcp));
            }
        }
        return set;
    }
}
