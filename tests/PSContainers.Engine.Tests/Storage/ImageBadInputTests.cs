using System.Formats.Tar;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Storage;

/// <summary>
/// Archives that are not one, cut short, or whose entries try to leave the root; bad names and paths. Each: the
/// right error with the value, no image, no staging folder, and nothing outside the new root touched.
/// </summary>
public sealed class ImageBadInputTests
{
    private static PscException Refused(ImageScratch s, string path, ErrorKind kind, string id, string name = "psc-h1-bad")
    {
        var e = Assert.Throws<PscException>(() => s.Store.Import(path, name));
        Assert.Equal((kind, id), (e.Kind, e.ErrorId));
        s.AssertNothingLeft();
        return e;
    }

    [SkippableFact]
    public void AFileThatIsNoArchiveIsInvalidData()
    {
        using var s = new ImageScratch();
        string path = s.PathOf("notes.tar");
        File.WriteAllText(path, string.Join('\n', Enumerable.Repeat("this is not a tar archive at all", 40)));
        var e = Refused(s, path, ErrorKind.InvalidData, "ImageArchiveInvalid");
        Assert.Contains(path, e.Message);
        File.WriteAllBytes(path, []);
        Refused(s, path, ErrorKind.InvalidData, "ImageArchiveInvalid");
        File.WriteAllBytes(path, [0x42, 0x5A, 0x68, 0x39, 1, 2, 3]); // bzip2: not one of ours
        Refused(s, path, ErrorKind.InvalidData, "ImageArchiveInvalid");
    }

    [SkippableTheory]
    [InlineData("cf")]
    [InlineData("czf")]
    [InlineData("--zstd -cf")]
    [InlineData("cJf")]
    public void ATruncatedArchiveIsInvalidData(string flags)
    {
        using var s = new ImageScratch();
        string tree = s.MakeTree();
        File.WriteAllBytes(Path.Combine(tree, "big"), Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7919 >> 3)).ToArray());
        string archive = s.PathOf("cut");
        ImageScratch.Sh($"tar -C '{tree}' {(flags.StartsWith('-') ? flags : "-" + flags)} '{archive}' . && truncate -s $(( $(stat -c %s '{archive}') / 2 )) '{archive}'");
        Refused(s, archive, ErrorKind.InvalidData, "ImageArchiveInvalid");
    }

    [SkippableFact]
    public void AnEntryWithDotDotIsRefusedByName()
    {
        using var s = new ImageScratch();
        string marker = "psc-h1-escape-" + Guid.NewGuid().ToString("N")[..8];
        string archive = s.Tar("dotdot.tar", w =>
        {
            ImageScratch.AddFile(w, "ok", "fine");
            ImageScratch.AddFile(w, $"a/../../../../../../tmp/{marker}", "escaped");
        });
        var e = Refused(s, archive, ErrorKind.InvalidData, "ImageEntryUnsafe");
        Assert.Contains($"a/../../../../../../tmp/{marker}", e.Message);
        Assert.False(File.Exists("/tmp/" + marker));
    }

    [SkippableFact]
    public void AnAbsoluteEntryIsContainedAsGnuTarDoes()
    {
        using var s = new ImageScratch();
        string marker = "psc-h1-abs-" + Guid.NewGuid().ToString("N")[..8];
        string archive = s.Tar("abs.tar", w => ImageScratch.AddFile(w, $"/tmp/{marker}", "inside"));
        var image = s.Store.Import(archive, "psc-h1-abs");
        Assert.Equal("inside", File.ReadAllText(Path.Combine(image.RootFsPath, "tmp", marker)));
        Assert.False(File.Exists("/tmp/" + marker));
    }

    [SkippableTheory]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    public void ADeviceEntryIsRefused(TarEntryType type)
    {
        using var s = new ImageScratch();
        string archive = s.Tar("dev.tar", w =>
        {
            ImageScratch.Add(w, TarEntryType.Directory, "dev/");
            w.WriteEntry(new PaxTarEntry(type, "dev/sda") { DeviceMajor = 8, DeviceMinor = 0, Mode = (UnixFileMode)0x1B6 });
        });
        var e = Refused(s, archive, ErrorKind.InvalidData, "ImageEntryUnsafe");
        Assert.Contains("dev/sda", e.Message);
    }

    [SkippableTheory]
    [InlineData("/")]
    [InlineData("../../../../..")]
    [InlineData("/tmp/..")]
    public void AnEntryThroughALinkTheArchiveMadeLandsInsideTheRoot(string linkTarget)
    {
        using var s = new ImageScratch();
        string marker = "psc-h1-through-" + Guid.NewGuid().ToString("N")[..8];
        string archive = s.Tar("link.tar", w =>
        {
            ImageScratch.Add(w, TarEntryType.Directory, "tmp/");
            ImageScratch.Add(w, TarEntryType.SymbolicLink, "a", linkTarget);
            ImageScratch.AddFile(w, $"a/tmp/{marker}", "contained");
        });
        var image = s.Store.Import(archive, "psc-h1-link");
        Assert.Equal("contained", File.ReadAllText(Path.Combine(image.RootFsPath, "tmp", marker)));
        Assert.Equal(linkTarget, new FileInfo(Path.Combine(image.RootFsPath, "a")).LinkTarget);
        Assert.False(File.Exists("/tmp/" + marker), "written on the host");
    }

    [SkippableFact]
    public void AHardLinkResolvesInsideTheRoot_NeverToAHostFile()
    {
        using var s = new ImageScratch();
        string archive = s.Tar("hard.tar", w => ImageScratch.Add(w, TarEntryType.HardLink, "passwd", "/etc/passwd"));
        var e = Refused(s, archive, ErrorKind.InvalidData, "ImageEntryUnsafe");
        Assert.Contains("'passwd'", e.Message);
        // Through a link to / made by the archive: still the root's own etc/passwd.
        archive = s.Tar("hard2.tar", w =>
        {
            ImageScratch.AddFile(w, "etc/passwd", "inside");
            ImageScratch.Add(w, TarEntryType.SymbolicLink, "up", "/");
            ImageScratch.Add(w, TarEntryType.HardLink, "copy", "up/etc/passwd");
        });
        var image = s.Store.Import(archive, "psc-h1-hard");
        Assert.Equal("inside", File.ReadAllText(Path.Combine(image.RootFsPath, "copy")));
    }

    [SkippableFact]
    public void AFileReplacingALinkDoesNotWriteThroughIt()
    {
        using var s = new ImageScratch();
        string victim = s.PathOf("victim");
        File.WriteAllText(victim, "host file");
        string archive = s.Tar("swap.tar", w =>
        {
            ImageScratch.Add(w, TarEntryType.SymbolicLink, "x", victim);
            ImageScratch.AddFile(w, "x", "archive");
        });
        var image = s.Store.Import(archive, "psc-h1-swap");
        Assert.Equal("host file", File.ReadAllText(victim));
        Assert.Equal("archive", File.ReadAllText(Path.Combine(image.RootFsPath, "x")));
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("x\0y")]
    [InlineData("-dash")]
    public void ABadNameIsInvalidArgument(string name)
    {
        using var s = new ImageScratch();
        var e = Refused(s, s.MakeTree(), ErrorKind.InvalidArgument, "ImageNameInvalid", name);
        Assert.Contains("image name", e.Message);
    }

    [SkippableFact]
    public void AMissingPathIsObjectNotFound()
    {
        using var s = new ImageScratch();
        var e = Refused(s, s.PathOf("nothing-here.tar"), ErrorKind.ObjectNotFound, "ImageSourceNotFound");
        Assert.Contains("nothing-here.tar", e.Message);
    }

    [SkippableFact]
    public void AFolderWithADeviceIsRefused()
    {
        using var s = new ImageScratch();
        string tree = s.MakeTree();
        ImageScratch.Sh($"mknod '{tree}/null' c 1 3");
        var e = Refused(s, tree, ErrorKind.InvalidData, "ImageEntryUnsafe");
        Assert.Contains("null", e.Message);
    }
}
