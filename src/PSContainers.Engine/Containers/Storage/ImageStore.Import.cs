using System.Text.Json;
using PSContainers.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// Importing an image, all or nothing: it is built in <c>staging/import-&lt;random&gt;/</c>, a folder flock()ed by the
/// importing process for as long as it works there, its image.json written last, and then renamed into
/// <c>images/&lt;name&gt;/</c>. A failure, a damaged archive or a cancellation removes the staging folder; a staging
/// folder whose lock nobody holds (its session was killed) is removed by the next import or listing (<see cref="Sweep"/>).
/// </summary>
public sealed partial class ImageStore
{
    private const string ImportPrefix = "import-", RemovePrefix = "remove-";

    /// <summary>Image names: as container names (1 to 63 of letters, digits, '_', '.', '-', starting with a letter or digit).</summary>
    public static void CheckName(string? name) => ContainerName.Check(name, "image name", "ImageNameInvalid");

    /// <summary>
    /// Imports a root filesystem as image <paramref name="name"/> from a folder, a tar archive (plain, gzip, zstd or
    /// xz), an OCI image layout folder or an OCI archive. Returns the image. Cancellation leaves nothing behind.
    /// </summary>
    public ContainerImage Import(string path, string name, IProgress<ImageImportProgress>? progress = null, CancellationToken cancel = default)
    {
        CheckName(name);
        string source = Path.GetFullPath(path);
        bool isDir = Directory.Exists(source);
        if (!isDir && !File.Exists(source))
        {
            throw new PscException("ImageSourceNotFound", ErrorKind.ObjectNotFound, $"Cannot import '{path}': no file or folder is there.", path);
        }
        ThrowIfExists(name);
        Sweep();
        var (dir, lockFd) = NewStaging(ImportPrefix);
        try
        {
            string rootfs = Path.Combine(dir, "rootfs");
            Directory.CreateDirectory(rootfs);
            int layers = 1;
            using (var writer = new RootFsWriter(rootfs, source))
            {
                if (isDir && OciLayout.IsLayout(source))
                {
                    layers = OciLayout.Apply(new OciLayout.FolderSource(source), writer, source, progress, cancel);
                }
                else if (isDir)
                {
                    FolderImport.Copy(source, writer, progress, cancel);
                }
                else if (OciLayout.TarSource.TryOpen(source) is { } inPlace)
                {
                    layers = OciLayout.Apply(inPlace, writer, source, progress, cancel);
                }
                else
                {
                    ImportArchive(source, writer, progress, cancel);
                }
            }
            // A compressed OCI archive arrives as a layout unpacked in rootfs: its image is made from it.
            if (!isDir && OciLayout.IsLayout(rootfs) && LooksLikeLayoutOnly(rootfs))
            {
                string layout = Path.Combine(dir, "layout");
                Directory.Move(rootfs, layout);
                Directory.CreateDirectory(rootfs);
                using (var writer = new RootFsWriter(rootfs, source))
                {
                    layers = OciLayout.Apply(new OciLayout.FolderSource(layout), writer, source, progress, cancel);
                }
                Directory.Delete(layout, recursive: true);
            }
            cancel.ThrowIfCancellationRequested();
            var image = new ContainerImage
            {
                Name = name,
                Size = SizeOf(rootfs),
                Created = DateTime.UtcNow,
                Source = source,
                Layers = layers,
            };
            File.WriteAllText(Path.Combine(dir, "image.json"), JsonSerializer.Serialize(image, Depot.Json));
            using (LockStore())
            {
                ThrowIfExists(name);
                Directory.CreateDirectory(ImagesPath);
                Directory.Move(dir, ImagePath(name));
            }
            return image with { RootFsPath = Path.Combine(ImagePath(name), "rootfs") };
        }
        catch
        {
            ContainerManager.TryQuietly(() => DeleteTree(dir));
            throw;
        }
        finally
        {
            Sys.Close(lockFd);
        }
    }

    private static bool LooksLikeLayoutOnly(string rootfs) =>
        Directory.EnumerateFileSystemEntries(rootfs).Select(Path.GetFileName)
            .All(n => n is "oci-layout" or "index.json" or "blobs" or "manifest.json" or "repositories");

    private static void ImportArchive(string source, RootFsWriter writer, IProgress<ImageImportProgress>? progress, CancellationToken cancel)
    {
        using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var meter = new ImportMeter(progress, file.Length) { BytesFrom = () => file.Position };
        Stream tar;
        try
        {
            tar = ImageArchive.Decompress(file, leaveOpen: true);
        }
        catch (Exception e) when (ImageArchive.IsDamage(e))
        {
            throw ImageArchive.Damaged(source, e.Message, e);
        }
        using (tar)
        {
            ImageArchive.Apply(tar, writer, source, layer: false, meter, cancel);
            meter.Complete();
        }
    }

    private void ThrowIfExists(string name)
    {
        if (Directory.Exists(ImagePath(name)))
        {
            throw new PscException("ImageExists", ErrorKind.ResourceExists, $"An image named '{name}' exists already (store {Root}).", name);
        }
    }

    /// <summary>Bytes of the tree's regular files, each hard-linked file once.</summary>
    internal static unsafe long SizeOf(string root)
    {
        long total = 0;
        var seen = new HashSet<ulong>();
        var folders = new Stack<string>();
        folders.Push(root);
        while (folders.Count > 0)
        {
            // Links are never followed: each entry is lstat()ed, and only real folders are entered.
            foreach (string f in Directory.EnumerateFileSystemEntries(folders.Pop()))
            {
                stat st;
                fixed (byte* p = RootFsWriter.CString(f))
                {
                    if (lstat(p, &st) != 0)
                    {
                        continue;
                    }
                }
                uint type = (uint)st.st_mode & (uint)S_IFMT;
                if (type == (uint)S_IFDIR)
                {
                    folders.Push(f);
                }
                else if (type == (uint)S_IFREG && (st.st_nlink <= 1 || seen.Add((ulong)st.st_ino)))
                {
                    total += st.st_size;
                }
            }
        }
        return total;
    }

    /// <summary>A new staging folder, locked (flock) by this process until the returned descriptor is closed.</summary>
    private (string Dir, int LockFd) NewStaging(string prefix)
    {
        using (LockStore())
        {
            Directory.CreateDirectory(StagingPath);
            string dir = Path.Combine(StagingPath, prefix + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(dir);
            int fd = Sys.LockDirectory(dir);
            if (fd < 0)
            {
                ContainerManager.TryQuietly(() => Directory.Delete(dir));
                throw PscException.FromErrno("ImageStaging", -fd, dir);
            }
            return (dir, fd);
        }
    }

    /// <summary>
    /// Removes the staging folders of imports and removals whose process is gone (their flock is free). Folders of
    /// other kinds in staging/ are not this sweep's.
    /// </summary>
    public void Sweep()
    {
        if (!Directory.Exists(StagingPath))
        {
            return;
        }
        var stale = new List<(string, int)>();
        using (LockStore())
        {
            foreach (string dir in Directory.EnumerateDirectories(StagingPath))
            {
                string n = Path.GetFileName(dir);
                if (!n.StartsWith(ImportPrefix, StringComparison.Ordinal) && !n.StartsWith(RemovePrefix, StringComparison.Ordinal))
                {
                    continue;
                }
                int fd = Sys.LockDirectory(dir);
                if (fd >= 0)
                {
                    stale.Add((dir, fd));
                }
            }
        }
        foreach (var (dir, fd) in stale)
        {
            ContainerManager.TryQuietly(() => DeleteTree(dir));
            Sys.Close(fd);
        }
    }

    /// <summary>Removes a tree, links as links; a folder without write permission is no obstacle for root.</summary>
    internal static void DeleteTree(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The store's own lock (flock on .lock): taken briefly to make, sweep, name and rename staging folders.</summary>
    private IDisposable LockStore()
    {
        Directory.CreateDirectory(Root);
        string path = Path.Combine(Root, ".lock");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int delay = 1;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (sw.Elapsed < TimeSpan.FromSeconds(30) && e is not DirectoryNotFoundException && (e.HResult == Errno.EAGAIN || e.HResult is not (> 0 and < 4096)))
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 20);
            }
        }
    }
}
