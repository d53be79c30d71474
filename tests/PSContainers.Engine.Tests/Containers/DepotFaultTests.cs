using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>
/// A depot on a full or read-only file system (a small tmpfs mounted for the test): a clear error, and nothing
/// half-made: no depot entry, no cgroup, no process.
/// </summary>
public sealed class DepotFaultTests : IDisposable
{
    private readonly TempDir _mount = new();
    private readonly string _root = "/psc-xunit-df-" + Guid.NewGuid().ToString("N")[..8];
    private bool _mounted;

    private ContainerManager Open() => new(new Depot(Path.Combine(_mount.Path, "depot")), new CGroupManager(CGroupHierarchy.Current(), _root));

    private void Mount(string options)
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "needs root to mount a tmpfs and create cgroups");
        HostCommand.Run("mount", "-t", "tmpfs", "-o", options, "psc-depot-test", _mount.Path);
        _mounted = true;
    }

    [SkippableTheory]
    [MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void AFullDepotFailsNewContainerWithNoSpaceAndLeavesNothing(int run)
    {
        _ = run;
        Mount("size=64k");
        using var m = Open();
        Directory.CreateDirectory(m.Depot.Root);
        // Fill it up.
        try
        {
            using var fill = File.Create(Path.Combine(_mount.Path, "fill"));
            fill.Write(new byte[128 * 1024]);
        }
        catch (IOException)
        {
        }
        var ex = Assert.Throws<PscException>(() => m.Create(new ContainerManager.Request { Name = "full", FilePath = "/bin/true", Limits = new CGroupLimits { PidsLimit = 10 } }));
        Assert.StartsWith("Depot", ex.ErrorId);
        Assert.Contains("ENOSPC", ex.ErrorId);
        Assert.Equal(ErrorKind.LimitsExceeded, ex.Kind);
        AssertNothingLeft(m);
    }

    [SkippableTheory]
    [MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void ADepotThatFillsUpBeforeStartFailsTheStartAndTheContainerIsCreatedAgain(int run)
    {
        _ = run;
        Mount("size=256k");
        using var m = Open();
        m.Create(new ContainerManager.Request { Name = "late", FilePath = "/bin/sleep", ArgumentList = new[] { "300" }, Limits = new CGroupLimits { PidsLimit = 10 } });
        var cgroup = m.Get("late").CGroupPath;
        try
        {
            using var fill = File.Create(Path.Combine(_mount.Path, "fill"));
            fill.Write(new byte[512 * 1024]);
        }
        catch (IOException)
        {
        }
        var ex = Assert.Throws<PscException>(() => m.Start("late"));
        Assert.Equal("ContainerSetup,ENOSPC", ex.ErrorId);
        Assert.Contains("depot_write", ex.Message);
        Assert.Equal(ContainerState.Created, m.Get("late").State);
        Assert.Empty(m.CGroups.SubtreeProcessIds(cgroup));
        File.Delete(Path.Combine(_mount.Path, "fill"));
        Assert.Equal(ContainerState.Running, m.Start("late").State);
        m.Remove("late", force: true);
        AssertNothingLeft(m);
    }

    [SkippableTheory]
    [MemberData(nameof(Runs.Five), MemberType = typeof(Runs))]
    public void AReadOnlyDepotFailsNewContainerClearlyAndLeavesNothing(int run)
    {
        _ = run;
        Mount("size=1m");
        using var m = Open();
        Directory.CreateDirectory(m.Depot.Root);
        HostCommand.Run("mount", "-o", "remount,ro", _mount.Path);
        var ex = Assert.Throws<PscException>(() => m.Create(new ContainerManager.Request { Name = "ro", FilePath = "/bin/true", Limits = new CGroupLimits { PidsLimit = 10 } }));
        Assert.StartsWith("Depot", ex.ErrorId);
        Assert.Contains("EROFS", ex.ErrorId);
        Assert.Equal(ErrorKind.PermissionDenied, ex.Kind);
        Assert.Contains(m.Depot.Root, ex.Message);
        AssertNothingLeft(m);
    }

    private void AssertNothingLeft(ContainerManager m)
    {
        Assert.Empty(Directory.Exists(m.Depot.Root) ? Directory.GetFileSystemEntries(m.Depot.Root).Where(e => Path.GetFileName(e) != ".lock") : Array.Empty<string>());
        Assert.True(!m.CGroups.Exists(_root) || !m.CGroups.Descendants(_root).Any(), "a cgroup was left below " + _root);
    }

    public void Dispose()
    {
        if (_mounted)
        {
            Process.Start("umount", new[] { "-l", _mount.Path })!.WaitForExit();
        }
        using (var m = new CGroupManager(CGroupHierarchy.Current(), _root))
        {
            if (m.Exists(_root))
            {
                m.Remove(_root, recurse: true, force: true);
            }
        }
        _mount.Dispose();
    }
}
