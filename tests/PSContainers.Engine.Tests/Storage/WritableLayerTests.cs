using System.Diagnostics;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Engine.Tests.Init;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;
using Xunit.Abstractions;

namespace PSContainers.Engine.Tests.Storage;

/// <summary>Copy-on-write roots from images, disk and inode limits, and what a layer leaves behind: on the real kernel.</summary>
[Trait("Layout", "storage")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels (overlay, loop, ext4 there too)
public class WritableLayerTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly ITestOutputHelper _out;

    public WritableLayerTests(ITestOutputHelper output) => _out = output;

    private static ContainerHost HostWithImage(bool loop = false)
    {
        var h = new ContainerHost();
        try
        {
            TestImages.SkipUnlessUsable(loop);
            TestImages.Make(h.Manager.Store.Root, "busy");
            return h;
        }
        catch
        {
            h.Dispose();
            throw;
        }
    }

    private static ContainerManager.Request Request(string name, string script, long? disk = null, long? inodes = null, string image = "busy") => new()
    {
        Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", script }, Image = image, DiskLimit = disk, InodeLimit = inodes,
    };

    private static Container RunToEnd(ContainerHost h, ContainerManager.Request r)
    {
        h.Manager.Create(r);
        h.Manager.Start(r.Name);
        return h.Manager.Wait(r.Name, Minute, CancellationToken.None);
    }

    private static string Stderr(ContainerHost h, string name) => OutputRecords.Stream(h.Manager.Depot.PathOf(name), 'e');

    private static string Layer(ContainerHost h, string name) => h.Manager.Store.LayerPath(name);

    [SkippableFact]
    public void AContainerWritesIntoItsLayerAndTheImageNeverChanges()
    {
        using var h = HostWithImage();
        string rootfs = h.Manager.Store.Find("busy")!.RootFsPath;
        var c = RunToEnd(h, Request("cow", "echo written > /new && rm /etc/motd && cat /etc/passwd > /dev/null"));
        Assert.True(c.ExitCode == 0, Stderr(h, "cow"));
        Assert.Equal(Path.Combine(Layer(h, "cow"), "merged"), c.Spec.RootPath);
        Assert.Equal("busy", c.Spec.Image);
        Assert.Equal(h.Manager.Store.Root, c.Spec.StorePath);
        // The image: untouched. The layer: the new file, and the deletion as a whiteout (a 0/0 character device).
        Assert.False(File.Exists(Path.Combine(rootfs, "new")));
        Assert.Equal("from the image\n", File.ReadAllText(Path.Combine(rootfs, "etc", "motd")));
        Assert.Equal("written\n", File.ReadAllText(Path.Combine(Layer(h, "cow"), "upper", "new")));
        Assert.Equal("character special file 0,0", FileType(Path.Combine(Layer(h, "cow"), "upper", "etc", "motd")));
        // The stopped container's files stay reachable in merged.
        Assert.Equal("written\n", File.ReadAllText(Path.Combine(c.Spec.RootPath!, "new")));
        Assert.False(File.Exists(Path.Combine(c.Spec.RootPath!, "etc", "motd")));
    }

    /// <summary>The file type and device numbers as stat(1) prints them ("character special file 0,0" for a whiteout).</summary>
    private static string FileType(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", new[] { "-c", "%F %t,%T", path }) { RedirectStandardOutput = true })!;
        string text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return text;
    }

    [SkippableFact]
    public void TwoContainersOfOneImageAreIndependent()
    {
        using var h = HostWithImage();
        Assert.Equal(0, RunToEnd(h, Request("one", "echo one > /x && test ! -e /y")).ExitCode);
        Assert.Equal(0, RunToEnd(h, Request("two", "test ! -e /x && echo two > /y")).ExitCode);
        Assert.Equal("one\n", File.ReadAllText(Path.Combine(Layer(h, "one"), "merged", "x")));
        Assert.False(File.Exists(Path.Combine(Layer(h, "one"), "merged", "y")));
        Assert.Equal("two\n", File.ReadAllText(Path.Combine(Layer(h, "two"), "merged", "y")));
        Assert.False(File.Exists(Path.Combine(Layer(h, "two"), "merged", "x")));
    }

    [SkippableFact]
    public void WritingPastTheDiskLimitFailsInsideWithENOSPCAndTheContainerGoesOn()
    {
        using var h = HostWithImage(loop: true);
        const long limit = 8L << 20;
        // dd fails with ENOSPC inside; the shell goes on and ends normally.
        var c = RunToEnd(h, Request("full", "dd if=/dev/zero of=/big bs=4k count=8192; echo dd=$?; rm /big; echo still > /after-full; echo after=$?; dd if=/dev/zero of=/big bs=4k count=8192 2>/dev/null; exit 0", disk: limit));
        string stdout = string.Join('\n', h.Stdout("full"));
        Assert.Contains("dd=1", stdout);
        Assert.Contains("after=0", stdout); // the container went on: it freed space and wrote again
        Assert.Contains("No space left on device", Stderr(h, "full"));
        Assert.Equal(0, c.ExitCode);
        var stats = ContainerManager.LayerUsage(c.Spec)!;
        _out.WriteLine($"usage {stats.Bytes} of {stats.DiskLimit}, inodes {stats.Inodes} of {stats.InodeLimit}");
        Assert.Equal(limit, stats.DiskLimit);
        // ext4's inode tables and its reserve for metadata take ~9% of an 8 MiB filesystem (~3% of 1 GiB).
        Assert.InRange(stats.Bytes!.Value, limit * 85 / 100, limit);
        // The host gave the layer no more than the limit: the image file's allocated size.
        string img = Path.Combine(Layer(h, "full"), "disk.img");
        Assert.Equal(limit, new FileInfo(img).Length);
        Assert.True(AllocatedBytes(img) <= limit, $"{AllocatedBytes(img)} allocated");
        // The host's own filesystem still takes writes.
        using var probe = new TempDir();
        File.WriteAllText(Path.Combine(probe.Path, "x"), "fine");
    }

    private static long AllocatedBytes(string file)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", new[] { "-c", "%b %B", file }) { RedirectStandardOutput = true })!;
        var parts = p.StandardOutput.ReadToEnd().Trim().Split(' ');
        p.WaitForExit();
        return long.Parse(parts[0]) * long.Parse(parts[1]);
    }

    [SkippableFact]
    public void CreatingFilesPastTheInodeLimitFails()
    {
        using var h = HostWithImage(loop: true);
        var created = h.Manager.Create(Request("few", "i=0; while touch /f$i 2>/dev/null; do i=$((i+1)); done; echo made=$i", disk: 4L << 20, inodes: 40));
        long real = created.Spec.InodeLimit!.Value;
        _out.WriteLine($"asked 40 inodes, the filesystem gives {real}");
        Assert.InRange(real, 40, 40 + 64); // ext4 rounds up to whole inode-table blocks (16 inodes of 256 bytes)
        h.Manager.Start("few");
        var c = h.Manager.Wait("few", Minute, CancellationToken.None);
        Assert.Equal(0, c.ExitCode);
        string made = h.Stdout("few").Single(l => l.StartsWith("made=", StringComparison.Ordinal));
        Assert.Equal($"made={real}", made);
        var usage = ContainerManager.LayerUsage(c.Spec)!;
        Assert.Equal(real, usage.InodeLimit);
        Assert.Equal(real, usage.Inodes);
    }

    [SkippableFact]
    public void AnEmptyLayerReportsNothingUsedAndAContainerWithoutAnImageReportsNull()
    {
        using var h = HostWithImage(loop: true);
        var plain = h.Manager.Create(Request("plain", "true"));
        var limited = h.Manager.Create(Request("limited", "true", disk: 16L << 20));
        var none = h.Manager.Create(new ContainerManager.Request { Name = "none", FilePath = "/bin/true" });
        Assert.Equal(new LayerUsage(0, 0, null, null), ContainerManager.LayerUsage(plain.Spec));
        var u = ContainerManager.LayerUsage(limited.Spec)!;
        Assert.Equal(0, u.Bytes);
        Assert.Equal(0, u.Inodes);
        Assert.Equal(16L << 20, u.DiskLimit);
        Assert.True(u.InodeLimit > 1000, $"{u.InodeLimit}");
        Assert.Null(ContainerManager.LayerUsage(none.Spec));
        // Without a disk image, the walk counts what the container wrote.
        Assert.Equal(0, RunToEnd(h, Request("walked", "mkdir /d && dd if=/dev/zero of=/d/f bs=4096 count=3 2>/dev/null")).ExitCode);
        var w = ContainerManager.LayerUsage(h.Manager.Get("walked").Spec)!;
        Assert.Equal(2, w.Inodes);
        Assert.InRange(w.Bytes!.Value, 3 * 4096, 3 * 4096 + 8192);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void RemoveLeavesNoMountLoopDeviceOrFolder(bool disk)
    {
        using var h = HostWithImage(loop: disk);
        var c = RunToEnd(h, Request("gone", "echo x > /x", disk: disk ? 4L << 20 : null));
        Assert.Equal(0, c.ExitCode);
        string layer = Layer(h, "gone");
        Assert.NotEmpty(TestImages.MountsUnder(layer));
        Assert.Equal(disk, TestImages.LoopDevicesUnder(layer).Count == 1);
        h.Manager.Remove("gone", force: false);
        Assert.Empty(TestImages.MountsUnder(layer));
        Assert.True(WaitFor(() => TestImages.LoopDevicesUnder(layer).Count == 0), string.Join(", ", TestImages.LoopDevicesUnder(layer)));
        Assert.False(Directory.Exists(layer));
    }

    [SkippableFact]
    public void AMountNamespaceMadeMeanwhileDoesNotKeepARemovedLayersLoopDevice()
    {
        // A container without a root but with a mount namespace copies the host's mount table, this layer's overlay
        // and loop-mounted disk among them. Deleting the layer's folders detaches those copies (the kernel lazily
        // detaches mounts in other namespaces whose mount point is deleted), so the loop device goes.
        using var h = HostWithImage(loop: true);
        h.Manager.Create(Request("a", "true", disk: 4L << 20));
        string layer = Layer(h, "a");
        int pid = h.Run("b", "sleep 30").Pid!.Value;
        Assert.Contains(layer + "/disk ", File.ReadAllText($"/proc/{pid}/mountinfo")); // the copy exists
        h.Manager.Remove("a", force: true);
        Assert.DoesNotContain(layer, File.ReadAllText($"/proc/{pid}/mountinfo"));
        Assert.True(WaitFor(() => TestImages.LoopDevicesUnder(layer).Count == 0), string.Join(", ", TestImages.LoopDevicesUnder(layer)));
        Assert.False(Directory.Exists(layer));
        Assert.Equal(ContainerState.Running, h.Manager.Get("b").State);
    }

    /// <summary>The kernel detaches an autoclear loop device right after the last unmount; give it a moment under load.</summary>
    private static bool WaitFor(Func<bool> condition)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(5))
            {
                return false;
            }
            Thread.Sleep(5);
        }
        return true;
    }

    public static IEnumerable<object?[]> BadInputs() => new[]
    {
        new object?[] { "busy", (long?)(1L << 20) - 1, null, null, "DiskLimitTooSmall", ErrorKind.InvalidArgument },
        new object?[] { "busy", (long?)(4L << 20), (long?)0, null, "InvalidInodeLimit", ErrorKind.InvalidArgument },
        new object?[] { "busy", (long?)(4L << 20), (long?)-5, null, "InvalidInodeLimit", ErrorKind.InvalidArgument },
        new object?[] { "busy", null, (long?)100, null, "InodeLimitNeedsDiskLimit", ErrorKind.InvalidArgument },
        new object?[] { "nosuch", null, null, null, "ImageNotFound", ErrorKind.ObjectNotFound },
        new object?[] { "busy", null, null, "/", "ImageWithRootPath", ErrorKind.InvalidArgument },
        new object?[] { null, (long?)(4L << 20), null, null, "DiskLimitNeedsImage", ErrorKind.InvalidArgument },
        new object?[] { "../busy", null, null, null, "InvalidImageName", ErrorKind.InvalidArgument },
        new object?[] { "busy", (long?)(1L << 20), (long?)10_000_000, null, "MkfsFailed", ErrorKind.InvalidArgument },
    };

    [SkippableTheory]
    [MemberData(nameof(BadInputs))]
    public void BadInputChangesNothing(string? image, long? disk, long? inodes, string? rootPath, string errorId, ErrorKind kind)
    {
        using var h = HostWithImage(loop: true);
        var loopsBefore = TestImages.AttachedLoopDevices();
        var e = Assert.Throws<PscException>(() => h.Manager.Create(new ContainerManager.Request
        {
            Name = "bad", FilePath = "/bin/sh", Image = image, DiskLimit = disk, InodeLimit = inodes, RootPath = rootPath,
        }));
        _out.WriteLine(e.Message);
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(kind, e.Kind);
        Assert.False(h.Manager.Depot.Exists("bad"));
        Assert.False(Directory.Exists(Layer(h, "bad")));
        Assert.Empty(TestImages.MountsUnder(h.Manager.Store.Root));
        Assert.True(WaitFor(() => TestImages.AttachedLoopDevices().IsSubsetOf(loopsBefore)));
        Assert.False(h.Manager.CGroups.Exists(h.Manager.CGroups.ProjectRoot + "/bad"));
    }

    [SkippableFact]
    public void ALayerLeftByAKilledCreationIsSwept()
    {
        using var h = HostWithImage(loop: true);
        // What a session killed after mounting leaves: a claimed layer folder with a loop-mounted disk and an
        // overlay on it, and no depot entry. (Made with the layer's own code, then its entry never written.)
        var spec = new ContainerSpec { Name = "ghost", Image = "busy", StorePath = h.Manager.Store.Root, DiskLimit = 4L << 20 };
        WritableLayer.Make(h.Manager, spec);
        string layer = Layer(h, "ghost");
        Assert.Equal(2, TestImages.MountsUnder(layer).Count);
        Assert.Single(TestImages.LoopDevicesUnder(layer));
        // Another session's creation sweeps it (the first creation per depot in a process sweeps).
        using var other = h.NewSession();
        other.Create(Request("next", "true"));
        Assert.Empty(TestImages.MountsUnder(layer));
        Assert.True(WaitFor(() => TestImages.LoopDevicesUnder(layer).Count == 0));
        Assert.False(Directory.Exists(layer));
        // And a layer of the same name as a new container does not block it either.
        WritableLayer.Make(h.Manager, spec);
        Assert.Equal("busy", h.Manager.Create(Request("ghost", "true", disk: 4L << 20)).Spec.Image);
    }

    [SkippableFact]
    public void TwoHundredCreateRemoveCyclesLeaveNothingBehind()
    {
        using var h = HostWithImage(loop: true);
        var loopsBefore = TestImages.AttachedLoopDevices();
        // This test's mounts only: tests running beside it (the network tests' namespaces) mount and unmount meanwhile.
        int Mounts() => File.ReadLines("/proc/self/mountinfo").Count(l => l.Contains(h.Manager.Store.LayersPath, StringComparison.Ordinal)
            || l.Contains(h.Manager.Depot.Root, StringComparison.Ordinal));
        int mountsBefore = Mounts();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++)
        {
            h.Manager.Create(Request("cycle", "true", disk: 2L << 20));
            File.WriteAllText(Path.Combine(Layer(h, "cycle"), "merged", "scratch"), new string('x', 10_000));
            h.Manager.Remove("cycle", force: true);
        }
        _out.WriteLine($"200 cycles: {sw.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(mountsBefore, Mounts());
        Assert.True(WaitFor(() => TestImages.AttachedLoopDevices().IsSubsetOf(loopsBefore)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(h.Manager.Store.LayersPath));
    }
}
