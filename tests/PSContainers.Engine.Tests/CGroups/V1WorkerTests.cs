using PSContainers.CGroups;
using PSContainers.CGroups.V1;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// The v1 workers on their own, against fixture trees: the freezer on a copy of a real v1 freezer cgroup (Debian 12,
/// kernel 6.1), populated by listing cgroup.procs, and the cpuset copy a new v1 cpuset cgroup needs.
/// </summary>
public sealed class V1WorkerTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly List<string> _log = new();
    private readonly List<CGroupTree> _trees = new();

    /// <summary>A v1 hierarchy of <paramref name="controller"/> in a directory of its own, its root with an empty cgroup.procs.</summary>
    private CGroupTree Tree(string controller)
    {
        string dir = Path.Combine(_tmp.Path, controller);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cgroup.procs"), "");
        var tree = new CGroupTree(new CGroupMount(dir, "/", false, new[] { controller }));
        _trees.Add(tree);
        return tree;
    }

    private CGroupTree FreezerTree()
    {
        var tree = Tree("freezer");
        Fixtures.CopyTree(Path.Combine(Fixtures.Dir("cgroup-v1-linux-6.1"), "demo-freezer"), Path.Combine(tree.Mount.MountPoint, "web"));
        return tree;
    }

    private static string Text(CGroupTree tree, string path, string file) => File.ReadAllText(tree.FullPath(path, file)).TrimEnd('\n');

    [Fact]
    public void FreezerReadsFreezerState()
    {
        var tree = FreezerTree();
        var f = new V1Freezer(tree);
        Assert.True(f.CanFreeze("/web"));
        Assert.False(f.CanFreeze("/missing"));
        Assert.False(f.IsFrozen("/web"));   // the fixture says THAWED
        File.WriteAllText(tree.FullPath("/web", "freezer.state"), "FROZEN\n");
        Assert.True(f.IsFrozen("/web"));
        File.WriteAllText(tree.FullPath("/web", "freezer.state"), "FREEZING\n");
        Assert.False(f.IsFrozen("/web"));
        Assert.Null(f.IsFrozen("/"));        // the hierarchy's root has no freezer.state
        Assert.Null(f.IsFrozen("/missing"));
    }

    [Fact]
    public void FreezeAndThawWriteFreezerStateAndWaitForIt()
    {
        var tree = FreezerTree();
        var f = new V1Freezer(tree);
        f.SetFrozen("/web", true, TimeSpan.FromSeconds(5), _log.Add);
        Assert.Equal("FROZEN", Text(tree, "/web", "freezer.state"));
        f.SetFrozen("/web", false, TimeSpan.FromSeconds(5), _log.Add);
        Assert.Equal("THAWED", Text(tree, "/web", "freezer.state"));
        string file = tree.FullPath("/web", "freezer.state");
        Assert.Equal(new[] { $"wrote 'FROZEN' to {file}", $"wrote 'THAWED' to {file}" }, _log);
    }

    [Fact]
    public void ThawIfFrozenThawsFrozenAndFreezingOnly()
    {
        var tree = FreezerTree();
        var f = new V1Freezer(tree);
        string file = tree.FullPath("/web", "freezer.state");
        f.ThawIfFrozen("/web", _log.Add);
        f.ThawIfFrozen("/", _log.Add);
        Assert.Empty(_log);
        foreach (string state in new[] { "FROZEN", "FREEZING" })
        {
            File.WriteAllText(file, state + "\n");
            f.ThawIfFrozen("/web", _log.Add);
            Assert.Equal("THAWED", Text(tree, "/web", "freezer.state"));
        }
        Assert.Equal(new[] { $"wrote 'THAWED' to {file}", $"wrote 'THAWED' to {file}" }, _log);
    }

    [Fact]
    public void PopulatedIsAProcessInCGroupProcsOfTheCGroupOrBelowInAnyHierarchy()
    {
        var memory = Tree("memory");
        var pids = Tree("pids");
        foreach (var t in new[] { memory, pids })
        {
            Directory.CreateDirectory(t.FullPath("/web/inner/deep"));
            foreach (string p in new[] { "/web", "/web/inner", "/web/inner/deep" })
            {
                File.WriteAllText(t.FullPath(p, "cgroup.procs"), "");
            }
        }
        var population = new V1Population(new[] { memory, pids });
        Assert.False(population.IsPopulated("/web"));
        Assert.False(population.IsPopulated("/missing"));

        // A process moved into one hierarchy only, two levels down.
        File.WriteAllText(pids.FullPath("/web/inner/deep", "cgroup.procs"), "4242\n");
        Assert.True(population.IsPopulated("/web"));
        Assert.True(population.IsPopulated("/web/inner"));
        Assert.True(population.IsPopulated("/"));
        Assert.False(new V1Population(new[] { memory }).IsPopulated("/web"));
    }

    [Fact]
    public void ANewCpusetCGroupGetsItsParentsCpusAndMemsUnlessItHasThem()
    {
        var tree = Tree("cpuset");
        File.WriteAllText(tree.FullPath("/", "cpuset.cpus"), "0-1\n");
        File.WriteAllText(tree.FullPath("/", "cpuset.mems"), "0\n");
        Directory.CreateDirectory(tree.FullPath("/web"));
        File.WriteAllText(tree.FullPath("/web", "cpuset.cpus"), "\n");   // as the kernel makes a v1 child: empty
        File.WriteAllText(tree.FullPath("/web", "cpuset.mems"), "\n");
        var inherit = new V1CpusetInheritance(tree);
        inherit.Inherit("/", "/web", _log.Add);
        Assert.Equal("0-1", Text(tree, "/web", "cpuset.cpus"));
        Assert.Equal("0", Text(tree, "/web", "cpuset.mems"));
        Assert.Equal(new[] { $"wrote '0-1' to {tree.FullPath("/web", "cpuset.cpus")}", $"wrote '0' to {tree.FullPath("/web", "cpuset.mems")}" }, _log);

        // A child that already has its own CPUs keeps them.
        File.WriteAllText(tree.FullPath("/web", "cpuset.cpus"), "1\n");
        _log.Clear();
        inherit.Inherit("/", "/web", _log.Add);
        Assert.Equal("1", Text(tree, "/web", "cpuset.cpus"));
        Assert.Empty(_log);
    }

    [Fact]
    public void AV1HierarchyHasNothingToEnable()
    {
        var e = new V1ControllerEnablement();
        Assert.Equal(new[] { "cpu", "cpuacct" }, e.EnabledIn("/web", new[] { "cpu", "cpuacct" }).OrderBy(c => c));
        e.EnableForChildren("/", _log.Add);
        Assert.Empty(_log);
    }

    public void Dispose()
    {
        foreach (var t in _trees)
        {
            t.Dispose();
        }
        _tmp.Dispose();
    }
}
