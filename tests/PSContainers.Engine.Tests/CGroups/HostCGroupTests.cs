using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>The toolkit against the real kernel on this host: v1 controllers and v2 core files.</summary>
[Trait("Layout", "cgroup")]
public class HostCGroupTests
{
    private static string ReadFile(string mount, string path, string file) =>
        File.ReadAllText(mount + path + "/" + file).Trim();

    private static string[] ProcCGroupLines(int pid) => File.ReadAllLines($"/proc/{pid}/cgroup");

    [SkippableFact]
    public void CreateWritesEveryLimitToTheKernel()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/limits";
        var cg = h.Manager.Create(path, new CGroupLimits { MemoryLimit = 64L << 20, CpuLimit = 0.5, CpuWeight = 200, CpuSet = "0", PidsLimit = 20 });
        Assert.Equal(64L << 20, cg.MemoryLimit);
        Assert.Equal(0.5, cg.CpuLimit);
        Assert.Equal(200, cg.CpuWeight);
        Assert.Equal("0", cg.CpuSet);
        Assert.Equal(20, cg.PidsLimit);
        Assert.Equal(0, cg.PidsCurrent);
        Assert.Empty(cg.ProcessIds);
        Assert.Equal(false, cg.Populated);
        if (h.V1Mount("memory") is string mem)
        {
            Assert.Equal((64L << 20).ToString(), ReadFile(mem, path, "memory.limit_in_bytes"));
            Assert.Equal("20", ReadFile(h.V1Mount("pids")!, path, "pids.max"));
            Assert.Equal("50000", ReadFile(h.V1Mount("cpu")!, path, "cpu.cfs_quota_us"));
            Assert.Equal("100000", ReadFile(h.V1Mount("cpu")!, path, "cpu.cfs_period_us"));
            Assert.Equal(CGroupLimits.WeightToShares(200).ToString(), ReadFile(h.V1Mount("cpu")!, path, "cpu.shares"));
            Assert.Equal("0", ReadFile(h.V1Mount("cpuset")!, path, "cpuset.cpus"));
            Assert.NotEqual("", ReadFile(h.V1Mount("cpuset")!, path, "cpuset.mems"));
        }
        if (h.Manager.Unified is CGroupTree u)
        {
            Assert.True(Directory.Exists(u.FullPath(path)));
            if (u.Mount.Controllers.Contains("memory"))
            {
                // Pure v2: every limit in the one tree, in v2's files.
                Assert.Equal((64L << 20).ToString(), ReadFile(u.Mount.MountPoint, path, "memory.max"));
                Assert.Equal("20", ReadFile(u.Mount.MountPoint, path, "pids.max"));
                Assert.Equal("50000 100000", ReadFile(u.Mount.MountPoint, path, "cpu.max"));
                Assert.Equal("200", ReadFile(u.Mount.MountPoint, path, "cpu.weight"));
                Assert.Equal("0", ReadFile(u.Mount.MountPoint, path, "cpuset.cpus"));
            }
        }
    }

    [SkippableFact]
    public void LimitsChangeAndMinusOneRemovesThem()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/change";
        h.Manager.Create(path, new CGroupLimits { MemoryLimit = 32L << 20, PidsLimit = 5 });
        h.Manager.SetLimits(path, new CGroupLimits { MemoryLimit = -1, PidsLimit = -1, CpuLimit = -1 });
        var cg = h.Manager.Get(path);
        Assert.Equal(-1, cg.MemoryLimit);
        Assert.Equal(-1, cg.PidsLimit);
        Assert.Equal(-1, cg.CpuLimit);
    }

    [SkippableFact]
    public void MoveProcessPutsItInEveryHierarchyAndGetCGroupFindsIt()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/move";
        h.Manager.Create(path, new CGroupLimits { PidsLimit = 10 });
        var p = h.Start("sleep", "60");
        h.Manager.MoveProcess(p.Id, path);
        var lines = ProcCGroupLines(p.Id);
        foreach (var tree in h.Manager.Trees)
        {
            string match = tree.IsV2 ? "0::" + path : ":" + string.Join(',', tree.Mount.Controllers) + ":" + path;
            Assert.Contains(lines, l => l.EndsWith(match) && (tree.IsV2 ? l.StartsWith("0::") : true));
        }
        Assert.Equal(new[] { path }, h.Manager.PathsOfProcess(p.Id));
        var cg = h.Manager.Get(path);
        Assert.Contains(p.Id, cg.ProcessIds);
        Assert.Equal(1, cg.PidsCurrent);
        Assert.Equal(true, cg.Populated);
    }

    [SkippableFact]
    public void MovingAMissingPidOrAKernelThreadIsRefusedAndChangesNothing()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/refuse";
        h.Manager.Create(path);
        int missing = 4_000_000;
        while (File.Exists($"/proc/{missing}/stat"))
        {
            missing--;
        }
        var ex = Assert.Throws<PscException>(() => h.Manager.MoveProcess(missing, path));
        Assert.Equal("ProcessNotFound", ex.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, ex.Kind);
        Assert.Contains(missing.ToString(), ex.Message);

        var kthread = Assert.Throws<PscException>(() => h.Manager.MoveProcess(2, path)); // kthreadd
        Assert.Equal("MoveKernelThread", kthread.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, kthread.Kind);
        Assert.Empty(h.Manager.Get(path).ProcessIds);
    }

    [SkippableFact]
    public void APidsLimitStopsForksInside()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/full";
        h.Manager.Create(path, new CGroupLimits { PidsLimit = 1 });
        // The kernel lets a migration exceed pids.max; the limit bites on fork.
        var forker = h.Start("sh", "-c", "read x; /bin/true; echo \"status $?\"");
        h.Manager.MoveProcess(forker.Id, path);
        forker.StandardInput.WriteLine("go");
        forker.StandardInput.Close();
        Assert.True(forker.WaitForExit(10000));
        string output = forker.StandardOutput.ReadToEnd() + forker.StandardError.ReadToEnd();
        Assert.DoesNotContain("status 0", output);
        Assert.Contains("fork", output, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public void FreezeAndThawWaitForTheKernel()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/freeze";
        h.Manager.Create(path);
        var p = h.Start("sleep", "60");
        h.Manager.MoveProcess(p.Id, path);
        h.Manager.Freeze(path);
        Assert.True(h.Manager.Get(path).Frozen);
        h.Manager.Thaw(path);
        Assert.False(h.Manager.Get(path).Frozen);
        Assert.False(p.HasExited);
    }

    [SkippableFact]
    public void RemoveForceKillsATreeOfDoubleForkedProcesses()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/tree";
        h.Manager.Create(path, new CGroupLimits { PidsLimit = 100 });
        // The shell waits for a line, so it is inside the cgroup before it forks anything.
        var sh = h.Start("sh", "-c", "read x; for i in 1 2 3 4 5; do setsid sh -c 'trap \"\" TERM; sleep 300' & done; sleep 300 & echo started; wait");
        h.Manager.MoveProcess(sh.Id, path);
        sh.StandardInput.WriteLine("go");
        sh.StandardInput.Flush();
        Assert.Equal("started", sh.StandardOutput.ReadLine());
        var deadline = Stopwatch.StartNew();
        while (h.Manager.SubtreeProcessIds(path).Count < 12 && deadline.ElapsedMilliseconds < 30_000) // generous: an emulated VM is slow
        {
            Thread.Sleep(20);
        }
        var pids = h.Manager.SubtreeProcessIds(path);
        Assert.True(pids.Count >= 12, $"only {pids.Count} processes started");
        var log = new List<string>();
        h.Manager.Log = log.Add;
        h.Manager.Remove(path, recurse: false, force: true);
        Assert.False(h.Manager.Exists(path));
        if (h.Manager.Unified is CGroupTree u && File.Exists(u.FullPath(h.Root, "cgroup.kill")))
        {
            Assert.Contains(log, l => l.Contains("cgroup.kill")); // the v2 core file, also on the hybrid unified tree
        }
        foreach (int pid in pids)
        {
            var stat = PSContainers.Processes.ProcStat.Read(pid);
            Assert.True(stat is null || stat.State is 'Z' or 'X', $"process {pid} survived ({stat?.State})");
        }
    }

    [SkippableFact]
    public void RemoveWithoutForceRefusesAPopulatedCGroupAndKeepsIt()
    {
        using var h = new HostCGroups();
        string path = h.Root + "/busy";
        h.Manager.Create(path);
        var p = h.Start("sleep", "60");
        h.Manager.MoveProcess(p.Id, path);
        var ex = Assert.Throws<PscException>(() => h.Manager.Remove(path, recurse: false, force: false));
        Assert.Equal("CGroupNotEmpty", ex.ErrorId);
        Assert.Contains(p.Id.ToString(), ex.Message);
        Assert.True(h.Manager.Exists(path));
        Assert.False(p.HasExited);
    }

    [SkippableFact]
    public void RemoveRefusesChildrenWithoutRecurse()
    {
        using var h = new HostCGroups();
        h.Manager.Create(h.Root + "/parent/child");
        var ex = Assert.Throws<PscException>(() => h.Manager.Remove(h.Root + "/parent", recurse: false, force: false));
        Assert.Equal("CGroupHasChildren", ex.ErrorId);
        h.Manager.Remove(h.Root + "/parent", recurse: true, force: false);
        Assert.False(h.Manager.Exists(h.Root + "/parent"));
        foreach (var tree in h.Manager.Trees)
        {
            Assert.False(Directory.Exists(tree.FullPath(h.Root + "/parent")));
        }
    }

    [SkippableFact]
    public void AMemoryLimitBelowUsageFailsWithEbusyAndRollsBackEveryWrite()
    {
        using var h = new HostCGroups();
        Skip.If(h.V1Mount("memory") is null, "the kernel's EBUSY for a memory limit below usage is a cgroup v1 behaviour (v2 reclaims or OOM-kills instead)");
        var swap = System.Text.RegularExpressions.Regex.Match(File.ReadAllText("/proc/meminfo"), @"SwapTotal:\s+(\d+)");
        Skip.If(swap.Success && swap.Groups[1].Value != "0", "with swap the kernel can swap the memory out instead of refusing the limit");
        string path = h.Root + "/hog";
        h.Manager.Create(path, new CGroupLimits { PidsLimit = 50 });
        // A shell that holds ~40 MB in a variable, then waits.
        var hog = h.Start("sh", "-c", "read x; v=$(head -c 40000000 /dev/zero | tr '\\0' a); echo ready; sleep 60");
        h.Manager.MoveProcess(hog.Id, path);
        hog.StandardInput.WriteLine("go");
        hog.StandardInput.Flush();
        Assert.Equal("ready", hog.StandardOutput.ReadLine());
        var ex = Assert.Throws<PscException>(() => h.Manager.SetLimits(path, new CGroupLimits { PidsLimit = 9, MemoryLimit = 1 << 20 }));
        Assert.Equal("CGroupWrite,EBUSY", ex.ErrorId);
        Assert.Equal(ErrorKind.ResourceBusy, ex.Kind);
        Assert.Contains("memory.limit_in_bytes", ex.Message);
        Assert.Contains("1048576", ex.Message);
        var cg = h.Manager.Get(path);
        Assert.Equal(50, cg.PidsLimit);
        Assert.Equal(-1, cg.MemoryLimit);
    }

    [SkippableFact]
    public void CreatingAnExistingCGroupIsAnErrorAndNothingOutsideTheRootIsTouched()
    {
        using var h = new HostCGroups();
        h.Manager.Create(h.Root + "/dup");
        Assert.Equal("CGroupExists", Assert.Throws<PscException>(() => h.Manager.Create(h.Root + "/dup")).ErrorId);
        Assert.Equal("CGroupOutsideRoot", Assert.Throws<PscException>(() => h.Manager.Create("/psc-not-ours")).ErrorId);
        Assert.False(h.Manager.Exists("/psc-not-ours"));
        Assert.Equal("CGroupOutsideRoot", Assert.Throws<PscException>(() => h.Manager.SetLimits("/", new CGroupLimits { PidsLimit = 5 })).ErrorId);
    }

    [SkippableFact]
    public void AFailedCreateLeavesNoHalfCreatedCGroup()
    {
        using var h = new HostCGroups();
        h.Manager.Create(h.Root);
        // Refused by validation (memory+swap below memory): nothing may be created in any hierarchy.
        var ex = Assert.ThrowsAny<PscException>(() => h.Manager.Create(h.Root + "/half", new CGroupLimits { MemoryLimit = 64L << 20, MemorySwapLimit = 32L << 20 }));
        Assert.Equal("InvalidLimit,MemorySwapLimit", ex.ErrorId);
        Assert.False(h.Manager.Exists(h.Root + "/half"));
        foreach (var tree in h.Manager.Trees)
        {
            Assert.False(Directory.Exists(tree.FullPath(h.Root + "/half")), $"left in {tree.Name}");
        }
    }

    [SkippableFact]
    public void KernelRefusalDuringCreateRemovesWhatWasCreated()
    {
        using var h = new HostCGroups();
        Skip.If(h.V1Mount("memory") is null, "uses the v1 rule that memory.limit_in_bytes cannot exceed memory.memsw.limit_in_bytes");
        h.Manager.Create(h.Root, new CGroupLimits { MemoryLimit = 32L << 20, MemorySwapLimit = 32L << 20 });
        // A CPU set outside the parent's: validation allows it (the CPU exists), the kernel refuses it (EINVAL)
        // only after the directories were made, so the rollback is what is tested.
        string? cpuset = h.V1Mount("cpuset");
        Skip.If(cpuset is null || Environment.ProcessorCount < 2, "needs two CPUs and the v1 cpuset controller");
        File.WriteAllText(cpuset + h.Root + "/cpuset.cpus", "0");
        var ex = Assert.Throws<PscException>(() => h.Manager.Create(h.Root + "/half", new CGroupLimits { PidsLimit = 5, CpuSet = "1" }));
        Assert.StartsWith("CGroupWrite,", ex.ErrorId);
        Assert.Contains("cpuset.cpus", ex.Message);
        foreach (var tree in h.Manager.Trees)
        {
            Assert.False(Directory.Exists(tree.FullPath(h.Root + "/half")), $"left in {tree.Name}");
        }
    }

    [SkippableFact]
    public void ReadingWorksOnCGroupsTheProjectDidNotCreate()
    {
        using var h = new HostCGroups();
        var root = h.Manager.Get("/");
        Assert.False(root.IsManaged);
        Assert.NotEmpty(root.Controllers);
        h.Manager.Create(h.Root);
        var children = h.Manager.ChildPaths("/");
        Assert.Contains(h.Root, children);
        // Every cgroup the machine made at the top (a fresh VM has none) is listed and read, and is not the project's.
        var foreign = h.Manager.Trees.SelectMany(t => Directory.GetDirectories(t.FullPath("/")))
            .Select(d => "/" + Path.GetFileName(d)).Where(p => !p.StartsWith("/psc-", StringComparison.Ordinal)).Distinct().ToArray();
        foreach (string p in foreign)
        {
            Assert.Contains(p, children);
            Assert.False(h.Manager.Get(p).IsManaged);
        }
    }
}
