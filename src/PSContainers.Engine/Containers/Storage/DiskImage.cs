using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// A disk limit without quotas (Garden's shed did the same): a sparse file of exactly the limit's size in the layer's
/// folder (disk.img), an ext4 filesystem on it, a loop device that detaches itself when unmounted, mounted at
/// disk/. The writable layer's upper and work folders live inside, so the container can never write more than the
/// file holds: past it, writes fail with ENOSPC inside and nothing else is touched. The host loses at most the
/// limit's bytes of store space (the file grows only as blocks are written). ext4's own metadata (inode tables,
/// bitmaps) takes a few percent of the file, so a little less than the limit is free for files.
/// </summary>
internal static class DiskImage
{
    public const long MinimumBytes = 1024 * 1024;

    /// <summary>
    /// Inodes the empty layer's filesystem uses itself: 11 reserved by ext4, upper, work and work/work, and the mount
    /// points psc-init needs (<see cref="RootMountPoints"/>: at most five folders and three files), plus room.
    /// </summary>
    private const long OwnInodes = 24;

    public const string ImageFile = "disk.img", MountFolder = "disk", BaselineFile = "baseline";

    /// <summary>
    /// mkfs options chosen for a fast create (measured in docs/performance.md): no journal (a container's scratch
    /// layer does not outlive a host crash usefully), no reserved blocks, no resize inode (never resized), inode
    /// tables left uninitialized (mounted with noinit_itable, so no kernel thread zeroes them later and the file stays
    /// sparse), no discard pass over the file. 4 KiB blocks and 256-byte inodes whatever the size (mke2fs would pick
    /// 1 KiB blocks below 512 MiB).
    /// </summary>
    private static readonly string[] MkfsOptions =
    {
        "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-m", "0",
        "-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard",
    };

    /// <summary>Makes disk.img, its filesystem and mounts it at disk/; returns the mount point. Undone by the layer's removal.</summary>
    public static string Make(string layerDir, long bytes, long? inodes)
    {
        string image = Path.Combine(layerDir, ImageFile);
        using (var f = new FileStream(image, FileMode.CreateNew, FileAccess.Write))
        {
            f.SetLength(bytes); // sparse: no block is written
        }
        var args = new List<string>(MkfsOptions);
        if (inodes is long n)
        {
            // The filesystem's own inodes come on top (the 11 reserved ones, lost+found among them, the layer's
            // upper, work and work/work, and the mount points), so the container gets at least what it asked for.
            args.Add("-N");
            args.Add((n + OwnInodes).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        args.Add(image);
        RunMkfs(args, bytes, inodes);
        string mountPoint = Path.Combine(layerDir, MountFolder);
        Directory.CreateDirectory(mountPoint);
        using (var loop = LoopDevice.Attach(image))
        {
            int err = MountCalls.Mount(loop.Path, mountPoint, "ext4", 0, "noinit_itable");
            if (err != 0)
            {
                throw PscException.FromErrno("Mount", err, mountPoint, loop.Path);
            }
        } // the mount holds the device now; unmounting it detaches the device (autoclear)
        return mountPoint;
    }

    /// <summary>Records what the empty layer uses, so its usage reads as 0.</summary>
    public static void WriteBaseline(string layerDir)
    {
        var u = StatMount(layerDir);
        File.WriteAllText(Path.Combine(layerDir, BaselineFile), $"{u.UsedBytes} {u.UsedFiles}\n");
    }

    /// <summary>Bytes and inodes the container wrote, and the filesystem's real limits (what is free for the container at create).</summary>
    public static LayerUsage Usage(string layerDir, long? diskLimit)
    {
        var u = StatMount(layerDir);
        string[] baseline = File.ReadAllText(Path.Combine(layerDir, BaselineFile)).Split(' ', StringSplitOptions.TrimEntries);
        long baseBytes = long.Parse(baseline[0], System.Globalization.CultureInfo.InvariantCulture);
        long baseFiles = long.Parse(baseline[1], System.Globalization.CultureInfo.InvariantCulture);
        return new LayerUsage(Math.Max(0, u.UsedBytes - baseBytes), Math.Max(0, u.UsedFiles - baseFiles), diskLimit, u.Files - baseFiles);
    }

    private static MountCalls.FsUsage StatMount(string layerDir)
    {
        string mountPoint = Path.Combine(layerDir, MountFolder);
        int err = MountCalls.StatFs(mountPoint, out var u);
        if (err != 0)
        {
            throw PscException.FromErrno("StatFs", err, mountPoint);
        }
        return u;
    }

    private static void RunMkfs(List<string> args, long bytes, long? inodes)
    {
        string mkfs = new[] { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4" }.FirstOrDefault(File.Exists)
            ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(d => Path.Combine(d, "mkfs.ext4")).FirstOrDefault(File.Exists)
            ?? throw new PscException("MkfsNotFound", ErrorKind.ObjectNotFound, "A disk limit needs mkfs.ext4 (the e2fsprogs package), which was not found.", "mkfs.ext4");
        var psi = new ProcessStartInfo(mkfs) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new PscException("MkfsFailed", ErrorKind.NotSpecified, $"Could not start {mkfs}.", mkfs);
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        stdout.Wait();
        if (p.ExitCode != 0)
        {
            string text = (err + stdout.Result).Trim();
            throw new PscException("MkfsFailed", ErrorKind.InvalidArgument,
                $"mkfs.ext4 could not make a filesystem of {bytes} bytes{(inodes is null ? "" : $" with {inodes} inodes")}: {text}", inodes ?? bytes);
        }
    }
}
