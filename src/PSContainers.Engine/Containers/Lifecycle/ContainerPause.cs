using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Suspend-Container and Resume-Container: the whole cgroup frozen and thawed.</summary>
internal static class ContainerPause
{
    /// <summary>Freezes a running container's whole cgroup and waits until the kernel reports it frozen.</summary>
    public static Container Suspend(ContainerManager m, string name)
    {
        Container c = StateReader.Get(m, name);
        if (c.State != ContainerState.Running)
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a running container can be suspended.", name);
        }
        m.CGroups.Freeze(StateReader.CGroupOf(c.Spec));
        m.Depot.AppendEvent(name, "paused");
        return StateReader.Get(m, name);
    }

    /// <summary>Thaws a paused container and waits until the kernel reports it thawed.</summary>
    public static Container Resume(ContainerManager m, string name)
    {
        Container c = StateReader.Get(m, name);
        if (c.State != ContainerState.Paused)
        {
            throw new PscException("ContainerNotPaused", ErrorKind.InvalidOperation, $"Container '{name}' is {c.State}; only a paused container can be resumed.", name);
        }
        m.CGroups.Thaw(c.CGroupPath);
        m.Depot.AppendEvent(name, "resumed");
        return StateReader.Get(m, name);
    }
}
