using System.Text.Json;

namespace PSContainers.Containers;

/// <summary>
/// Network objects of this depot whose container is gone (a session killed between removing an entry and its
/// network, or an entry deleted by hand): veths whose alias names this depot and a missing entry, their ifb, their
/// chain and their map entries. Runs with the stale sweep, under the depot's lock, in the host namespace of the
/// current settings; nothing is touched without this depot's name on it.
/// </summary>
internal static class NetworkSweep
{
    public static void Run(ContainerManager m)
    {
        NetworkSettings s = m.Network;
        if (NetTools.Find("ip") is null || (s.HostNetns is not null && !File.Exists(s.HostNetns)))
        {
            return;
        }
        if (s.HostNetns is null && !HasOurLinks())
        {
            return; // no process spawned where no container was ever bridged
        }
        string? ns = s.HostNetns;
        string prefix = BridgeNetwork.AliasPrefix + m.Depot.Root + "/";
        var links = BridgeNetwork.HostLinks(ns);
        foreach (var link in links.Where(l => l.Alias is not null && l.Alias.StartsWith(prefix, StringComparison.Ordinal)))
        {
            string name = link.Alias![prefix.Length..];
            if (!ContainerName.IsValid(name) || m.Depot.Exists(name))
            {
                continue;
            }
            m.Log?.Invoke($"removing {link.Name}, the veth of '{name}', whose container is gone");
            string table = link.Master ?? s.Bridge;
            RemoveFromTable(ns, table, name);
            NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", link.Name });
            string ifb = BridgeNetwork.IfbOf(link.Name);
            if (links.Any(l => l.Name == ifb))
            {
                NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", ifb });
            }
        }
        // A container's veth dies with its namespace: an entry deleted by hand (the namespace unmounted with it) leaves
        // no veth to find, but its chain, map elements and ifb stay. A chain of a name this depot does not hold, with
        // no living veth of that name in any depot (a veth is made before its chain and removed after it), is left over.
        links = BridgeNetwork.HostLinks(ns);
        foreach (string name in EgressJumps(ns, s.Bridge).Select(j => j.Name))
        {
            if (ContainerName.IsValid(name) && !m.Depot.Exists(name)
                && !links.Any(l => l.Alias is not null && l.Alias.StartsWith(BridgeNetwork.AliasPrefix, StringComparison.Ordinal) && l.Alias.EndsWith("/" + name, StringComparison.Ordinal)))
            {
                m.Log?.Invoke($"removing the rules and ports of '{name}', whose container and veth are gone");
                RemoveFromTable(ns, s.Bridge, name);
            }
        }
        const string ifbAlias = BridgeNetwork.AliasPrefix + "ifb-of-";
        foreach (var link in links.Where(l => l.Alias is not null && l.Alias.StartsWith(ifbAlias, StringComparison.Ordinal)))
        {
            if (!links.Any(l => l.Name == link.Alias![ifbAlias.Length..]))
            {
                m.Log?.Invoke($"removing {link.Name}, the ifb of a veth that is gone");
                NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", link.Name });
            }
        }
        // A session killed between making the bridge and its first container's record leaves the bridge without
        // ports: it and its table go, as they would with their last container.
        if (links.FirstOrDefault(l => l.Name == s.Bridge) is { Name.Length: > 0 } bridge && bridge.Alias?.StartsWith(BridgeNetwork.AliasPrefix + "bridge", StringComparison.Ordinal) == true
            && !links.Any(l => l.Master == s.Bridge))
        {
            m.Log?.Invoke($"removing the bridge {s.Bridge}, which has no container");
            NetTools.Run(ns, "nft", "nftables", new[] { "delete", "table", "inet", s.Bridge });
            NetTools.Run(ns, "ip", "iproute2", new[] { "link", "del", s.Bridge });
        }
    }

    /// <summary>The egress map's entries of a table: each container's address and the name of the chain it jumps to.</summary>
    private static List<(string Address, string Name)> EgressJumps(string? ns, string table)
    {
        var jumps = new List<(string, string)>();
        var (exit, json, _) = NetTools.Run(ns, "nft", "nftables", new[] { "-j", "list", "map", "inet", table, "egress" });
        if (exit != 0)
        {
            return jumps;
        }
        string prefix = NftRules.ChainOf("");
        using var doc = JsonDocument.Parse(json);
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("map", out var map) || !map.TryGetProperty("elem", out var elems))
            {
                continue;
            }
            foreach (JsonElement e in elems.EnumerateArray())
            {
                // [ "10.254.0.2", { "jump": { "target": "container-web" } } ]
                if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2 && e[1].TryGetProperty("jump", out var jump)
                    && jump.GetProperty("target").GetString() is string target && target.StartsWith(prefix, StringComparison.Ordinal)
                    && e[0].GetString() is string address)
                {
                    jumps.Add((address, target[prefix.Length..]));
                }
            }
        }
        return jumps;
    }

    /// <summary>Whether this namespace's /sys/class/net lists a veth of ours at all.</summary>
    private static bool HasOurLinks()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/sys/class/net", "psc*").Any();
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>The container's egress entry (found by the chain it jumps to), its published ports (by its address) and its chain.</summary>
    private static void RemoveFromTable(string? ns, string table, string name)
    {
        string chain = NftRules.ChainOf(name);
        var commands = new List<string>();
        string? address = EgressJumps(ns, table).Where(j => j.Name == name).Select(j => j.Address).FirstOrDefault();
        if (address is not null)
        {
            commands.Add($"delete element inet {table} egress {{ {address} }}\n");
            var (pexit, pjson, _) = NetTools.Run(ns, "nft", "nftables", new[] { "list", "map", "inet", table, "published" });
            if (pexit == 0)
            {
                // "tcp . 8080 : 10.254.0.2 . 80": the text form is plainer to read than the JSON's concatenations.
                foreach (string part in pjson.Split(new[] { ',', '{', '}', '\n' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    string[] f = part.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length == 7 && f[1] == "." && f[3] == ":" && f[4] == address)
                    {
                        commands.Add($"delete element inet {table} published {{ {f[0]} . {f[2]} }}\n");
                    }
                }
            }
        }
        commands.Add($"delete chain inet {table} {chain}\n");
        foreach (string c in commands)
        {
            NetTools.Run(ns, "nft", "nftables", new[] { "-f", "-" }, c);
        }
    }
}
