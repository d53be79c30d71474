using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// New-Container: the request resolved into a spec (<see cref="SpecResolver"/>, nothing made yet), then the depot
/// entry and the cgroup with its limits, all or nothing. Nothing runs.
/// </summary>
internal static class ContainerCreation
{
    public static Container Create(ContainerManager m, ContainerManager.Request r)
    {
        ContainerSpec spec = SpecResolver.Resolve(r, m.CGroups.ProjectRoot, m.Store, out NetworkRequest network);
        using (m.Depot.Lock())
        {
            CheckGroupName(m, r.Group);
            StaleSweep.OnCreation(m);
            spec = MakeEntry(m, spec, network);
        }
        return StateReader.Unstarted(m, r.Name, spec); // what Get would read back: the spec, no state.json, no exit
    }

    /// <summary>A group may not be named like an ungrouped container: they would share one cgroup.</summary>
    private static void CheckGroupName(ContainerManager m, string? group)
    {
        string groupPath = SpecResolver.GroupPath(group, m.CGroups.ProjectRoot);
        if (group is not null && m.Depot.Exists(group) && m.Depot.ReadJson<ContainerSpec>(group, "spec.json")?.CGroupPath == groupPath)
        {
            throw new PscException("GroupNameTaken", ErrorKind.ResourceExists,
                $"The group '{group}' would share the cgroup {groupPath} of the container named '{group}'; choose another group name.", group);
        }
    }

    /// <summary>
    /// The entry is made under a hidden name and renamed into place complete, so no reader ever sees a container
    /// without its spec; a session killed meanwhile leaves only the hidden directory (swept later). Returns the spec
    /// as written (without a cgroup when a rootless one could not be made).
    /// </summary>
    private static ContainerSpec MakeEntry(ContainerManager m, ContainerSpec spec, NetworkRequest network)
    {
        string staging = m.Depot.CreateStaging(spec.Name);
        bool cgroupMade = false, layerMade = false, networkMade = false;
        NetworkState? net = null;
        try
        {
            // spec.json first: it names the cgroup, so a sweep can remove the cgroup of a creation cut short.
            string specFile = Path.Combine(staging, "spec.json");
            m.Depot.WriteFile(specFile, System.Text.Json.JsonSerializer.Serialize(spec, Depot.Json));
            if (MakeCGroup(m, spec))
            {
                cgroupMade = true;
            }
            else
            {
                spec = spec with { CGroupPath = "" };
                m.Depot.WriteFile(specFile, System.Text.Json.JsonSerializer.Serialize(spec, Depot.Json));
            }
            if (spec.Image is not null)
            {
                // The copy-on-write root, mounted now; the inode limit the filesystem really gives goes into the spec.
                layerMade = true;
                if (WritableLayer.Make(m, spec) is long inodes)
                {
                    spec = spec with { InodeLimit = inodes };
                    m.Depot.WriteFile(specFile, System.Text.Json.JsonSerializer.Serialize(spec, Depot.Json));
                }
            }
            // Everything a start writes to is made here, so a start creates no file but state.json (psc-init
            // renames state.json.new into place): on a disk-backed /run a new inode costs 0.1-0.7 ms.
            if (network.Mode == ContainerNetwork.Bridge)
            {
                // The namespace, veth, address, rules and ports, now: a start only joins the namespace.
                networkMade = true;
                net = BridgeNetwork.Attach(m, staging, spec.Name, network);
            }
            m.Depot.CreateEmpty(staging, "output.log");
            m.Depot.CreateEmpty(staging, Depot.StateNext);
            if (spec.RootPath is not null)
            {
                EtcFiles.Write(m.Depot, staging, spec, net?.Address); // the /etc files the root's mounts bind in (psc-init etc=)
            }
            m.Depot.AppendEventTo(staging, "created");
            m.Depot.Commit(staging, spec.Name);
            return spec;
        }
        catch
        {
            if (networkMade)
            {
                ContainerManager.TryQuietly(() => BridgeNetwork.Detach(m, staging, spec.Name, net));
            }
            if (layerMade)
            {
                ContainerManager.TryQuietly(() => WritableLayer.RemoveFor(m, spec.Name, spec));
            }
            if (cgroupMade)
            {
                ContainerManager.TryQuietly(() => m.CGroups.Remove(spec.CGroupPath, recurse: true, force: true));
            }
            ContainerManager.TryQuietly(() => m.Depot.Discard(staging));
            throw;
        }
    }

    /// <summary>
    /// The group's cgroup if missing, then the container's with its limits. False when a rootless container without
    /// limits cannot have one: it runs without (like Nomad's basic executor); its PID namespace, or psc-init as
    /// subreaper, still holds the tree together.
    /// </summary>
    private static bool MakeCGroup(ContainerManager m, ContainerSpec spec)
    {
        string groupPath = SpecResolver.GroupPath(spec.Group, m.CGroups.ProjectRoot);
        try
        {
            if (spec.Group is not null && !m.CGroups.Exists(groupPath))
            {
                m.CGroups.Make(groupPath, null);
            }
            try
            {
                m.CGroups.Make(spec.CGroupPath, spec.Limits);
            }
            catch (PscException e) when (e.ErrorId == "CGroupExists")
            {
                // Maybe left by a creation cut short that no sweep has seen yet: sweep, then try once more.
                StaleSweep.Run(m);
                m.CGroups.Make(spec.CGroupPath, spec.Limits);
            }
            return true;
        }
        catch (PscException e) when (e.Kind == ErrorKind.PermissionDenied && Sys.EffectiveUid != 0 && spec.Limits.IsEmpty && spec.Group is null)
        {
            m.Log?.Invoke($"container '{spec.Name}' runs without a cgroup: {e.Message}");
            return false;
        }
    }
}
