using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.Storage;

/// <summary>A store of the test's own, scratch space, and the trees and archives the image tests import.</summary>
public sealed class ImageScratch : IDisposable
{
    private readonly TempDir _store = new();
    private readonly TempDir _work = new();

    public ImageScratch()
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "needs root to keep the owners an archive names");
        Store = new ImageStore(_store.Path);
    }

    public ImageStore Store { get; }

    public string Work => _work.Path;

    public string PathOf(string name) => Path.Combine(Work, name);

    /// <summary>No image and no staging folder: what every failed import must leave.</summary>
    public void AssertNothingLeft()
    {
        Assert.Empty(Store.List());
        Assert.False(Directory.Exists(Store.ImagesPath) && Directory.EnumerateFileSystemEntries(Store.ImagesPath).Any(), "a folder was left in images/");
        Assert.False(Directory.Exists(Store.StagingPath) && Directory.EnumerateFileSystemEntries(Store.StagingPath).Any(), "a folder was left in staging/");
    }

    /// <summary>
    /// A small root: folders, files of several modes and owners (a setuid one), a symlink, a hard link, a fifo and
    /// an old folder time. Made with the shell tools, so the tests compare against what tar itself writes.
    /// </summary>
    public string MakeTree(string name = "tree")
    {
        string t = PathOf(name);
        Sh($"""
            mkdir -p '{t}/bin' '{t}/etc' '{t}/home/user' '{t}/var/empty'
            printf 'root:x:0:0:root:/root:/bin/sh\n' > '{t}/etc/passwd'
            printf 'tool' > '{t}/bin/tool'; chmod 4755 '{t}/bin/tool'
            ln '{t}/bin/tool' '{t}/bin/tool2'
            ln -s tool '{t}/bin/sh'
            ln -s / '{t}/escape'
            printf 'mine' > '{t}/home/user/notes'; chown -R 1000:1001 '{t}/home/user'; chmod 600 '{t}/home/user/notes'
            mkfifo '{t}/var/fifo'
            chmod 700 '{t}/var/empty'; touch -d '2001-02-03 04:05:06' '{t}/var/empty'
            """);
        return t;
    }

    /// <summary>Checks an imported root holds <see cref="MakeTree"/>'s tree as it was.</summary>
    public static void AssertTree(string rootfs)
    {
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\n", File.ReadAllText(Path.Combine(rootfs, "etc/passwd")));
        var tool = Stat(Path.Combine(rootfs, "bin/tool"));
        Assert.Equal(0x800 | 0x1ED, tool.Mode & 0xFFF); // 04755: the setuid bit kept
        Assert.Equal(tool.Inode, Stat(Path.Combine(rootfs, "bin/tool2")).Inode);
        Assert.Equal("tool", new FileInfo(Path.Combine(rootfs, "bin/sh")).LinkTarget);
        Assert.Equal("/", new FileInfo(Path.Combine(rootfs, "escape")).LinkTarget);
        var notes = Stat(Path.Combine(rootfs, "home/user/notes"));
        Assert.Equal((1000, 1001, 0x180), (notes.Uid, notes.Gid, notes.Mode & 0xFFF));
        Assert.Equal((1000, 1001), (Stat(Path.Combine(rootfs, "home/user")).Uid, Stat(Path.Combine(rootfs, "home/user")).Gid));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(rootfs, "var/empty")));
        Assert.Equal(new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Local).ToUniversalTime(), Directory.GetLastWriteTimeUtc(Path.Combine(rootfs, "var/empty")));
        Assert.Equal("p", Sh($"stat -c %A '{Path.Combine(rootfs, "var/fifo")}'")[..1]);
    }

    public readonly record struct FileStat(int Uid, int Gid, int Mode, ulong Inode);

    public static FileStat Stat(string path)
    {
        string[] f = Sh($"stat -c '%u %g %f %i' '{path}'").Trim().Split(' ');
        return new FileStat(int.Parse(f[0]), int.Parse(f[1]), Convert.ToInt32(f[2], 16), ulong.Parse(f[3]));
    }

    /// <summary>Runs a shell script; its stdout, or the test fails with its stderr.</summary>
    public static string Sh(string script)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-ec");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"sh failed ({p.ExitCode}): {script}\n{err.Result}");
        return output;
    }

    /// <summary>A tar written in C#: for entries tar(1) would not write (.., devices, links then paths through them).</summary>
    public string Tar(string name, Action<TarWriter> entries)
    {
        string path = PathOf(name);
        using (var f = File.Create(path))
        using (var w = new TarWriter(f, TarEntryFormat.Pax))
        {
            entries(w);
        }
        return path;
    }

    public static void AddFile(TarWriter w, string name, string text, UnixFileMode mode = (UnixFileMode)0x1A4)
    {
        var e = new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = mode, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
        w.WriteEntry(e);
    }

    public static void Add(TarWriter w, TarEntryType type, string name, string? link = null)
    {
        var e = new PaxTarEntry(type, name) { Mode = (UnixFileMode)0x1ED };
        if (link is not null)
        {
            e.LinkName = link;
        }
        w.WriteEntry(e);
    }

    public void Dispose()
    {
        Sh($"rm -rf '{_store.Path}' '{_work.Path}'");
    }
}

/// <summary>An OCI image layout made by the test: blobs by sha256, a manifest, an index (nested, two platforms).</summary>
public static class OciBuilder
{
    public static string Arch => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";

    private static string Blob(string layout, byte[] data)
    {
        string hex = Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();
        Directory.CreateDirectory(Path.Combine(layout, "blobs", "sha256"));
        File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", hex), data);
        return "sha256:" + hex;
    }

    private static byte[] LayerTar(Action<TarWriter> entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            entries(w);
        }
        return ms.ToArray();
    }

    private static object Descriptor(string mediaType, string digest, long size, object? platform = null) =>
        platform is null ? new { mediaType, digest, size } : new { mediaType, digest, size, platform };

    /// <summary>
    /// Two layers: a gzip one (etc/a, etc/b, dir/old1, dir/old2, keep/x) and a zstd one whiting out etc/a, making dir opaque
    /// (dir/new added in the same layer stays) and adding top/new. Under a nested index, beside a manifest for
    /// another architecture.
    /// </summary>
    public static string Make(string layout)
    {
        Directory.CreateDirectory(layout);
        byte[] one = LayerTar(w =>
        {
            ImageScratch.Add(w, TarEntryType.Directory, "etc/");
            ImageScratch.AddFile(w, "etc/a", "a");
            ImageScratch.AddFile(w, "etc/b", "b");
            ImageScratch.Add(w, TarEntryType.Directory, "dir/");
            ImageScratch.AddFile(w, "dir/old1", "1");
            ImageScratch.Add(w, TarEntryType.Directory, "dir/sub/");
            ImageScratch.AddFile(w, "dir/sub/old2", "2");
            ImageScratch.AddFile(w, "keep/x", "x");
        });
        byte[] two = LayerTar(w =>
        {
            ImageScratch.AddFile(w, "etc/.wh.a", "");
            ImageScratch.AddFile(w, "dir/new", "new");
            ImageScratch.AddFile(w, "dir/.wh..wh..opq", "");
            ImageScratch.AddFile(w, "top/new", "top");
        });
        var gz = new MemoryStream();
        using (var g = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            g.Write(one);
        }
        var zs = new MemoryStream();
        using (var z = new ZstdSharp.CompressionStream(zs, leaveOpen: true))
        {
            z.Write(two);
        }
        string l1 = Blob(layout, gz.ToArray()), l2 = Blob(layout, zs.ToArray());
        string config = Blob(layout, JsonSerializer.SerializeToUtf8Bytes(new { architecture = Arch, os = "linux", rootfs = new { type = "layers", diff_ids = Array.Empty<string>() } }));
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = Descriptor("application/vnd.oci.image.config.v1+json", config, 10),
            layers = new[]
            {
                Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l1, gz.Length),
                Descriptor("application/vnd.oci.image.layer.v1.tar+zstd", l2, zs.Length),
            },
        });
        string m = Blob(layout, manifest);
        // A manifest for another machine, whose layer must never be applied (it is missing).
        byte[] other = JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, layers = new[] { Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + new string('0', 64), 1) } });
        string o = Blob(layout, other);
        byte[] nested = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = new[]
            {
                Descriptor("application/vnd.oci.image.manifest.v1+json", o, other.Length, new { os = "linux", architecture = Arch == "amd64" ? "s390x" : "amd64" }),
                Descriptor("application/vnd.oci.image.manifest.v1+json", m, manifest.Length, new { os = "linux", architecture = Arch }),
            },
        });
        string n = Blob(layout, nested);
        File.WriteAllText(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllBytes(Path.Combine(layout, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = new[] { Descriptor("application/vnd.oci.image.index.v1+json", n, nested.Length) },
        }));
        return layout;
    }

    public static void AssertImage(string rootfs)
    {
        Assert.False(File.Exists(Path.Combine(rootfs, "etc/a")), "etc/a was whited out");
        Assert.False(File.Exists(Path.Combine(rootfs, "etc/.wh.a")), "whiteouts are not files of the image");
        Assert.Equal("b", File.ReadAllText(Path.Combine(rootfs, "etc/b")));
        Assert.Equal(["new"], Directory.EnumerateFileSystemEntries(Path.Combine(rootfs, "dir")).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.Equal("new", File.ReadAllText(Path.Combine(rootfs, "dir/new")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(rootfs, "keep/x")));
        Assert.Equal("top", File.ReadAllText(Path.Combine(rootfs, "top/new")));
    }
}
