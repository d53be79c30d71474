using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.CGroups;

public class HierarchyTests
{
    private static CGroupHierarchy ParseFixture(string name, string? v2Controllers = null) =>
        CGroupHierarchy.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir(name), "proc-self-mountinfo")), _ => v2Controllers);

    [Fact]
    public void PureV2HostIsDetectedFromItsMountinfo()
    {
        var h = ParseFixture("cgroup-v2-linux-6.1", "cpuset cpu io memory hugetlb pids rdma misc");
        Assert.Equal(CGroupLayout.V2, h.Layout);
        var unified = Assert.Single(h.Mounts);
        Assert.Equal("/sys/fs/cgroup", unified.MountPoint);
        Assert.True(unified.IsV2);
        Assert.Contains("memory", unified.Controllers);
        Assert.Empty(h.V1Mounts);
    }

    [Fact]
    public void PureV1HostIsDetectedWithOneMountPerController()
    {
        var h = ParseFixture("cgroup-v1-linux-6.1");
        Assert.Equal(CGroupLayout.V1, h.Layout);
        Assert.Null(h.Unified);
        foreach (string c in new[] { "memory", "pids", "cpuset", "freezer" })
        {
            Assert.Contains(h.V1Mounts, m => m.Controllers.Contains(c));
        }
        Assert.DoesNotContain(h.V1Mounts, m => m.Controllers.Contains("rw") || m.Controllers.Any(x => x.Contains('=')));
    }

    [Fact]
    public void HybridHostHasV1ControllersAndAControllerlessUnifiedMount()
    {
        var h = ParseFixture("hybrid-linux-6.18", "");
        Assert.Equal(CGroupLayout.Hybrid, h.Layout);
        Assert.Equal("/sys/fs/cgroup/unified", h.Unified!.MountPoint);
        Assert.Empty(h.Unified.Controllers);
        Assert.Contains(h.V1Mounts, m => m.Controllers.SequenceEqual(new[] { "memory" }));
        // name=systemd is a named hierarchy without controllers: detected, never used.
        Assert.Contains(h.Mounts, m => m.IsNamedOnly);
        Assert.DoesNotContain(h.V1Mounts, m => m.IsNamedOnly);
    }

    [Fact]
    public void MountinfoWithoutCgroupsIsAClearError()
    {
        var ex = Assert.Throws<PSContainers.Native.PscException>(() =>
            CGroupHierarchy.Parse("24 1 0:21 / / rw - ext4 /dev/sda1 rw\n", _ => null));
        Assert.Equal("CGroupNotMounted", ex.ErrorId);
    }

    [Fact]
    public void EscapedMountPointsAreDecoded()
    {
        var h = CGroupHierarchy.Parse("40 30 0:37 / /tmp/with\\040space rw - cgroup2 cgroup2 rw\n", _ => "memory");
        Assert.Equal("/tmp/with space", h.Unified!.MountPoint);
    }

    [Trait("Layout", "cgroup")]
    [Fact]
    public void TheRunningHostIsDetectedAsTheKernelMountsIt()
    {
        var h = CGroupHierarchy.Detect();
        foreach (var m in h.Mounts)
        {
            Assert.True(File.Exists(Path.Combine(m.MountPoint, "cgroup.procs")), $"{m.MountPoint} has no cgroup.procs");
        }
        string fsTypes = string.Join(" ", File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains(" - cgroup")).Select(l => l.Split(" - ")[1].Split(' ')[0]));
        bool v1 = fsTypes.Split(' ').Contains("cgroup") && h.Mounts.Any(m => !m.IsV2 && !m.IsNamedOnly);
        bool v2 = fsTypes.Split(' ').Contains("cgroup2");
        Assert.Equal(v1 && v2 ? CGroupLayout.Hybrid : v2 ? CGroupLayout.V2 : CGroupLayout.V1, h.Layout);
    }
}
