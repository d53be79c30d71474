namespace PSContainers.Containers;

/// <summary>
/// Entries a killed session left hidden (".new." or ".del."): a creation cut short also left the cgroup it had made
/// (its path is in the entry), which would block that name for good; it is removed unless a container of that name
/// exists now. Runs under the depot's lock, so no creation is in progress meanwhile.
/// </summary>
internal static class StaleSweep
{
    /// <summary>Creations per depot root in this process: the sweep runs on every 64th.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Creations = new(StringComparer.Ordinal);

    /// <summary>
    /// The sweep lists the whole depot, so it runs on this process's first creation in this depot and then on every
    /// 64th (and when a name's cgroup is in the way), not on each: with 1000 containers a listing costs 0.3 ms, and
    /// Create had become O(n).
    /// </summary>
    public static void OnCreation(ContainerManager m)
    {
        if (Creations.AddOrUpdate(m.Depot.Root, 0, (_, n) => n + 1) % 64 == 0)
        {
            Run(m);
        }
    }

    public static void Run(ContainerManager m)
    {
        foreach (var (dir, name, creating) in m.Depot.StaleEntries())
        {
            string? path = null;
            if (creating)
            {
                // spec.json names the cgroup (entries made by earlier versions have a "cgroup" file instead).
                string marker = Path.Combine(dir, "cgroup");
                ContainerManager.TryQuietly(() =>
                {
                    try
                    {
                        path = File.Exists(marker)
                            ? File.ReadAllText(marker).Trim()
                            : System.Text.Json.JsonSerializer.Deserialize<ContainerSpec>(File.ReadAllText(Path.Combine(dir, "spec.json")), Depot.Json)?.CGroupPath;
                    }
                    catch (System.Text.Json.JsonException)
                    {
                        // written by a tmp + rename, so whole or absent; anything else is not ours to judge
                    }
                });
            }
            if (path is { Length: > 0 } && !m.Depot.Exists(name) && m.CGroups.Exists(path))
            {
                m.Log?.Invoke($"removing {path}, left by a creation of '{name}' that was cut short");
                ContainerManager.TryQuietly(() => m.CGroups.Remove(path, recurse: true, force: true));
            }
            // The network a creation cut short made (network.json is written before any of it), and its namespace's mount.
            ContainerManager.TryQuietly(() => BridgeNetwork.Detach(m, dir, name));
            ContainerManager.TryQuietly(() => m.Depot.Discard(dir));
        }
        WritableLayer.Sweep(m);
        ContainerManager.TryQuietly(() => NetworkSweep.Run(m));
        foreach (string name in m.Depot.Names())
        {
            // Copies cut short: one listing of each entry (10-20 ms for 1000 containers, on every 64th creation).
            ContainerManager.TryQuietly(() => CopyJournal.Sweep(m, name, StateReader.ReadSpec(m, name)));
        }
    }
}
