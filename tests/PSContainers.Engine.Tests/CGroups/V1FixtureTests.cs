using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>The v1 stat files of a real pure-v1 kernel (Debian 12, 6.1), after an OOM kill and a throttled CPU loop.</summary>
public sealed class V1FixtureTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly CGroupManager _m;

    public V1FixtureTests()
    {
        string src = Fixtures.Dir("cgroup-v1-linux-6.1");
        string mountinfo = File.ReadAllText(Path.Combine(src, "proc-self-mountinfo"));
        var h = CGroupHierarchy.Parse(mountinfo, _ => null, mp => Path.Combine(_tmp.Path, mp.TrimStart('/')));
        foreach (var (controller, dir) in new[] { ("memory", "demo-memory"), ("cpu", "demo-cpu"), ("pids", "demo-pids"), ("freezer", "demo-freezer") })
        {
            var mount = h.V1Mounts.First(m => m.Controllers.Contains(controller));
            Directory.CreateDirectory(mount.MountPoint);
            File.WriteAllText(Path.Combine(mount.MountPoint, "cgroup.procs"), "");
            Fixtures.CopyTree(Path.Combine(src, dir), Path.Combine(mount.MountPoint, "pscontainers", "web"));
        }
        foreach (var mount in h.V1Mounts)
        {
            Directory.CreateDirectory(mount.MountPoint);
        }
        _m = new CGroupManager(h, "pscontainers", () => new SortedSet<int> { 0, 1 });
    }

    [Fact]
    public void StatsAndLimitsReadTheV1Files()
    {
        var s = _m.ReadStats("/pscontainers/web");
        Assert.Equal(1, s.OomKills);        // memory.oom_control oom_kill
        Assert.Null(s.OomEvents);           // v1 has no count of OOM events: null, not 0
        Assert.Equal(0, s.MemoryRss);       // memory.stat total_rss
        Assert.Equal(5, s.CpuThrottledPeriods);
        Assert.Equal(205323754, s.CpuThrottledNs);
        Assert.Equal(8, s.CpuPeriods);
        var cg = _m.Get("/pscontainers/web");
        Assert.Equal(33554432, cg.MemoryLimit);
        Assert.Equal(0.5, cg.CpuLimit);
        Assert.Equal(CGroupLayout.V1, cg.Version);
    }

    public void Dispose()
    {
        _m.Dispose();
        _tmp.Dispose();
    }
}
