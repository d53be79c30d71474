using System.Formats.Tar;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Storage;

/// <summary>Import-ContainerImage's engine: folders, tar archives of every compression, OCI layouts and archives, the store's atomicity.</summary>
[Trait("Layout", "storage")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels (overlay, loop, ext4 there too)
public sealed class ImageImportTests
{
    [SkippableFact]
    public void AFolderIsCopiedWithModesOwnersTimesLinksAndHardLinks()
    {
        using var s = new ImageScratch();
        var image = s.Store.Import(s.MakeTree(), "psc-h1-folder");
        Assert.Equal(1, image.Layers);
        Assert.Equal(s.PathOf("tree"), image.Source);
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\n".Length + 4 + 4, image.Size); // passwd, tool once (hard link), notes
        ImageScratch.AssertTree(image.RootFsPath);
        var found = Assert.Single(s.Store.List());
        Assert.Equal(("psc-h1-folder", image.Size, 1), (found.Name, found.Size, found.Layers));
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Store.StagingPath));
    }

    [SkippableTheory]
    [InlineData("cf", "plain")]
    [InlineData("czf", "gzip")]
    [InlineData("--zstd -cf", "zstd")]
    [InlineData("cJf", "xz")]
    public void ATarArchiveOfEachCompressionIsTellnByItsBytesNotItsName(string flags, string kind)
    {
        using var s = new ImageScratch();
        string tree = s.MakeTree();
        string archive = s.PathOf("rootfs.bin"); // no extension to go by
        ImageScratch.Sh($"tar -C '{tree}' --numeric-owner {(flags.StartsWith('-') ? flags : "-" + flags)} '{archive}' .");
        var image = s.Store.Import(archive, "psc-h1-" + kind);
        ImageScratch.AssertTree(image.RootFsPath);
        Assert.Equal(1, image.Layers);
    }

    [SkippableFact]
    public void AnOciLayoutFolderAppliesItsLayersInOrderWithWhiteoutsAndOpaqueFolders()
    {
        using var s = new ImageScratch();
        string layout = OciBuilder.Make(s.PathOf("layout"));
        var image = s.Store.Import(layout, "psc-h1-oci");
        Assert.Equal(2, image.Layers);
        OciBuilder.AssertImage(image.RootFsPath);
    }

    [SkippableTheory]
    [InlineData("cf")]
    [InlineData("czf")]
    public void AnOciArchiveIsReadAsALayout_PlainInPlace_CompressedThroughStaging(string flags)
    {
        using var s = new ImageScratch();
        string layout = OciBuilder.Make(s.PathOf("layout"));
        string archive = s.PathOf("image.oci");
        ImageScratch.Sh($"tar -C '{layout}' -{flags} '{archive}' .");
        var image = s.Store.Import(archive, "psc-h1-ociarchive");
        Assert.Equal(2, image.Layers);
        OciBuilder.AssertImage(image.RootFsPath);
        Assert.Equal(["image.json", "rootfs"], Directory.EnumerateFileSystemEntries(s.Store.ImagePath("psc-h1-ociarchive")).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Store.StagingPath));
    }

    [SkippableFact]
    public void ALayerThatDoesNotMatchItsDigestIsRefused()
    {
        using var s = new ImageScratch();
        string layout = OciBuilder.Make(s.PathOf("layout"));
        // Damage the biggest blob (a layer) by one byte at its end.
        string blob = Directory.GetFiles(Path.Combine(layout, "blobs/sha256")).OrderByDescending(f => new FileInfo(f).Length).First();
        byte[] data = File.ReadAllBytes(blob);
        data[^1] ^= 1;
        File.WriteAllBytes(blob, data);
        var e = Assert.Throws<PscException>(() => s.Store.Import(layout, "psc-h1-bad"));
        Assert.Equal((ErrorKind.InvalidData, "ImageArchiveInvalid"), (e.Kind, e.ErrorId));
        s.AssertNothingLeft();
    }

    [SkippableFact]
    public void ANameInUseIsRefusedAndTheFirstImageStays()
    {
        using var s = new ImageScratch();
        string tree = s.MakeTree();
        s.Store.Import(tree, "psc-h1-twice");
        var e = Assert.Throws<PscException>(() => s.Store.Import(tree, "psc-h1-twice"));
        Assert.Equal((ErrorKind.ResourceExists, "ImageExists"), (e.Kind, e.ErrorId));
        Assert.Single(s.Store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Store.StagingPath));
    }

    [SkippableFact]
    public void AKilledImportsStagingFolderIsSweptButALiveOneIsKept()
    {
        using var s = new ImageScratch();
        string dead = Path.Combine(s.Store.StagingPath, "import-deadbeef0001");
        string live = Path.Combine(s.Store.StagingPath, "import-alive0000001");
        string other = Path.Combine(s.Store.StagingPath, "layer-someone-elses");
        foreach (string d in new[] { dead, live, other })
        {
            Directory.CreateDirectory(Path.Combine(d, "rootfs/bin"));
            File.WriteAllText(Path.Combine(d, "rootfs/bin/half"), "half");
        }
        int fd = Sys.LockDirectory(live); // a session still importing
        try
        {
            using var manager = new ContainerManager(new Depot(s.PathOf("depot")), PSContainers.CGroups.CGroupManager.OpenHost(), s.Store);
            Assert.Empty(manager.GetImages());
            Assert.False(Directory.Exists(dead), "the killed import's folder was swept");
            Assert.True(Directory.Exists(live), "a live import's folder is kept");
            Assert.True(Directory.Exists(other), "folders of other kinds are not the sweep's");
        }
        finally
        {
            Sys.Close(fd);
        }
        // The next import sweeps it once its lock is free.
        s.Store.Import(s.MakeTree(), "psc-h1-after");
        Assert.False(Directory.Exists(live));
    }

    [SkippableFact]
    public void CancellingMidwayLeavesNothing()
    {
        using var s = new ImageScratch();
        string archive = s.Tar("big.tar", w =>
        {
            for (int i = 0; i < 40; i++)
            {
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"data/f{i}") { DataStream = new MemoryStream(new byte[1 << 20]) });
            }
        });
        using var cancel = new CancellationTokenSource();
        var reports = new List<ImageImportProgress>();
        var progress = new Inline(p =>
        {
            reports.Add(p);
            if (p.Files >= 3)
            {
                cancel.Cancel();
            }
        });
        // The meter reports at most every 100 ms: cancel at the first report instead if it comes late.
        Assert.ThrowsAny<OperationCanceledException>(() => s.Store.Import(archive, "psc-h1-cancel", new Inline(p => cancel.Cancel()), cancel.Token));
        s.AssertNothingLeft();
        var image = s.Store.Import(archive, "psc-h1-whole", progress);
        Assert.Equal(40L << 20, image.Size);
        Assert.NotEmpty(reports);
        Assert.Equal(new FileInfo(archive).Length, reports[^1].BytesTotal);
        Assert.Equal(reports[^1].BytesTotal, reports[^1].BytesDone);
    }

    [SkippableFact]
    public void RemoveDeletesTheImage_AndIsRefusedWhileAContainerUsesIt()
    {
        using var s = new ImageScratch();
        s.Store.Import(s.MakeTree(), "psc-h1-rm");
        var depot = new Depot(s.PathOf("depot"));
        using var manager = new ContainerManager(depot, PSContainers.CGroups.CGroupManager.OpenHost(), s.Store);
        // A depot entry whose spec names the image, as New-Container -Image writes it.
        Directory.CreateDirectory(depot.PathOf("psc-h1-user"));
        depot.WriteJson("psc-h1-user", "spec.json", new ContainerSpec { Name = "psc-h1-user", Image = "psc-h1-rm", FilePath = "/bin/true" });
        var e = Assert.Throws<PscException>(() => manager.RemoveImage("psc-h1-rm"));
        Assert.Equal((ErrorKind.ResourceBusy, "ImageInUse"), (e.Kind, e.ErrorId));
        Assert.Contains("'psc-h1-user'", e.Message);
        Assert.NotNull(s.Store.Find("psc-h1-rm"));
        Directory.Delete(depot.PathOf("psc-h1-user"), recursive: true);
        manager.RemoveImage("psc-h1-rm");
        s.AssertNothingLeft();
        var missing = Assert.Throws<PscException>(() => manager.RemoveImage("psc-h1-rm"));
        Assert.Equal((ErrorKind.ObjectNotFound, "ImageNotFound"), (missing.Kind, missing.ErrorId));
    }

    private sealed class Inline(Action<ImageImportProgress> report) : IProgress<ImageImportProgress>
    {
        public void Report(ImageImportProgress value) => report(value);
    }
}
