using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>The depot's locks: one for the whole depot (creations and removals), one per entry (start, remove, property changes, OOM records).</summary>
public sealed partial class Depot
{
    /// <summary>Holds the depot's lock (flock on .lock) until disposed; waits up to <paramref name="timeout"/>.</summary>
    public IDisposable Lock(TimeSpan? timeout = null)
    {
        EnsureRoot();
        return Hold(Path.Combine(Root, ".lock"), null, timeout);
    }

    /// <summary>
    /// Holds one container's lock until disposed: start, remove and property changes of one container exclude each
    /// other while different containers go on in parallel. Order: the depot's lock first, then this. The lock is a
    /// flock on the container's directory itself, not on a file in it: no file is created for it (on a disk-backed
    /// /run every new inode costs 0.1-0.7 ms, see docs/performance.md), and it ends with the directory.
    /// </summary>
    public IDisposable LockContainer(string name, TimeSpan? timeout = null)
    {
        string dir = PathOf(name);
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        int delay = 1;
        while (true)
        {
            int fd = Sys.LockDirectory(dir);
            if (fd >= 0)
            {
                return new DirectoryLock(fd);
            }
            int err = -fd;
            if (err is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP)
            {
                throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {Root}).", name);
            }
            // Only a lock held by someone else is worth waiting for; any other errno (EACCES, EMFILE) is final.
            if (err != Errno.EAGAIN || sw.Elapsed >= limit)
            {
                string id = "DepotLock," + Errno.Name(err);
                throw new PscException(id, Errno.Kind(err), $"DepotLock {dir} failed: {Errno.Describe(err)}", dir, err);
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
    }

    /// <summary>A flock held through an open directory; closing the descriptor releases it.</summary>
    private sealed class DirectoryLock : IDisposable
    {
        private int _fd;

        public DirectoryLock(int fd) => _fd = fd;

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                Sys.Close(fd);
            }
        }
    }

    private static FileStream Hold(string path, string? container, TimeSpan? timeout)
    {
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        int delay = 1;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (DirectoryNotFoundException) when (container is not null)
            {
                throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{container}' (depot {Path.GetDirectoryName(Path.GetDirectoryName(path))}).", container);
            }
            // Only a lock held by someone else is worth waiting for; an errno (EROFS, ENOSPC, EACCES) is final.
            catch (IOException e) when (sw.Elapsed < limit && e is not DirectoryNotFoundException && (e.HResult == Errno.EAGAIN || e.HResult is not (> 0 and < 4096)))
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 20);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure("DepotLock", path, e);
            }
        }
    }
}
