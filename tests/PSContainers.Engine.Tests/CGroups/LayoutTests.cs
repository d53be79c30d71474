using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// What differs between the cgroup layouts, on the running kernel: v2's subtree_control and no-internal-process
/// rule, memory+swap on v2, the OOM killer's counter, pressure and IO accounting. Natively these run on the hybrid
/// host; tests/vm/lane.sh runs them again (with every test of the "Layout" trait) on a pure v2 and a pure v1 kernel.
/// A test the layout cannot show is skipped with the reason.
/// </summary>
[Trait("Layout", "cgroup")]
public class LayoutTests
{
    private static string Read(string file) => File.ReadAllText(file).Trim();

    private static string[] Words(string? text) => (text ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The cgroup2 tree when it carries <paramref name="controller"/> (a pure v2 host), else skips.</summary>
    private static CGroupTree V2With(HostCGroups h, string controller)
    {
        CGroupTree? u = h.Manager.Unified;
        Skip.If(u is null || !u.Mount.Controllers.Contains(controller),
            $"needs cgroup v2 with the {controller} controller (this host: {h.Layout}, cgroup2 controllers: '{string.Join(' ', u?.Mount.Controllers ?? Array.Empty<string>())}')");
        // The machine (systemd, or the VM's init) decides what reaches the root's children.
        Skip.IfNot(Words(u!.TryRead("/", "cgroup.subtree_control")).Contains(controller),
            $"the root's cgroup.subtree_control does not enable {controller} for its children");
        return u;
    }

    /// <summary>Starts `sh -c` inside <paramref name="path"/>: it waits for a line, so it is inside before it runs the script.</summary>
    private static Process StartInside(HostCGroups h, string path, string script)
    {
        var p = h.Start("/bin/sh", "-c", "read x; " + script);
        h.Manager.MoveProcess(p.Id, path);
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        return p;
    }

    [SkippableFact]
    public void V2ControllersAreEnabledDownToEveryCGroupTheProjectMakes()
    {
        using var h = new HostCGroups();
        CGroupTree u = V2With(h, "memory");
        var cg = h.Manager.Create(h.Root + "/a/b", new CGroupLimits { MemoryLimit = 32L << 20, PidsLimit = 9 });
        string[] wanted = new[] { "cpuset", "cpu", "io", "memory", "pids" }.Where(u.Mount.Controllers.Contains).ToArray();
        foreach (string parent in new[] { h.Root, h.Root + "/a" })
        {
            Assert.Equal(wanted.Order(), Words(u.TryRead(parent, "cgroup.subtree_control")).Order());
        }
        Assert.Equal(wanted.Order(), Words(u.TryRead(h.Root + "/a/b", "cgroup.controllers")).Order());
        Assert.Equal((32L << 20).ToString(), Read(u.FullPath(h.Root + "/a/b", "memory.max")));
        Assert.Equal("9", Read(u.FullPath(h.Root + "/a/b", "pids.max")));
        Assert.Equal(wanted.Order(), cg.Controllers.Where(wanted.Contains).Order());
        // A leaf enables nothing: its own subtree_control stays empty, so processes may live in it.
        Assert.Equal("", u.TryRead(h.Root + "/a/b", "cgroup.subtree_control"));
    }

    [SkippableFact]
    public void TheNoInternalProcessRuleIsReportedByNameAndLeavesNoChildBehind()
    {
        using var h = new HostCGroups();
        CGroupTree u = V2With(h, "memory");
        h.Manager.Create(h.Root + "/busy");
        var p = StartInside(h, h.Root + "/busy", "echo up; exec sleep 60");
        Assert.Equal("up", p.StandardOutput.ReadLine());
        // Enabling a controller for children of a cgroup that has processes of its own is refused by the kernel.
        var ex = Assert.Throws<PscException>(() => h.Manager.Create(h.Root + "/busy/child", new CGroupLimits { PidsLimit = 5 }));
        Assert.Equal("CGroupWrite,EBUSY", ex.ErrorId);
        Assert.Equal(ErrorKind.ResourceBusy, ex.Kind);
        Assert.Contains("no-internal-process rule", ex.Message);
        Assert.Contains("cgroup.subtree_control", ex.Message);
        Assert.False(Directory.Exists(u.FullPath(h.Root + "/busy/child")));
        Assert.Equal("", u.TryRead(h.Root + "/busy", "cgroup.subtree_control"));
        Assert.False(p.HasExited);
    }

    [SkippableFact]
    public void AControllerTheMachineDoesNotHandDownIsReportedWhereItStops()
    {
        using var h = new HostCGroups();
        CGroupTree u = V2With(h, "memory");
        // "The machine": a cgroup whose subtree_control hands nothing on (made here, so nothing of the host's is touched);
        // a second manager has its root below it, so it must not change it and must say where memory stops.
        h.Manager.Create(h.Root + "/machine");
        Assert.Contains("memory", Words(u.TryRead(h.Root + "/machine", "cgroup.controllers")));
        Assert.Equal("", u.TryRead(h.Root + "/machine", "cgroup.subtree_control"));
        using var below = new CGroupManager(h.Manager.Hierarchy, h.Root + "/machine/proj");
        var ex = Assert.Throws<PscException>(() => below.Create(h.Root + "/machine/proj/web", new CGroupLimits { MemoryLimit = 64L << 20 }));
        Assert.Equal("ControllerUnavailable,memory", ex.ErrorId);
        Assert.Contains(u.FullPath(h.Root + "/machine", "cgroup.subtree_control"), ex.Message);
        Assert.Contains("above the project's root", ex.Message);
        Assert.Equal("", u.TryRead(h.Root + "/machine", "cgroup.subtree_control"));
        Assert.False(Directory.Exists(u.FullPath(h.Root + "/machine/proj")), "the failed create left its cgroups");
    }

    [SkippableFact]
    public void MemorySwapLimitIsMemoryPlusSwapOnV2AsRuncConvertsIt()
    {
        using var h = new HostCGroups();
        CGroupTree u = V2With(h, "memory");
        string path = h.Root + "/swap";
        h.Manager.Create(path);
        Skip.IfNot(u.HasFile(path, "memory.swap.max"), "the kernel has no swap accounting (memory.swap.max is missing)");
        h.Manager.SetLimits(path, new CGroupLimits { MemoryLimit = 64L << 20, MemorySwapLimit = 96L << 20 });
        var cg = h.Manager.Get(path);
        Assert.Equal((64L << 20).ToString(), Read(u.FullPath(path, "memory.max")));
        Assert.Equal((32L << 20).ToString(), Read(u.FullPath(path, "memory.swap.max")));
        Assert.Equal(96L << 20, cg.MemorySwapLimit);
        // Equal limits mean no swap at all; -1 means unlimited swap.
        h.Manager.SetLimits(path, new CGroupLimits { MemoryLimit = 64L << 20, MemorySwapLimit = 64L << 20 });
        Assert.Equal("0", Read(u.FullPath(path, "memory.swap.max")));
        h.Manager.SetLimits(path, new CGroupLimits { MemorySwapLimit = -1 });
        Assert.Equal("max", Read(u.FullPath(path, "memory.swap.max")));
        Assert.Equal(-1, h.Manager.Get(path).MemorySwapLimit);
    }

    [SkippableFact]
    public void CpuLimitAndWeightLandInCpuMaxAndCpuWeightOnV2()
    {
        using var h = new HostCGroups();
        CGroupTree u = V2With(h, "cpu");
        string path = h.Root + "/cpu";
        var cg = h.Manager.Create(path, new CGroupLimits { CpuLimit = 0.25, CpuWeight = 300 });
        Assert.Equal("25000 100000", Read(u.FullPath(path, "cpu.max")));
        Assert.Equal("300", Read(u.FullPath(path, "cpu.weight")));
        Assert.Equal(0.25, cg.CpuLimit);
        Assert.Equal(300, cg.CpuWeight);
        h.Manager.SetLimits(path, new CGroupLimits { CpuLimit = -1, CpuWeight = -1 });
        Assert.Equal("max 100000", Read(u.FullPath(path, "cpu.max")));
        Assert.Equal("100", Read(u.FullPath(path, "cpu.weight")));
    }

    [SkippableFact]
    public void TheOomKillerIsCountedWhereTheLayoutReportsIt()
    {
        using var h = new HostCGroups();
        Skip.If(!h.Manager.ControllerTrees.ContainsKey("memory"), "no hierarchy serves the memory controller");
        string path = h.Root + "/oom";
        h.Manager.Create(path, new CGroupLimits { PidsLimit = 20 });
        // No swap either where the kernel accounts it, so the hog meets the OOM killer instead of the swap device.
        string memoryTree = h.Manager.ControllerTrees["memory"];
        bool swapAccounted = h.Manager.Trees.Any(t => t.Name == memoryTree && (t.HasFile(path, "memory.swap.max") || t.HasFile(path, "memory.memsw.limit_in_bytes")));
        h.Manager.SetLimits(path, new CGroupLimits { MemoryLimit = 24L << 20, MemorySwapLimit = swapAccounted ? 24L << 20 : null });
        Assert.Equal(0, h.Manager.OomKills(path));
        // tail keeps its whole input when there is no newline: it grows until the OOM killer ends it.
        var p = StartInside(h, path, "exec tail /dev/zero");
        Assert.True(p.WaitForExit(60_000), "the memory hog was not killed within 60 s");
        var deadline = Stopwatch.StartNew();
        while (h.Manager.OomKills(path) == 0 && deadline.ElapsedMilliseconds < 5000)
        {
            Thread.Sleep(20);
        }
        Assert.Equal(1, h.Manager.OomKills(path));
        Assert.Equal(1, h.Manager.ReadStats(path).OomKills);
        if (h.Manager.ControllerTrees["memory"] == "unified")
        {
            Assert.True(h.Manager.ReadStats(path).OomEvents >= 1);
        }
    }

    [SkippableFact]
    public void PressureIsReportedForEveryCGroupOnTheUnifiedTree()
    {
        using var h = new HostCGroups();
        CGroupTree? u = h.Manager.Unified;
        Skip.If(u is null, "cgroup v1 has no per-cgroup pressure files (PSI needs a cgroup2 mount)");
        string path = h.Root + "/psi";
        h.Manager.Create(path);
        Skip.IfNot(u!.HasFile(path, "cpu.pressure"), "the kernel reports no pressure (PSI off: boot with psi=1)");
        var p = StartInside(h, path, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done; exec sleep 60");
        Assert.Equal("done", p.StandardOutput.ReadLine());
        var s = h.Manager.ReadStats(path);
        foreach (PressureInfo? info in new[] { s.CpuPressure, s.MemoryPressure, s.IoPressure })
        {
            Assert.NotNull(info);
            Assert.InRange(info!.SomeAvg10, 0, 100);
            Assert.True(info.SomeTotal >= 0);
        }
        Assert.NotNull(s.MemoryPressure!.FullTotal); // memory and io have a "full" line
        Assert.True(s.CpuUsageNs > 0, "a shell that counted to 20000 used CPU time");
    }

    [SkippableFact]
    public void ReadsFromABlockDeviceAreCountedInTheIoStatisticsAndNeverShownAsAMadeUpZero()
    {
        using var h = new HostCGroups();
        string? controller = h.Manager.ControllerTrees.ContainsKey("io") ? "io" : h.Manager.ControllerTrees.ContainsKey("blkio") ? "blkio" : null;
        Skip.If(controller is null, "no hierarchy serves the io (v2) or blkio (v1) controller");
        string? device = BlockDevice();
        Skip.If(device is null, "no readable block device (/dev/vd*, /dev/sd*, /dev/nvme*n*) on this machine");
        string path = h.Root + "/io";
        h.Manager.Create(path);
        ReadMiB(h, path, device!);
        var s = h.Manager.ReadStats(path);
        if (controller == "io")
        {
            Assert.True(s.IoReadBytes >= 1 << 20, $"io.stat: IoReadBytes {s.IoReadBytes} after reading 1 MiB from {device}");
        }
        else
        {
            // Kernels such as 6.1 count v1 blkio only where a throttle rule applies: then null, never a made-up 0.
            Assert.True(s.IoReadBytes is null || s.IoReadBytes >= 1 << 20, $"blkio: IoReadBytes {s.IoReadBytes} after reading 1 MiB from {device}");
            Assert.True(s.IoReadOps is null || s.IoReadOps >= 16, $"blkio: IoReadOps {s.IoReadOps}");
        }

        // With a (generous) throttle rule every layout counts.
        var tree = h.Manager.Trees.First(t => t.Name == h.Manager.ControllerTrees[controller!]);
        string majMin = File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/dev").Trim();
        tree.Write(path, controller == "io" ? "io.max" : "blkio.throttle.read_bps_device", controller == "io" ? $"{majMin} rbps=1073741824" : $"{majMin} 1073741824");
        long before = h.Manager.ReadStats(path).IoReadBytes ?? 0;
        ReadMiB(h, path, device!);
        s = h.Manager.ReadStats(path);
        Assert.True(s.IoReadBytes >= before + (1 << 20), $"{controller}: IoReadBytes {s.IoReadBytes} (was {before}) after reading 1 MiB more under a rule");
        Assert.True(s.IoReadOps >= 16, $"{controller}: IoReadOps {s.IoReadOps}");
    }

    /// <summary>Reads 1 MiB from the device with O_DIRECT (so it reaches the device) from inside the cgroup.</summary>
    private static void ReadMiB(HostCGroups h, string path, string device)
    {
        var p = StartInside(h, path, $"dd if={device} of=/dev/null bs=65536 count=16 iflag=direct 2>&1; echo status $?");
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Skip.If(!output.Contains("status 0"), $"dd with O_DIRECT cannot read {device} here: {output}");
    }

    /// <summary>A whole-disk block device to read from, or null.</summary>
    internal static string? BlockDevice() =>
        Directory.Exists("/sys/block")
            ? Directory.GetDirectories("/sys/block").Select(Path.GetFileName)
                .Where(n => n is not null && (n.StartsWith("vd") || n.StartsWith("sd") || (n.StartsWith("nvme") && n.Contains('n'))))
                .Select(n => "/dev/" + n).Where(File.Exists).OrderBy(n => n).FirstOrDefault()
            : null;
}
