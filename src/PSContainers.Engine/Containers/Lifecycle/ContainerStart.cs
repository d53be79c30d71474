using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Start-Container: a created container's program run through psc-init (<see cref="Launcher"/>).</summary>
internal static class ContainerStart
{
    /// <summary>
    /// Starts a created container and returns once its program runs (or reports why it could not). psc-init records
    /// state.json and the "started" event itself before the program runs, so one request to a resident launcher and
    /// one answer line are the whole exchange; only this container is locked meanwhile, so starts of different
    /// containers overlap.
    /// </summary>
    public static Container Start(ContainerManager m, string name, TimeSpan? timeout = null)
    {
        ContainerName.Check(name);
        using (m.Depot.LockContainer(name))
        {
            // Created means no state.json (a failed start removes it again): only a started one needs the kernel asked.
            ContainerSpec spec = StateReader.ReadSpec(m, name);
            if (m.Depot.ReadJson<ContainerRuntimeState>(name, "state.json") is not null)
            {
                throw new PscException("ContainerAlreadyStarted", ErrorKind.InvalidOperation, $"Container '{name}' is {StateReader.Describe(m, name, spec).State}; only a Created container can be started.", name);
            }
            bool hasCGroup = spec.CGroupPath.Length > 0;
            var cgroupDirs = hasCGroup ? m.CGroups.WritableTrees.Where(t => t.Exists(spec.CGroupPath)).Select(t => t.FullPath(spec.CGroupPath)).ToArray() : Array.Empty<string>();
            if (hasCGroup && cgroupDirs.Length == 0)
            {
                throw new PscException("CGroupNotFound", ErrorKind.ObjectNotFound, $"The cgroup '{spec.CGroupPath}' of container '{name}' is gone.", spec.CGroupPath);
            }
            string dir = m.Depot.PathOf(name); // output.log exists since Create (psc-init makes it if not)
            Launcher.Started started;
            try
            {
                started = Launcher.Launch(Launcher.Config(spec, dir, cgroupDirs, hasCGroup ? m.CGroups.OomCounterPath(spec.CGroupPath) : null), name, timeout ?? TimeSpan.FromSeconds(30));
                m.Log?.Invoke($"container '{name}': init {started.InitPid}, main process {started.MainPid}");
            }
            catch (PscException e) when (e.Errno == Errno.EPERM && !spec.Isolation.HasFlag(ContainerIsolation.User)
                && (spec.Isolation & SpecValidator.PrivilegedNamespaces) != 0 && Capabilities.Has(Capabilities.SysAdmin) == false)
            {
                // Created by a process that had the privilege (or in a shared depot), started by one without it.
                var refused = new PscException("IsolationNeedsRoot", ErrorKind.PermissionDenied, SpecValidator.NeedsRootMessage(spec.Isolation) + " (" + e.Message + ")",
                    name, e.Errno, e);
                Cleanup(refused);
                throw refused;
            }
            catch (PscException e)
            {
                Cleanup(e);
                throw;
            }
            void Cleanup(PscException why)
            {
                // Nothing stays behind: whatever psc-init made dies with the cgroup, and the container is Created again.
                if (hasCGroup)
                {
                    ContainerManager.TryQuietly(() => m.CGroups.Kill(spec.CGroupPath, TimeSpan.FromSeconds(5)));
                }
                ContainerManager.TryQuietly(() => File.Delete(m.Depot.FileOf(name, "state.json")));
                ContainerManager.TryQuietly(() => File.Delete(m.Depot.FileOf(name, "exit")));
                // The reason, on the event's one line: its error id, then its message.
                string reason = why.Message.Replace('\n', ' ').Replace('\r', ' ');
                ContainerManager.TryQuietly(() => m.Depot.AppendEvent(name, "start-failed", $"error={why.ErrorId} {reason}"));
            }
            if (started.StartTimeUnixNs is not long ns)
            {
                return StateReader.Describe(m, name, spec); // a psc-init that does not say when (an older one, through $PSCONTAINERS_INIT)
            }
            // What psc-init answered is what state.json now says, and the cgroup is the fresh one made at Create (no OOM
            // kill, not frozen): nothing to read back. The program is exec'ing right now on the other CPU, so every
            // read here would only slow it down.
            Container c = StateReader.Unstarted(m, name, spec);
            c.State = ContainerState.Running;
            c.InitPid = started.InitPid;
            c.Pid = started.MainPid;
            c.StartTime = DateTime.UnixEpoch.AddTicks(ns / 100);
            return c;
        }
    }
}
