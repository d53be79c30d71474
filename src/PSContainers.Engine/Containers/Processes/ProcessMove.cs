using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Move-Process -Container: an outside process taken into a running container's cgroups.</summary>
internal static class ProcessMove
{
    /// <summary>Moves an outside process into a running container's cgroups (the seeds' migrate_process).</summary>
    public static void MoveProcess(ContainerManager m, int pid, string name) => m.CGroups.MoveProcess(pid, MoveTarget(m, name));

    /// <summary>
    /// The cgroup a process moved into this container joins: the container must be Running or Paused
    /// (ContainerNotRunning) and have a cgroup of its own (ContainerHasNoCGroup). Nothing is moved.
    /// </summary>
    public static string MoveTarget(ContainerManager m, string name)
    {
        Container c = StateReader.Get(m, name);
        if (c.State is not (ContainerState.Running or ContainerState.Paused))
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a running container takes processes.", name);
        }
        return StateReader.CGroupOf(c.Spec);
    }
}
