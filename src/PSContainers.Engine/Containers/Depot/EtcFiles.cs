using System.Text;

namespace PSContainers.Containers;

/// <summary>
/// The /etc/hosts, /etc/hostname and /etc/resolv.conf a container with a root sees: written at create into the
/// entry's <c>etc/</c> folder and bound over the root's own by psc-init (<c>etc=</c>, psc-init/README.md, "The
/// root's mounts"), so they follow the container rather than the image.
/// </summary>
internal static class EtcFiles
{
    public const string Folder = "etc";

    /// <summary>Writes the three files into <paramref name="entryDir"/>/etc (each atomically).</summary>
    public static void Write(Depot depot, string entryDir, ContainerSpec spec, string? address = null)
    {
        string dir = Path.Combine(entryDir, Folder);
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Depot.Failure("DepotCreate", dir, e);
        }
        string hostname = spec.Hostname ?? HostHostname();
        bool ownNetwork = spec.Isolation.HasFlag(ContainerIsolation.Network);
        depot.WriteFile(Path.Combine(dir, "hosts"), Hosts(hostname, address));
        depot.WriteFile(Path.Combine(dir, "hostname"), hostname + "\n");
        depot.WriteFile(Path.Combine(dir, "resolv.conf"), ResolvConf(ReadOrEmpty("/etc/resolv.conf"), ownNetwork, ReadOrEmpty("/run/systemd/resolve/resolv.conf")));
    }

    /// <summary>localhost on both loopbacks, and the container's hostname: on its bridge address when it has one, else 127.0.1.1.</summary>
    public static string Hosts(string hostname, string? address = null) =>
        $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address ?? "127.0.1.1"}\t{hostname}\n";

    /// <summary>
    /// The host's resolv.conf; with a network namespace of its own, its loopback nameservers (127.x, ::1) are dropped,
    /// as podman does: inside, they would be the container's own loopback, where no resolver listens.
    /// </summary>
    public static string ResolvConf(string host, bool ownNetwork, string upstream = "")
    {
        if (!ownNetwork)
        {
            return host;
        }
        // A host whose only resolver is a local stub (systemd-resolved's 127.0.0.53) has its upstream servers in
        // /run/systemd/resolve/resolv.conf: the container gets those, as podman does.
        if (Nameservers(host).Length > 0 && Nameservers(host).All(IsLoopback) && Nameservers(upstream).Any(n => !IsLoopback(n)))
        {
            host = upstream;
        }
        var kept = new StringBuilder();
        foreach (string line in host.Split('\n'))
        {
            string[] f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            bool loopback = f.Length >= 2 && f[0] == "nameserver" && IsLoopback(f[1]);
            if (!loopback && (line.Length > 0 || kept.Length > 0))
            {
                kept.Append(line).Append('\n');
            }
        }
        return kept.ToString().TrimEnd('\n') + (kept.Length > 0 ? "\n" : "");
    }

    private static bool IsLoopback(string address) => address.StartsWith("127.", StringComparison.Ordinal) || address == "::1";

    private static string[] Nameservers(string resolvConf) => resolvConf.Split('\n')
        .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length >= 2 && f[0] == "nameserver").Select(f => f[1]).ToArray();

    private static string HostHostname() => ReadOrEmpty("/proc/sys/kernel/hostname").Trim() is { Length: > 0 } h ? h : "localhost";

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
