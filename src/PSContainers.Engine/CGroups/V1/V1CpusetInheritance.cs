namespace PSContainers.CGroups.V1;

/// <summary>v1 cpuset children start with no CPUs and no memory nodes; they get the parent's, as runc does.</summary>
internal sealed class V1CpusetInheritance : ICpusetInheritance
{
    private readonly CGroupTree _tree;

    public V1CpusetInheritance(CGroupTree tree) => _tree = tree;

    public void Inherit(string parent, string child, Action<string>? log)
    {
        foreach (string file in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            if (string.IsNullOrWhiteSpace(_tree.TryRead(child, file)))
            {
                string value = _tree.Read(parent, file);
                _tree.Write(child, file, value);
                log?.Invoke($"wrote '{value}' to {_tree.FullPath(child, file)}");
            }
        }
    }
}
