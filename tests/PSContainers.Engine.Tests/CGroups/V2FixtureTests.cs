using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// The v2 controller code against a copy of a real pure-v2 tree (Debian 12, kernel 6.1): /sys/fs/cgroup is the
/// fixture's root/, the project's root /pscontainers is its demo/ (controllers enabled), and /pscontainers/web is
/// demo-leaf/ (memory.max 32 MiB, pids.max 20, cpu.max 50000 100000, cpuset 0, OOM-killed once).
/// </summary>
public sealed class V2FixtureTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly CGroupManager _m;

    public V2FixtureTests()
    {
        string src = Fixtures.Dir("cgroup-v2-linux-6.1");
        Fixtures.CopyTree(Path.Combine(src, "root"), _tmp.Path);
        Fixtures.CopyTree(Path.Combine(src, "demo"), Path.Combine(_tmp.Path, "pscontainers"));
        Fixtures.CopyTree(Path.Combine(src, "demo-leaf"), Path.Combine(_tmp.Path, "pscontainers", "web"));
        var h = CGroupHierarchy.Parse(File.ReadAllText(Path.Combine(src, "proc-self-mountinfo")),
            mp => File.ReadAllText(Path.Combine(mp, "cgroup.controllers")),
            mp => mp == "/sys/fs/cgroup" ? _tmp.Path : mp);
        _m = new CGroupManager(h, "pscontainers", () => new SortedSet<int> { 0, 1 });
    }

    private string File_(string rel) => File.ReadAllText(Path.Combine(_tmp.Path, rel)).TrimEnd('\n');

    [Fact]
    public void EveryControllerIsServedByTheUnifiedTree()
    {
        Assert.Equal(CGroupLayout.V2, _m.Hierarchy.Layout);
        foreach (string c in new[] { "memory", "cpu", "cpuset", "pids", "io" })
        {
            Assert.Equal("unified", _m.ControllerTrees[c]);
        }
    }

    [Fact]
    public void ReadsLimitsAndUsageInTheKernelsFormats()
    {
        var cg = _m.Get("/pscontainers/web");
        Assert.Equal(CGroupLayout.V2, cg.Version);
        Assert.Equal(33554432, cg.MemoryLimit);
        Assert.Equal(0.5, cg.CpuLimit);
        Assert.Equal(100, cg.CpuWeight);
        Assert.Equal("0", cg.CpuSet);
        Assert.Equal(20, cg.PidsLimit);
        Assert.Equal(long.Parse(File_("pscontainers/web/memory.current")), cg.MemoryUsage);
        Assert.Equal(long.Parse(File_("pscontainers/web/memory.peak")), cg.MemoryPeak);
        Assert.Equal(long.Parse(File_("pscontainers/web/pids.current")), cg.PidsCurrent);
        Assert.Equal(new[] { "cpu", "cpuset", "io", "memory", "pids" }, cg.Controllers);
        Assert.True(cg.IsManaged);
        Assert.Equal("web", cg.Name);
    }

    [Fact]
    public void WritesEveryLimitInTheV2Files()
    {
        var written = _m.SetLimits("/pscontainers/web", new CGroupLimits
        {
            MemoryLimit = 256L << 20, MemorySwapLimit = 384L << 20, CpuLimit = 1.5, CpuWeight = 250, CpuSet = "0-1", PidsLimit = 100,
        });
        Assert.Equal("268435456", File_("pscontainers/web/memory.max"));
        Assert.Equal((128L << 20).ToString(), File_("pscontainers/web/memory.swap.max"));
        Assert.Equal("150000 100000", File_("pscontainers/web/cpu.max"));
        Assert.Equal("250", File_("pscontainers/web/cpu.weight"));
        Assert.Equal("0-1", File_("pscontainers/web/cpuset.cpus"));
        Assert.Equal("100", File_("pscontainers/web/pids.max"));
        var mem = Assert.Single(written, w => w.File.EndsWith("/memory.max"));
        Assert.Equal("33554432", mem.OldValue);
        Assert.Equal("268435456", mem.NewValue);
    }

    [Fact]
    public void MinusOneWritesMax()
    {
        _m.SetLimits("/pscontainers/web", new CGroupLimits { MemoryLimit = -1, CpuLimit = -1, PidsLimit = -1, CpuWeight = -1 });
        Assert.Equal("max", File_("pscontainers/web/memory.max"));
        Assert.Equal("max 100000", File_("pscontainers/web/cpu.max"));
        Assert.Equal("max", File_("pscontainers/web/pids.max"));
        Assert.Equal("100", File_("pscontainers/web/cpu.weight"));
        var cg = _m.Get("/pscontainers/web");
        Assert.Equal(-1, cg.MemoryLimit);
        Assert.Equal(-1, cg.CpuLimit);
        Assert.Equal(-1, cg.PidsLimit);
    }

    [Fact]
    public void PlanShowsOldAndNewValuesWithoutWriting()
    {
        var plan = _m.PlanLimits("/pscontainers/web", new CGroupLimits { PidsLimit = 7 });
        var w = Assert.Single(plan);
        Assert.EndsWith("pscontainers/web/pids.max", w.File);
        Assert.Equal("20", w.OldValue);
        Assert.Equal("7", w.NewValue);
        Assert.Equal("20", File_("pscontainers/web/pids.max"));
    }

    [Fact]
    public void CreatingEnablesControllersInTheParentsSubtreeControl()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "pscontainers", "cgroup.subtree_control"), "");
        _m.Create("/pscontainers/api");
        Assert.Equal("+cpuset +cpu +io +memory +pids", File_("pscontainers/cgroup.subtree_control"));
        Assert.True(Directory.Exists(Path.Combine(_tmp.Path, "pscontainers", "api")));
    }

    [Fact]
    public void NothingIsWrittenAboveTheProjectsRoot()
    {
        string rootControl = File_("cgroup.subtree_control");
        File.WriteAllText(Path.Combine(_tmp.Path, "cgroup.subtree_control"), "");
        using var other = new CGroupManager(_m.Hierarchy, "/fresh", () => new SortedSet<int> { 0 });
        other.Create("/fresh");
        Assert.Equal("", File_("cgroup.subtree_control"));
        Assert.NotEqual("", rootControl);
    }

    [Fact]
    public void EventsGivePopulatedAndFrozen()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "pscontainers", "web", "cgroup.events"), File_("pscontainers/web/cgroup.events.frozen"));
        var cg = _m.Get("/pscontainers/web");
        Assert.True(cg.Frozen);
        Assert.Equal(File_("pscontainers/web/cgroup.events.frozen").Contains("populated 1"), cg.Populated);
    }

    [Fact]
    public void ALimitForAControllerTheParentDidNotEnableIsAnError()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "pscontainers", "web", "cgroup.controllers"), "cpu pids");
        var ex = Assert.Throws<PscException>(() => _m.SetLimits("/pscontainers/web", new CGroupLimits { MemoryLimit = 1 << 20 }));
        Assert.Equal("ControllerUnavailable,memory", ex.ErrorId);
        Assert.Equal("33554432", File_("pscontainers/web/memory.max"));
    }

    [Fact]
    public void WritesOutsideTheRootAreRefusedAndChangeNothing()
    {
        var ex = Assert.Throws<PscException>(() => _m.Create("/elsewhere"));
        Assert.Equal("CGroupOutsideRoot", ex.ErrorId);
        Assert.False(Directory.Exists(Path.Combine(_tmp.Path, "elsewhere")));
    }

    [Fact]
    public void SymlinksOutOfTheTreeAreNotFollowed()
    {
        using var outside = new TempDir();
        File.WriteAllText(Path.Combine(outside.Path, "pids.max"), "max");
        Directory.CreateSymbolicLink(Path.Combine(_tmp.Path, "pscontainers", "evil"), outside.Path);
        Assert.False(_m.Exists("/pscontainers/evil"));
        Assert.Throws<PscException>(() => _m.SetLimits("/pscontainers/evil", new CGroupLimits { PidsLimit = 5 }));
        Assert.Equal("max", File.ReadAllText(Path.Combine(outside.Path, "pids.max")));
    }

    [Fact]
    public void StatsReadEveryV2FileInTheKernelsFormat()
    {
        var s = _m.ReadStats("/pscontainers/web");
        Assert.Equal(long.Parse(File_("pscontainers/web/memory.current")), s.MemoryUsage);
        Assert.Equal(33554432, s.MemoryLimit);
        Assert.Equal(98304, s.MemoryRss);   // memory.stat anon
        Assert.Equal(4096, s.MemoryCache);  // memory.stat file
        Assert.Equal(1, s.OomEvents);       // memory.events oom
        Assert.Equal(1, s.OomKills);        // memory.events oom_kill
        Assert.Equal(6335295000, s.CpuUsageNs);
        Assert.Equal(6087166000, s.CpuUserNs);
        Assert.Equal(248129000, s.CpuSystemNs);
        Assert.Equal(132, s.CpuPeriods);
        Assert.Equal(125, s.CpuThrottledPeriods);
        Assert.Equal(6120648000, s.CpuThrottledNs);
        Assert.Equal(20, s.PidsLimit);
        Assert.Equal(0, s.IoReadBytes);     // an empty io.stat: the controller is there, nothing was read
        Assert.Equal(new PressureInfo(27.35, 8.39, 1.92, 6287976, 27.19, 8.31, 1.90, 6208444), s.CpuPressure);
        Assert.NotNull(s.MemoryPressure);
        Assert.NotNull(s.IoPressure);
    }

    [Fact]
    public void IoStatSumsEveryDevice()
    {
        var io = StatFiles.IoStatV2("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n");
        Assert.Equal((4196L, 8192L, 4L, 2L), io);
        Assert.Equal((1000L, 24L), StatFiles.BlkioV1("8:0 Read 1000\n8:0 Write 24\n8:0 Sync 1024\n8:0 Total 1024\nTotal 1024\n"));
        Assert.Null(PressureInfo.Parse(""));
        var someOnly = PressureInfo.Parse("some avg10=1.50 avg60=0.00 avg300=0.00 total=42\n")!;
        Assert.Equal(1.5, someOnly.SomeAvg10);
        Assert.Null(someOnly.FullTotal);
    }

    public void Dispose()
    {
        _m.Dispose();
        _tmp.Dispose();
    }
}
