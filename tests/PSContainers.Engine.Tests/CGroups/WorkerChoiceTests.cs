using PSContainers.CGroups;
using PSContainers.CGroups.V1;
using PSContainers.CGroups.V2;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// Which version's worker serves each concern, from the mountinfo of real pure-v1, pure-v2 and hybrid hosts (their
/// mount points made as empty directories), and the v1 stop path injected into a manager.
/// </summary>
public sealed class WorkerChoiceTests : IDisposable
{
    private readonly TempDir _tmp = new();

    private CGroupHierarchy Host(string fixture, string v2Controllers)
    {
        var h = CGroupHierarchy.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir(fixture), "proc-self-mountinfo")), _ => v2Controllers,
            mp => Path.Combine(_tmp.Path, mp.TrimStart('/')));
        foreach (var m in h.Mounts)
        {
            Directory.CreateDirectory(m.MountPoint);
        }
        return h;
    }

    [Fact]
    public void OnAHybridHostControllersComeFromV1AndTheCoreFilesFromCGroup2()
    {
        using var w = new CGroupWorkers(Host("hybrid-linux-6.18", ""), "/pscontainers", CGroupStopPath.Default);
        Assert.Equal("memory", w.ByController["memory"].Tree.Name);
        Assert.IsType<V1Limits>(w.ByController["memory"].Limits);
        Assert.IsType<V1Stats>(w.ByController["pids"].Stats);
        Assert.NotNull(w.ByController["cpuset"].Cpuset);
        Assert.Null(w.ByController["memory"].Cpuset);
        Assert.Collection(w.Freezers, f => Assert.IsType<V2Freezer>(f), f => Assert.IsType<V1Freezer>(f));
        Assert.IsType<V2Kill>(w.KernelKill);
        Assert.IsType<V2Population>(w.Notice);
        Assert.Same(w.Unified, w.Trees[0]);
        Assert.DoesNotContain(w.Serving, t => t.Tree == w.Unified); // the cgroup2 tree serves no controller here
    }

    [Fact]
    public void TheV1StopPathHasNoKernelKillAndFreezesThroughTheV1FreezerFirst()
    {
        using var w = new CGroupWorkers(Host("hybrid-linux-6.18", ""), "/pscontainers", CGroupStopPath.AsV1);
        Assert.Null(w.KernelKill);
        Assert.Collection(w.Freezers, f => Assert.IsType<V1Freezer>(f), f => Assert.IsType<V2Freezer>(f));
        Assert.IsType<V2Population>(w.Notice); // reading is the same on either path
    }

    [Fact]
    public void APureV1HostHasNoKernelKillNoNoticeAndTheV1Freezer()
    {
        using var w = new CGroupWorkers(Host("cgroup-v1-linux-6.1", ""), "/pscontainers", CGroupStopPath.Default);
        Assert.Null(w.Unified);
        Assert.Null(w.KernelKill);
        Assert.Null(w.Notice);
        Assert.Null(w.CoreStats);
        Assert.IsType<V1Freezer>(Assert.Single(w.Freezers));
        Assert.IsType<V1Population>(w.Listing);
    }

    [Fact]
    public void APureV2HostServesEverythingFromTheUnifiedTree()
    {
        using var w = new CGroupWorkers(Host("cgroup-v2-linux-6.1", "cpuset cpu io memory pids"), "/pscontainers", CGroupStopPath.Default);
        foreach (string c in new[] { "memory", "cpu", "cpuset", "pids", "io" })
        {
            Assert.IsType<V2Limits>(w.ByController[c].Limits);
            Assert.IsType<V2ControllerEnablement>(w.ByController[c].Enablement);
            Assert.Null(w.ByController[c].Cpuset);
        }
        Assert.IsType<V2Freezer>(Assert.Single(w.Freezers));
        Assert.IsType<V2Kill>(w.KernelKill);
        Assert.IsType<V2Stats>(w.CoreStats);
    }

    [Fact]
    public void AManagerMadeWithTheV1StopPathFreezesThroughFreezerState()
    {
        var h = Host("hybrid-linux-6.18", "");
        string unified = Path.Combine(h.Unified!.MountPoint, "pscontainers", "web");
        Fixtures.CopyTree(Path.Combine(Fixtures.Dir("cgroup-v2-linux-6.1"), "demo-leaf"), unified);
        File.Copy(Path.Combine(unified, "cgroup.events.frozen"), Path.Combine(unified, "cgroup.events"), overwrite: true);
        string freezer = Path.Combine(h.V1Mounts.First(m => m.Controllers.Contains("freezer")).MountPoint, "pscontainers", "web");
        Fixtures.CopyTree(Path.Combine(Fixtures.Dir("cgroup-v1-linux-6.1"), "demo-freezer"), freezer);

        var log = new List<string>();
        using (var m = new CGroupManager(h, "/pscontainers") { Log = log.Add })
        {
            m.Freeze("/pscontainers/web");
            Assert.True(m.IsFrozen("/pscontainers/web")); // cgroup.events says frozen
        }
        Assert.Equal(new[] { $"wrote '1' to {Path.Combine(unified, "cgroup.freeze")}" }, log);
        Assert.Equal("THAWED", File.ReadAllText(Path.Combine(freezer, "freezer.state")).Trim());

        log.Clear();
        using (var m = new CGroupManager(h, "/pscontainers", null, CGroupStopPath.AsV1) { Log = log.Add })
        {
            m.Freeze("/pscontainers/web");
        }
        Assert.Equal(new[] { $"wrote 'FROZEN' to {Path.Combine(freezer, "freezer.state")}" }, log);
        Assert.Equal("FROZEN", File.ReadAllText(Path.Combine(freezer, "freezer.state")).Trim());
    }

    public void Dispose() => _tmp.Dispose();
}
