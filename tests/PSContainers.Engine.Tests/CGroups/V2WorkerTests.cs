using PSContainers.CGroups;
using PSContainers.CGroups.V2;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// The v2 workers on their own, against a copy of a real pure-v2 leaf (Debian 12, kernel 6.1) as /web of a fixture
/// tree: cgroup.freeze and cgroup.events for the freezer, cgroup.kill, "populated", cgroup.controllers.
/// </summary>
public sealed class V2WorkerTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly string _src = Fixtures.Dir("cgroup-v2-linux-6.1");
    private readonly CGroupTree _tree;
    private readonly List<string> _log = new();

    public V2WorkerTests()
    {
        Fixtures.CopyTree(Path.Combine(_src, "root"), _tmp.Path);
        Fixtures.CopyTree(Path.Combine(_src, "demo-leaf"), Path.Combine(_tmp.Path, "web"));
        _tree = new CGroupTree(new CGroupMount(_tmp.Path, "/", true, new[] { "cpuset", "cpu", "io", "memory", "pids" }));
    }

    private string Text(string rel) => File.ReadAllText(Path.Combine(_tmp.Path, rel)).TrimEnd('\n');

    private void Events(string fixture) => File.Copy(Path.Combine(_src, "demo-leaf", fixture), Path.Combine(_tmp.Path, "web", "cgroup.events"), overwrite: true);

    [Fact]
    public void FreezerReadsFrozenFromCGroupEvents()
    {
        var f = new V2Freezer(_tree);
        Assert.True(f.CanFreeze("/web"));
        Assert.False(f.CanFreeze("/"));          // the root has no cgroup.freeze
        Assert.False(f.CanFreeze("/missing"));
        Assert.False(f.IsFrozen("/web"));
        Events("cgroup.events.frozen");
        Assert.True(f.IsFrozen("/web"));
        Assert.Null(f.IsFrozen("/"));
        Assert.Null(f.IsFrozen("/missing"));
    }

    [Fact]
    public void FreezeWritesCGroupFreezeAndWaitsForTheKernelsFrozen()
    {
        var f = new V2Freezer(_tree);
        // cgroup.events never says frozen here: the wait ends in FreezeTimeout, naming the file.
        var ex = Assert.Throws<PscException>(() => f.SetFrozen("/web", true, TimeSpan.FromMilliseconds(50), _log.Add));
        Assert.Equal("FreezeTimeout", ex.ErrorId);
        Assert.Contains(_tree.FullPath("/web", "cgroup.freeze"), ex.Message);
        Assert.Equal("1", Text("web/cgroup.freeze"));
        Assert.Equal(new[] { $"wrote '1' to {_tree.FullPath("/web", "cgroup.freeze")}" }, _log);

        Events("cgroup.events.frozen");
        f.SetFrozen("/web", true, TimeSpan.FromSeconds(5), _log.Add);
        Events("cgroup.events");
        f.SetFrozen("/web", false, TimeSpan.FromSeconds(5), _log.Add);
        Assert.Equal("0", Text("web/cgroup.freeze"));
    }

    [Fact]
    public void ThawIfFrozenWritesOnlyWhenCGroupFreezeSaysOne()
    {
        var f = new V2Freezer(_tree);
        f.ThawIfFrozen("/web", _log.Add);
        f.ThawIfFrozen("/", _log.Add);
        Assert.Empty(_log);
        File.WriteAllText(Path.Combine(_tmp.Path, "web", "cgroup.freeze"), "1\n");
        f.ThawIfFrozen("/web", _log.Add);
        Assert.Equal("0", Text("web/cgroup.freeze"));
        Assert.Equal(new[] { $"wrote '0' to {_tree.FullPath("/web", "cgroup.freeze")}" }, _log);
    }

    [Fact]
    public void KillWritesCGroupKillAndReturnsWhenEventsSayUnpopulated()
    {
        var kill = new V2Kill(_tree);
        Events("cgroup.events.killed"); // "populated 0": the wait ends at the first read
        Assert.True(kill.KillAll("/web", TimeSpan.FromSeconds(5), default, _log.Add));
        Assert.Equal("1", Text("web/cgroup.kill"));
        Assert.Equal(new[] { $"wrote '1' to {_tree.FullPath("/web", "cgroup.kill")}" }, _log);
    }

    [Fact]
    public void KillDoesNothingWithoutCGroupKillOrAtTheRoot()
    {
        var kill = new V2Kill(_tree);
        Assert.False(kill.KillAll("/", TimeSpan.FromSeconds(1), default, _log.Add));
        File.Delete(Path.Combine(_tmp.Path, "web", "cgroup.kill"));
        Assert.False(kill.KillAll("/web", TimeSpan.FromSeconds(1), default, _log.Add));
        Assert.False(File.Exists(Path.Combine(_tmp.Path, "web", "cgroup.kill")));
        Assert.Empty(_log);
    }

    [Fact]
    public void PopulatedComesFromOneReadOfCGroupEvents()
    {
        var p = new V2Population(_tree);
        Assert.True(p.IsPopulated("/web"));
        Events("cgroup.events.killed");
        Assert.False(p.IsPopulated("/web"));
        Assert.Null(p.IsPopulated("/"));        // no cgroup.events at the root
        Assert.Null(p.IsPopulated("/missing")); // not in this tree: another must tell
    }

    [Fact]
    public void ControllersOfACGroupAreThoseItsParentHandsDown()
    {
        var e = new V2ControllerEnablement(_tree, "/web");
        string[] mine = { "memory", "cpu", "pids", "io" };
        File.WriteAllText(Path.Combine(_tmp.Path, "web", "cgroup.controllers"), "cpu pids\n");
        Assert.Equal(new[] { "cpu", "pids" }, e.EnabledIn("/web", mine).OrderBy(c => c));
        Assert.Equal(mine.OrderBy(c => c), e.EnabledIn("/", mine).OrderBy(c => c)); // the root has the mount's
    }

    [Fact]
    public void ControllersAreEnabledOnlyAtOrBelowTheProjectsRoot()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "cgroup.subtree_control"), "");
        File.WriteAllText(Path.Combine(_tmp.Path, "web", "cgroup.subtree_control"), "cpu\n");
        var e = new V2ControllerEnablement(_tree, "/web");
        e.EnableForChildren("/", _log.Add);
        Assert.Equal("", Text("cgroup.subtree_control"));
        e.EnableForChildren("/web", _log.Add);
        Assert.Equal("+cpuset +io +memory +pids", Text("web/cgroup.subtree_control"));
        Assert.Equal(new[] { $"wrote '+cpuset +io +memory +pids' to {_tree.FullPath("/web", "cgroup.subtree_control")}" }, _log);
    }

    public void Dispose()
    {
        _tree.Dispose();
        _tmp.Dispose();
    }
}
