using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>
/// One mounted hierarchy with an open directory fd; every file access goes through openat2 beneath it,
/// so no path can leave the mount (no "..", no symlinks). Paths here are absolute hierarchy paths.
/// </summary>
public sealed class CGroupTree : IDisposable
{
    private int _fd;

    public CGroupTree(CGroupMount mount)
    {
        Mount = mount;
        _fd = Sys.OpenDirectory(mount.MountPoint);
        if (_fd < 0)
        {
            throw PscException.FromErrno("CGroupOpen", -_fd, mount.MountPoint);
        }
    }

    public CGroupMount Mount { get; }

    public bool IsV2 => Mount.IsV2;

    /// <summary>Short name for messages: "unified" or the v1 controllers ("memory", "cpu,cpuacct").</summary>
    public string Name => IsV2 ? "unified" : string.Join(',', Mount.Controllers);

    public string FullPath(string path, string? file = null)
    {
        string dir = path == "/" ? Mount.MountPoint : Mount.MountPoint.TrimEnd('/') + path;
        return file is null ? dir : dir.TrimEnd('/') + "/" + file;
    }

    private static string Rel(string path, string? file) =>
        file is null ? CGroupPath.Relative(path) : path == "/" ? file : CGroupPath.Relative(path) + "/" + file;

    public bool Exists(string path) => Sys.IsDirectoryBeneath(_fd, CGroupPath.Relative(path));

    public bool HasFile(string path, string file) => Sys.OpenBeneath(_fd, Rel(path, file), Tmds.Linux.LibC.O_PATH) is var fd && fd >= 0 && Sys.Close(fd) == 0;

    /// <summary>Reads a control file; null when it does not exist (controller absent, old kernel).</summary>
    public string? TryRead(string path, string file)
    {
        string? text = Sys.ReadAll(_fd, Rel(path, file), out int err);
        if (text is null && err is not (Errno.ENOENT or Errno.ENODEV or Errno.EOPNOTSUPP))
        {
            throw PscException.FromErrno("CGroupRead", err, FullPath(path, file));
        }
        return text?.TrimEnd('\n');
    }

    public string Read(string path, string file) =>
        TryRead(path, file) ?? throw PscException.FromErrno("CGroupRead", Errno.ENOENT, FullPath(path, file));

    /// <summary>Writes a value; returns 0 or the errno (the caller words the error).</summary>
    public int TryWrite(string path, string file, string value) => Sys.WriteAll(_fd, Rel(path, file), value);

    public void Write(string path, string file, string value)
    {
        int err = TryWrite(path, file, value);
        if (err != 0)
        {
            throw PscException.FromErrno("CGroupWrite", err, FullPath(path, file), value);
        }
    }

    /// <summary>
    /// v2: waits until cgroup.events says "populated 0" (no process left in the cgroup or below), woken by the kernel's
    /// change notice on that file rather than by polling the process list. False on timeout or without the file. A
    /// cancellable <paramref name="cancel"/> is looked at every 100 ms (OperationCanceledException).
    /// </summary>
    public bool WaitUnpopulated(string path, TimeSpan timeout, CancellationToken cancel = default)
    {
        int fd = Sys.OpenBeneath(_fd, Rel(path, "cgroup.events"), Tmds.Linux.LibC.O_RDONLY);
        if (fd < 0)
        {
            return false;
        }
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                string? text = Sys.ReadFd(fd, out _);
                if (text is null)
                {
                    return false;
                }
                if (StatFiles.KeyValues(text).GetValueOrDefault("populated", 1) == 0)
                {
                    return true;
                }
                var left = timeout - sw.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                cancel.ThrowIfCancellationRequested();
                Sys.WaitChange(fd, (int)Math.Ceiling(cancel.CanBeCanceled ? Math.Min(left.TotalMilliseconds, 100) : left.TotalMilliseconds));
            }
        }
        finally
        {
            Sys.Close(fd);
        }
    }

    public int TryMkdir(string path) => Sys.MkdirBeneath(_fd, CGroupPath.Relative(path));

    public int TryRmdir(string path) => Sys.RmdirBeneath(_fd, CGroupPath.Relative(path));

    /// <summary>Names of the child cgroups (directories) of a cgroup.</summary>
    public IReadOnlyList<string> Children(string path)
    {
        string dir = FullPath(path);
        try
        {
            // The entry type comes from getdents (d_type): no stat per entry, and a cgroup holds dozens of files.
            var names = new System.IO.Enumeration.FileSystemEnumerable<string>(dir, (ref System.IO.Enumeration.FileSystemEntry e) => e.FileName.ToString(),
                new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = true })
            {
                ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => e.IsDirectory && (e.Attributes & FileAttributes.ReparsePoint) == 0,
            }.ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>The pids in cgroup.procs (empty when the cgroup is gone).</summary>
    public IReadOnlyList<int> Procs(string path)
    {
        string? text = TryRead(path, "cgroup.procs");
        if (string.IsNullOrEmpty(text))
        {
            return Array.Empty<int>();
        }
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Sys.Close(_fd);
            _fd = -1;
        }
    }
}
