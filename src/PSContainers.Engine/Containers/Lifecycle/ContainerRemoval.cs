using PSContainers.CGroups;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Remove-Container: the cgroup (unless KeepCGroup) and the depot entry; a running container needs -Force.</summary>
internal static class ContainerRemoval
{
    /// <summary>
    /// Removes a container: its cgroup (unless KeepCGroup) and its depot entry. Running ones need -Force. A cancelled
    /// <paramref name="cancel"/> ends the waits (a stop, a busy cgroup) with OperationCanceledException and leaves the
    /// entry, so the container is listed and can be removed again.
    /// </summary>
    public static void Remove(ContainerManager m, string name, bool force, CancellationToken cancel = default)
    {
        ContainerName.Check(name);
        Container? c = null;
        PscException? corrupt = null;
        try
        {
            c = StateReader.Get(m, name);
        }
        catch (PscException e) when (e.ErrorId.StartsWith("DepotCorrupt", StringComparison.Ordinal) && force)
        {
            corrupt = e;
        }
        if (c is not null && c.State is ContainerState.Running or ContainerState.Paused)
        {
            if (!force)
            {
                throw new PscException("ContainerRunning", ErrorKind.ResourceBusy, $"Container '{name}' is {c.State}; stop it first or use -Force.", name);
            }
            ContainerStop.Stop(m, name, TimeSpan.Zero, force: true, cancel: cancel);
        }
        using (m.Depot.Lock())
        using (m.Depot.LockContainer(name))
        {
            // Only a Created container can have been started since we looked (a start writes state.json first).
            if (!force && c is { State: ContainerState.Created } && File.Exists(m.Depot.FileOf(name, "state.json")))
            {
                throw new PscException("ContainerRunning", ErrorKind.ResourceBusy, $"Container '{name}' was started meanwhile; stop it first or use -Force.", name);
            }
            if (c is { OomKilled: true })
            {
                // The last chance: the counter goes with the cgroup. A log that cannot be written does not keep it.
                ContainerManager.TryQuietly(() => ContainerEvents.RecordOomKillsLocked(m, name, c.Spec.CGroupPath));
            }
            var paths = c is not null
                ? new[] { c.Spec.CGroupPath }.Where(p => p.Length > 0).ToArray()
                : CandidateCGroups(m, name);
            foreach (string path in paths)
            {
                if (!m.CGroups.Exists(path))
                {
                    continue;
                }
                if (c is not null && c.Spec.KeepCGroup)
                {
                    m.CGroups.Kill(path, TimeSpan.FromSeconds(10), cancel);
                }
                else
                {
                    m.CGroups.Remove(path, recurse: true, force: true, TimeSpan.FromSeconds(10), cancel);
                }
            }
            ProcessTracker.EndAll(m, name, TimeSpan.FromSeconds(3)); // no tracker writes into an entry being removed
            // The temporaries of copies cut short (a killed session), while the root is still there.
            ContainerManager.TryQuietly(() => CopyJournal.Sweep(m, name, c?.Spec));
            WritableLayer.RemoveFor(m, name, c?.Spec); // nothing runs in the root any more: unmount, detach, delete
            BridgeNetwork.Detach(m, m.Depot.PathOf(name), name); // its veth, rules, ports, qdiscs and namespace
            m.Depot.Delete(name);
            m.Log?.Invoke($"removed container '{name}'{(corrupt is null ? "" : " (its depot entry was damaged)")}");
        }
    }

    /// <summary>Where a container whose spec is unreadable may have its cgroup: &lt;root&gt;/&lt;name&gt; or &lt;root&gt;/&lt;group&gt;/&lt;name&gt;.</summary>
    private static string[] CandidateCGroups(ContainerManager m, string name)
    {
        var list = new List<string> { CGroupPath.Combine(m.CGroups.ProjectRoot, name) };
        if (m.CGroups.Exists(m.CGroups.ProjectRoot))
        {
            list.AddRange(m.CGroups.ChildPaths(m.CGroups.ProjectRoot).Select(g => CGroupPath.Combine(g, name)));
        }
        return list.Distinct().ToArray();
    }
}
