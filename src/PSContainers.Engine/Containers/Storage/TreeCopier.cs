using PSContainers.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>How far a copy has come: bytes and files done of the totals counted before it began.</summary>
public sealed record CopyProgress(long BytesDone, long BytesTotal, long FilesDone, long FilesTotal, string Current);

/// <summary>What a copy into a container wrote: one per item named by -Path (Copy-ContainerItem -PassThru).</summary>
public sealed record ContainerItem(string Container, string Path, string ItemType, long Length, string Mode, DateTime LastWriteTime, string? Target)
{
    public override string ToString() => Path;
}

/// <summary>
/// Copies trees between two roots (<see cref="RootedPath"/>): files, folders (with recurse), links as links. Each
/// item is written relative to its folder's descriptor: a file that replaces or joins something visible is written
/// under a temporary name and renamed into place (RENAME_NOREPLACE unless forced), a new folder is filled under a
/// temporary name and renamed when whole, so nothing half-written is ever seen under its final name and a failure or
/// a cancellation removes what it was writing. Data moves in the kernel (sendfile), a chunk at a time.
/// </summary>
internal sealed class TreeCopier
{
    private const long Chunk = 1 << 20;
    private static int _serial;

    private readonly RootedPath _from;
    private readonly RootedPath _to;
    private readonly int _uid;
    private readonly int _gid;
    private readonly bool _recurse;
    private readonly bool _force;
    private readonly Action<CopyProgress>? _progress;
    private readonly Action<string>? _log;
    private readonly CancellationToken _cancel;
    private readonly Action<string>? _temporary;
    private long _bytesDone, _bytesTotal, _filesDone, _filesTotal;

    public TreeCopier(RootedPath from, RootedPath to, int uid, int gid, bool recurse, bool force, Action<CopyProgress>? progress, Action<string>? log, CancellationToken cancel,
        Action<string>? temporary = null)
    {
        (_from, _to, _uid, _gid, _recurse, _force, _progress, _log, _cancel, _temporary) = (from, to, uid, gid, recurse, force, progress, log, cancel, temporary);
    }

    /// <summary>A source: the folder it is in (fd), its name, its lstat, and how to show it.</summary>
    public sealed record Source(int Folder, string Name, stat Stat, string Display) : IDisposable
    {
        public void Dispose() => close(Folder);
    }

    /// <summary>Opens a source: its folder resolved in <see cref="_from"/>, the last name not followed. ObjectNotFound when missing.</summary>
    public Source OpenSource(string path)
    {
        string[] names = RootedPath.Names(path);
        if (names.Length == 0 || names[^1] == "..")
        {
            throw PscException.Invalid("CopySourceIsRoot", $"'{path}' names a root folder; name a folder or file below it.", path);
        }
        int folder = _from.OpenFolder(names, names.Length - 1);
        int err = folder < 0 ? -folder : Files.Lstat(folder, names[^1], out _);
        if (err != 0)
        {
            if (folder >= 0)
            {
                close(folder);
            }
            throw err is Errno.ENOENT or Errno.ENOTDIR
                ? new PscException("CopySourceNotFound", ErrorKind.ObjectNotFound, $"Cannot find '{path}' in {_from.Describe}.", path, err)
                : PscException.FromErrno("CopySource", err, $"{path} in {_from.Describe}");
        }
        Files.Lstat(folder, names[^1], out stat st);
        if (S_ISDIR(st.st_mode) && !_recurse)
        {
            close(folder);
            throw PscException.Invalid("CopyFolderNeedsRecurse", $"'{path}' is a folder: copy it with -Recurse.", path);
        }
        return new Source(folder, names[^1], st, path);
    }

    /// <summary>
    /// The sources whose files and bytes make the progress's totals. They are counted (a walk of lstat calls) only once
    /// the copy has run for <see cref="CountAfterMs"/> (until then the totals are what is done so far): a copy done
    /// sooner pays for no second walk of its tree, which had cost a third of a copy of 10,000 small files, and the
    /// cmdlet shows no progress before that anyway.
    /// </summary>
    public void CountLater(IReadOnlyList<Source> sources)
    {
        _toCount = sources;
        _started = Environment.TickCount64;
    }

    /// <summary>How long a copy runs before its totals are counted and progress is reported.</summary>
    internal const long CountAfterMs = 1000;

    private IReadOnlyList<Source>? _toCount;
    private long _started;
    private bool _counted;

    private void Count(int folder, string name, in stat st)
    {
        _cancel.ThrowIfCancellationRequested();
        _filesTotal++;
        if (S_ISREG(st.st_mode))
        {
            _bytesTotal += st.st_size;
        }
        else if (S_ISDIR(st.st_mode))
        {
            int fd = Files.OpenAt(folder, name, O_RDONLY | O_DIRECTORY);
            if (fd < 0)
            {
                return;
            }
            try
            {
                foreach (string child in Files.List(fd))
                {
                    if (Files.Lstat(fd, child, out stat cs) == 0)
                    {
                        Count(fd, child, cs);
                    }
                }
            }
            finally
            {
                close(fd);
            }
        }
    }

    /// <summary>Copies one source to <paramref name="name"/> in the folder <paramref name="target"/> (visible: written under a temporary name first).</summary>
    public void Copy(Source s, int target, string name, string display)
    {
        Item(s.Folder, s.Name, s.Stat, target, name, display, inTemporary: false);
        Report(display);
    }

    private void Item(int folder, string name, in stat st, int target, string targetName, string display, bool inTemporary)
    {
        _cancel.ThrowIfCancellationRequested();
        // In a folder this copy made (under its temporary name, 0700) nothing is there to find: a name taken meanwhile
        // fails the mkdirat, symlinkat or O_EXCL open below with EEXIST.
        stat there = default;
        int exists = inTemporary ? Errno.ENOENT : Files.Lstat(target, targetName, out there);
        if (exists == 0)
        {
            bool bothFolders = S_ISDIR(st.st_mode) && S_ISDIR(there.st_mode);
            if (!bothFolders && (!_force || S_ISDIR(there.st_mode) || S_ISDIR(st.st_mode)))
            {
                throw new PscException("CopyItemExists", ErrorKind.ResourceExists,
                    $"'{display}' exists in {_to.Describe}{(_force || S_ISDIR(there.st_mode) ? " and is of another kind" : "; use -Force to replace it")}.", display);
            }
            if (bothFolders)
            {
                int fd = OpenTargetFolder(target, targetName, display);
                try
                {
                    Children(folder, name, fd, display, inTemporary);
                }
                finally
                {
                    close(fd);
                }
                _filesDone++;
                return;
            }
        }
        else if (exists != Errno.ENOENT)
        {
            throw PscException.FromErrno("CopyTarget", exists, display);
        }
        string writeName = inTemporary ? targetName : $".psc-copy-{Environment.ProcessId}-{Interlocked.Increment(ref _serial)}-{targetName}";
        if (writeName.Length > 255)
        {
            writeName = $".psc-copy-{Environment.ProcessId}-{Interlocked.Increment(ref _serial)}";
        }
        if (!inTemporary)
        {
            // Recorded before it exists (a journal), so a session killed from here on leaves it findable.
            _temporary?.Invoke(display[..(display.LastIndexOf('/') + 1)] + writeName);
        }
        try
        {
            if (S_ISREG(st.st_mode))
            {
                File(folder, name, st, target, writeName, display);
            }
            else if (S_ISLNK(st.st_mode))
            {
                Link(folder, name, st, target, writeName, display);
            }
            else if (S_ISDIR(st.st_mode))
            {
                Folder(folder, name, st, target, writeName, display);
            }
            else
            {
                _log?.Invoke($"Skipped '{display}': not a file, folder or link (a device, pipe or socket).");
                return;
            }
            _filesDone++;
            if (!inTemporary)
            {
                int err = Files.Rename(target, writeName, target, targetName, replace: _force);
                if (err != 0)
                {
                    throw err == Errno.EEXIST
                        ? new PscException("CopyItemExists", ErrorKind.ResourceExists, $"'{display}' exists in {_to.Describe}; use -Force to replace it.", display)
                        : PscException.FromErrno("CopyRename", err, display);
                }
            }
        }
        catch when (!inTemporary)
        {
            Files.RemoveTree(target, writeName);
            throw;
        }
    }

    private int OpenTargetFolder(int target, string name, string display)
    {
        int fd = Files.OpenAt(target, name, O_RDONLY | O_DIRECTORY);
        return fd >= 0 ? fd : throw PscException.FromErrno("CopyOpenFolder", -fd, display);
    }

    private void Folder(int folder, string name, in stat st, int target, string writeName, string display)
    {
        int err = Files.Mkdir(target, writeName, 0x1C0 /* 0700 until whole */);
        if (err != 0)
        {
            throw PscException.FromErrno("CopyMakeFolder", err, display);
        }
        int fd = OpenTargetFolder(target, writeName, display);
        try
        {
            Check(Files.FChown(fd, _uid, _gid), "CopyChown", display);
            Children(folder, name, fd, display, inTemporary: true);
            Check(Files.FChmod(fd, (int)(st.st_mode & 0xFFF)), "CopyChmod", display);
            Check(Files.FSetTimes(fd, st), "CopyTimes", display);
        }
        finally
        {
            close(fd);
        }
    }

    private void Children(int folder, string name, int targetFd, string display, bool inTemporary)
    {
        int source = Files.OpenAt(folder, name, O_RDONLY | O_DIRECTORY);
        if (source < 0)
        {
            throw PscException.FromErrno("CopyOpenFolder", -source, $"{display} in {_from.Describe}");
        }
        try
        {
            foreach (string child in Files.List(source))
            {
                int err = Files.Lstat(source, child, out stat cs);
                if (err == Errno.ENOENT)
                {
                    continue; // removed meanwhile
                }
                Check(err, "CopySource", $"{display}/{child}");
                Item(source, child, cs, targetFd, child, $"{display.TrimEnd('/')}/{child}", inTemporary);
            }
        }
        finally
        {
            close(source);
        }
    }

    private void Link(int folder, string name, in stat st, int target, string writeName, string display)
    {
        string link = Files.ReadLink(folder, name, out int err) ?? throw PscException.FromErrno("CopyReadLink", err, display);
        Check(Files.Symlink(link, target, writeName), "CopyLink", display);
        if (_uid != -1)
        {
            Check(Files.Chown(target, writeName, _uid, _gid), "CopyChown", display);
        }
        Check(Files.SetTimes(target, writeName, st), "CopyTimes", display);
    }

    private void File(int folder, string name, in stat st, int target, string writeName, string display)
    {
        // O_NONBLOCK: a pipe swapped in for the file must not hang the copy (it is refused below as not a file).
        int input = Files.OpenAt(folder, name, O_RDONLY | O_NONBLOCK);
        if (input < 0)
        {
            throw PscException.FromErrno("CopyOpen", -input, $"{display} in {_from.Describe}");
        }
        int output = -1;
        try
        {
            Check(Files.Fstat(input, out stat opened), "CopyOpen", display);
            if (!S_ISREG(opened.st_mode))
            {
                throw new PscException("CopySourceChanged", ErrorKind.InvalidOperation, $"'{display}' in {_from.Describe} stopped being a file during the copy.", display);
            }
            output = Files.OpenAt(target, writeName, O_WRONLY | O_CREAT | O_EXCL, 0x180 /* 0600 until whole */);
            if (output < 0)
            {
                throw PscException.FromErrno("CopyCreate", -output, display);
            }
            // Up to the size it had when opened, then to the end it reports (a size of 0 may hide contents: /proc).
            long sent = 0;
            while (opened.st_size == 0 || sent < opened.st_size)
            {
                _cancel.ThrowIfCancellationRequested();
                long n = Files.SendFile(output, input, Chunk);
                if (n == 0)
                {
                    break;
                }
                if (n == -Errno.EINTR || n == -Errno.EAGAIN)
                {
                    continue;
                }
                if (n < 0)
                {
                    throw PscException.FromErrno("CopyWrite", (int)-n, $"{display} in {_to.Describe}");
                }
                sent += n;
                _bytesDone += n;
                Report(display);
            }
            Check(Files.FChown(output, _uid, _gid), "CopyChown", display);
            Check(Files.FChmod(output, (int)(opened.st_mode & 0xFFF)), "CopyChmod", display);
            Check(Files.FSetTimes(output, opened), "CopyTimes", display);
        }
        finally
        {
            close(input);
            if (output >= 0 && close(output) != 0 && errno is int e && e is Errno.ENOSPC or 122 /* EDQUOT */ or Errno.EIO)
            {
                throw PscException.FromErrno("CopyWrite", e, $"{display} in {_to.Describe}");
            }
        }
    }

    private long _reported = -1;

    private void Report(string current)
    {
        if (_progress is null || _toCount is null)
        {
            return;
        }
        if (!_counted && Environment.TickCount64 - _started >= CountAfterMs)
        {
            _counted = true;
            foreach (Source s in _toCount)
            {
                Count(s.Folder, s.Name, s.Stat);
            }
        }
        if (_bytesDone + _filesDone != _reported)
        {
            _reported = _bytesDone + _filesDone;
            _progress(new CopyProgress(_bytesDone, Math.Max(_bytesTotal, _bytesDone), _filesDone, Math.Max(_filesTotal, _filesDone), current));
        }
    }

    private static void Check(int err, string operation, string display)
    {
        if (err != 0)
        {
            throw PscException.FromErrno(operation, err, display);
        }
    }
}
