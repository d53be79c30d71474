using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>What a container's writable layer holds (Garden's DiskStat), and its limits; null where unknown.</summary>
public sealed record LayerUsage(long? Bytes, long? Inodes, long? DiskLimit, long? InodeLimit);

/// <summary>
/// A container's copy-on-write root (grootfs and podman's overlay driver do the same): an overlay of the image's
/// rootfs (read-only, shared by every container of the image) and a writable layer of the container's own, in the
/// store's layers/&lt;name&gt;/:
/// <code>
/// depot        the depot that owns the layer (a store may serve several depots; a sweep touches only its own)
/// upper, work  overlay's upper and work folders (inside disk/ with a disk limit)
/// merged       the root the container sees, mounted on the host from create until remove
/// upper-baseline  without a disk limit: what the upper folder held at create (the mount points), not counted
/// disk.img, disk, baseline   with a disk limit: see <see cref="DiskImage"/>
/// </code>
/// Made under the depot's lock, before the depot entry is committed; undone by <see cref="Remove"/> at any point of a
/// failed create, and by <see cref="Sweep"/> when a killed session left a layer whose container is not in the depot.
/// </summary>
internal static class WritableLayer
{
    /// <summary>upper-baseline: what the empty upper folder held (the mount points), so its usage reads as 0.</summary>
    public const string OwnerFile = "depot", MergedFolder = "merged", UpperBaselineFile = "upper-baseline";

    /// <summary>The image's rootfs when the request names an image (checked: name, limits, no -RootPath), else null. Makes nothing.</summary>
    public static ContainerImage? Check(ContainerManager.Request r, ImageStore store)
    {
        if (r.DiskLimit is long bytes && bytes < DiskImage.MinimumBytes)
        {
            throw PscException.Invalid("DiskLimitTooSmall", $"-DiskLimit {bytes} is below the minimum of {DiskImage.MinimumBytes} bytes (1 MiB).", bytes);
        }
        if (r.InodeLimit is long inodes && inodes <= 0)
        {
            throw PscException.Invalid("InvalidInodeLimit", $"-InodeLimit {inodes} must be at least 1.", inodes);
        }
        if (r.Image is null)
        {
            if (r.DiskLimit is not null || r.InodeLimit is not null)
            {
                object value = (object?)r.DiskLimit ?? r.InodeLimit!;
                throw PscException.Invalid("DiskLimitNeedsImage",
                    $"A disk limit ({value}) limits a writable layer, which only a container made with -Image has.", value);
            }
            return null;
        }
        if (r.InodeLimit is not null && r.DiskLimit is null)
        {
            throw PscException.Invalid("InodeLimitNeedsDiskLimit",
                $"-InodeLimit {r.InodeLimit} needs -DiskLimit too: the inodes are those of the layer's own filesystem, whose size -DiskLimit gives.", r.InodeLimit);
        }
        if (r.RootPath is not null)
        {
            throw PscException.Invalid("ImageWithRootPath", $"-Image '{r.Image}' and -RootPath '{r.RootPath}' both name a root; give one.", r.Image);
        }
        if (r.Image.Length == 0 || r.Image is "." or ".." || r.Image.IndexOfAny(new[] { '/', '\0' }) >= 0)
        {
            throw PscException.Invalid("InvalidImageName", $"The image name '{r.Image}' is not valid: it may not be empty, '.', '..', or contain '/' or NUL.", r.Image);
        }
        if (!r.Isolation.HasFlag(ContainerIsolation.Mount))
        {
            throw PscException.Invalid("ImageNeedsMount", $"-Image '{r.Image}' needs the Mount isolation (the container pivots into its overlay root).", r.Image);
        }
        return store.Find(r.Image)
            ?? throw new PscException("ImageNotFound", ErrorKind.ObjectNotFound, $"No image named '{r.Image}' in the store {store.Root}.", r.Image);
    }

    /// <summary>
    /// Makes the layer and mounts the overlay; returns the real inode limit with a disk image (ext4 rounds -N up to
    /// whole inode-table blocks per group), else null. All or nothing: a failure removes what was made.
    /// </summary>
    public static long? Make(ContainerManager m, ContainerSpec spec)
    {
        ContainerImage image = m.Store.Find(spec.Image!)
            ?? throw new PscException("ImageNotFound", ErrorKind.ObjectNotFound, $"No image named '{spec.Image}' in the store {m.Store.Root}.", spec.Image);
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(m.Store.LayersPath);
        string dir = m.Store.LayerPath(spec.Name);
        if (!TryMakeFolder(dir))
        {
            Sweep(m); // maybe left by a creation cut short: sweep, then try once more
            if (!TryMakeFolder(dir))
            {
                throw new PscException("LayerExists", ErrorKind.ResourceExists,
                    $"The store {m.Store.Root} already has a writable layer named '{spec.Name}' (a container of another depot using this store?).", dir);
            }
        }
        try
        {
            File.WriteAllText(Path.Combine(dir, OwnerFile), m.Depot.Root);
            string writable = dir;
            if (spec.DiskLimit is long bytes)
            {
                writable = DiskImage.Make(dir, bytes, spec.InodeLimit);
            }
            string upper = Path.Combine(writable, "upper"), work = Path.Combine(writable, "work"), merged = Path.Combine(dir, MergedFolder);
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            Directory.CreateDirectory(merged);
            // The root folder's own mode comes from upper (the top layer): give it the image's.
            File.SetUnixFileMode(upper, File.GetUnixFileMode(image.RootFsPath));
            MountOverlay(image.RootFsPath, upper, work, merged);
            RootMountPoints.Ensure(merged); // part of the empty layer: before the baselines
            long? inodeLimit = null;
            if (spec.DiskLimit is null)
            {
                var (bytes0, inodes0) = UpperWalk.Measure(upper);
                File.WriteAllText(Path.Combine(dir, UpperBaselineFile), FormattableString.Invariant($"{bytes0 ?? 0} {inodes0 ?? 0}\n"));
            }
            else
            {
                DiskImage.WriteBaseline(dir);
                if (spec.InodeLimit is not null)
                {
                    inodeLimit = DiskImage.Usage(dir, spec.DiskLimit).InodeLimit;
                }
            }
            m.Log?.Invoke($"made the writable layer of '{spec.Name}' over image '{image.Name}'{(spec.DiskLimit is null ? "" : $" with a disk limit of {spec.DiskLimit} bytes")} in {sw.Elapsed.TotalMilliseconds:F1} ms");
            return inodeLimit;
        }
        catch
        {
            ContainerManager.TryQuietly(() => Remove(dir));
            throw;
        }
    }

    private static bool TryMakeFolder(string dir)
    {
        if (Directory.Exists(dir) || File.Exists(dir))
        {
            return false;
        }
        Directory.CreateDirectory(dir);
        return true;
    }

    /// <summary>
    /// Overlay options are split at ',' and ':' (and '\' escapes): folders whose paths hold one are passed as
    /// /proc/self/fd/N of an O_PATH descriptor, which the kernel resolves at mount time.
    /// </summary>
    private static void MountOverlay(string lower, string upper, string work, string merged)
    {
        var fds = new List<int>();
        try
        {
            string Option(string path)
            {
                if (path.IndexOfAny(new[] { ',', ':', '\\', '\n' }) < 0)
                {
                    return path;
                }
                int fd = MountCalls.Open(path, MountCalls.O_PATH | MountCalls.O_DIRECTORY);
                if (fd < 0)
                {
                    throw PscException.FromErrno("Open", -fd, path);
                }
                fds.Add(fd);
                return "/proc/self/fd/" + fd;
            }
            string data = $"lowerdir={Option(lower)},upperdir={Option(upper)},workdir={Option(work)}";
            int err = MountCalls.Mount("overlay", merged, "overlay", 0, data);
            if (err != 0)
            {
                throw PscException.FromErrno("Mount", err, merged, data, "The copy-on-write root needs overlayfs.");
            }
        }
        finally
        {
            fds.ForEach(MountCalls.Close);
        }
    }

    /// <summary>Removes a container's layer when it has one (the spec names the store), or the layer this depot owns by that name.</summary>
    public static void RemoveFor(ContainerManager m, string name, ContainerSpec? spec)
    {
        if (spec is not null && spec.Image is null)
        {
            return;
        }
        var store = spec?.StorePath is { Length: > 0 } s ? new ImageStore(s) : m.Store;
        string dir = store.LayerPath(name);
        if (Directory.Exists(dir) && (spec is not null || Owner(dir) is null || Owner(dir) == m.Depot.Root))
        {
            Remove(dir);
            m.Log?.Invoke($"removed the writable layer of '{name}'");
        }
    }

    /// <summary>
    /// Unmounts everything mounted under the layer's folder, newest first (the overlay, then the disk, whose loop
    /// device then detaches itself), then deletes the folder. A busy mount is retried briefly, then detached lazily;
    /// nothing is deleted while anything is still mounted beneath.
    /// </summary>
    public static void Remove(string dir)
    {
        for (int pass = 0; pass < 4; pass++)
        {
            var mounts = MountTable.Under(dir);
            if (mounts.Count == 0)
            {
                break;
            }
            foreach (string target in mounts)
            {
                Unmount(target);
            }
        }
        var left = MountTable.Under(dir);
        if (left.Count > 0)
        {
            throw new PscException("LayerBusy", ErrorKind.ResourceBusy, $"Could not unmount {string.Join(", ", left)}; the layer {dir} was kept.", dir);
        }
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Unmount(string target)
    {
        for (int attempt = 0; attempt < 25; attempt++)
        {
            int err = MountCalls.Umount(target, 0);
            if (err == 0 || err == Errno.EINVAL || err == Errno.ENOENT)
            {
                return;
            }
            if (err != Errno.EBUSY)
            {
                throw PscException.FromErrno("Unmount", err, target);
            }
            Thread.Sleep(Math.Min(2 << attempt, 20)); // ~0.4 s in all: a process leaving the root lets go soon
        }
        int detach = MountCalls.Umount(target, MountCalls.MNT_DETACH);
        if (detach != 0 && detach != Errno.EINVAL && detach != Errno.ENOENT)
        {
            throw PscException.FromErrno("Unmount", detach, target);
        }
    }

    /// <summary>The depot a layer was made for, or null when its folder was made but not yet claimed.</summary>
    private static string? Owner(string dir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(dir, OwnerFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Layers of this depot whose container is not in it: a session killed during a create (the entry was never
    /// committed) or during a remove (the entry went first). Runs under the depot's lock: no create is in progress.
    /// </summary>
    public static void Sweep(ContainerManager m)
    {
        if (!Directory.Exists(m.Store.LayersPath))
        {
            return;
        }
        foreach (string dir in Directory.EnumerateDirectories(m.Store.LayersPath))
        {
            string name = Path.GetFileName(dir);
            string? owner = Owner(dir);
            if ((owner is null || owner == m.Depot.Root) && !m.Depot.Exists(name))
            {
                m.Log?.Invoke($"removing the writable layer {dir}, left by a session that was cut short");
                ContainerManager.TryQuietly(() => Remove(dir));
            }
        }
    }

    /// <summary>Usage of a container's layer, or null for a container without an image (or whose layer is gone).</summary>
    public static LayerUsage? Usage(ContainerSpec spec)
    {
        if (spec.Image is null || spec.StorePath is null)
        {
            return null;
        }
        string dir = new ImageStore(spec.StorePath).LayerPath(spec.Name);
        if (File.Exists(Path.Combine(dir, DiskImage.BaselineFile)))
        {
            return DiskImage.Usage(dir, spec.DiskLimit);
        }
        var (bytes, inodes) = UpperWalk.Measure(Path.Combine(dir, "upper"));
        if (!Directory.Exists(dir))
        {
            return null;
        }
        long baseBytes = 0, baseInodes = 0;
        try
        {
            string[] b = File.ReadAllText(Path.Combine(dir, UpperBaselineFile)).Split(' ', StringSplitOptions.TrimEntries);
            baseBytes = long.Parse(b[0], System.Globalization.CultureInfo.InvariantCulture);
            baseInodes = long.Parse(b[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
        }
        return new LayerUsage(bytes is long by ? Math.Max(0, by - baseBytes) : null, inodes is long n ? Math.Max(0, n - baseInodes) : null, null, null);
    }
}
