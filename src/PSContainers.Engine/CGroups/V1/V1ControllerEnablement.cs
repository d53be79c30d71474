namespace PSContainers.CGroups.V1;

/// <summary>A v1 hierarchy gives every cgroup in it its controllers: nothing to enable, nothing filtered out.</summary>
internal sealed class V1ControllerEnablement : IControllerEnablement
{
    public HashSet<string> EnabledIn(string path, IReadOnlyList<string> controllers)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < controllers.Count; i++)
        {
            set.Add(controllers[i]);
        }
        return set;
    }

    public void EnableForChildren(string parent, Action<string>? log)
    {
    }
}
