using System.Text;
using Microsoft.Win32.SafeHandles;
using PSContainers.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>What an archive entry or a folder's file is.</summary>
internal enum TreeEntryKind
{
    Directory,
    File,
    Symlink,
    HardLink,
    Fifo,
}

/// <summary>
/// One entry to create under a root: its name as the archive has it (checked by <see cref="RootFsWriter.Split"/>),
/// owner, mode (setuid, setgid and sticky bits included), modification time, and for links their target.
/// </summary>
internal readonly record struct TreeEntry(string Name, TreeEntryKind Kind, int Mode, int Uid, int Gid, DateTimeOffset ModifiedAt, string? LinkTarget = null);

/// <summary>
/// Creates a tree's entries inside one root folder and nowhere else, whatever the names and links the source holds:
/// every parent is resolved by openat2(RESOLVE_IN_ROOT) on a descriptor of the root (a link <c>a -> /</c> made by an
/// earlier entry makes <c>a/etc/x</c> land in the root's <c>etc</c>), every entry is made by a *at call relative to
/// that parent with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, names with <c>..</c> are refused and absolute names are taken
/// as relative to the root (as GNU tar does). Hard links resolve their target the same way. Owners, modes and
/// times are kept; folders get their times last, after their contents.
/// </summary>
internal sealed unsafe class RootFsWriter : IDisposable
{
    private static readonly ulong Resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    private int _root;
    private readonly Dictionary<string, DateTimeOffset> _dirTimes = new(StringComparer.Ordinal);
    private readonly string _source;

    public RootFsWriter(string rootPath, string source)
    {
        _source = source;
        RootPath = rootPath;
        fixed (byte* p = CString(rootPath))
        {
            _root = open(p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        }
        if (_root < 0)
        {
            throw PscException.FromErrno("ImageRootOpen", errno, rootPath);
        }
    }

    public string RootPath { get; }

    /// <summary>Paths made by this layer (whiteouts and opaque folders hide only what lower layers made).</summary>
    public HashSet<string>? LayerPaths { get; set; }

    /// <summary>
    /// The name's components below the root: "" and "." dropped, a leading "/" dropped (contained); ".." or a NUL
    /// refused with InvalidData naming the entry. An empty array is the root itself.
    /// </summary>
    public string[] Split(string name)
    {
        var parts = new List<string>();
        foreach (string c in name.Split('/'))
        {
            if (c.Length == 0 || c == ".")
            {
                continue;
            }
            if (c == ".." || c.Contains('\0'))
            {
                throw Unsafe(name, "a name with '..' (or a NUL) could leave the root");
            }
            parts.Add(c);
        }
        return parts.ToArray();
    }

    public PscException Unsafe(string entry, string why) =>
        new("ImageEntryUnsafe", ErrorKind.InvalidData, $"The entry '{Shown(entry)}' of {_source} was refused: {why}. Nothing was imported.", entry);

    private static string Shown(string s) => s.Replace("\0", "\\0").Replace("\n", "\\n");

    /// <summary>Creates one entry; a regular file's bytes come from <paramref name="content"/>.</summary>
    public void Write(TreeEntry e, Stream? content, Action<long>? copied = null, CancellationToken cancel = default)
    {
        string[] parts = Split(e.Name);
        if (parts.Length == 0)
        {
            if (e.Kind != TreeEntryKind.Directory)
            {
                throw Unsafe(e.Name, "the root can only be a folder");
            }
            SetOwnerModeAt(_root, ".", e, followLeaf: true);
            _dirTimes[""] = e.ModifiedAt;
            return;
        }
        string relative = string.Join('/', parts);
        int parent = OpenParent(parts, e.Name);
        try
        {
            string leaf = parts[^1];
            bool isDir = RemoveExisting(parent, leaf, keepDirectory: e.Kind == TreeEntryKind.Directory, e.Name);
            switch (e.Kind)
            {
                case TreeEntryKind.Directory:
                    if (!isDir)
                    {
                        Check(Mkdirat(parent, leaf, 0x1C0), "mkdirat", e.Name);
                    }
                    SetOwnerModeAt(parent, leaf, e, followLeaf: false);
                    _dirTimes[relative] = e.ModifiedAt;
                    break;
                case TreeEntryKind.File:
                    WriteFile(parent, leaf, e, content, copied, cancel);
                    break;
                case TreeEntryKind.Symlink:
                    fixed (byte* t = CString(e.LinkTarget ?? ""))
                    fixed (byte* l = CString(leaf))
                    {
                        Check(symlinkat(t, parent, l) == 0 ? 0 : errno, "symlinkat", e.Name);
                        Check(fchownat(parent, l, (uint)e.Uid, (uint)e.Gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno, "fchownat", e.Name);
                    }
                    SetTimeAt(parent, leaf, e.ModifiedAt, e.Name);
                    break;
                case TreeEntryKind.HardLink:
                    Link(parent, leaf, e);
                    break;
                case TreeEntryKind.Fifo:
                    fixed (byte* l = CString(leaf))
                    {
                        Check(mknodat(parent, l, (mode_t)(S_IFIFO | 0x180), 0) == 0 ? 0 : errno, "mknodat", e.Name);
                    }
                    SetOwnerModeAt(parent, leaf, e, followLeaf: false);
                    SetTimeAt(parent, leaf, e.ModifiedAt, e.Name);
                    break;
            }
            LayerPaths?.Add(relative);
        }
        finally
        {
            close(parent);
        }
    }

    /// <summary>An OCI whiteout <c>dir/.wh.name</c>: removes <c>dir/name</c> as lower layers made it.</summary>
    public void WhiteOut(string[] parts, string entry)
    {
        string relative = string.Join('/', parts);
        if (LayerPaths?.Contains(relative) == true)
        {
            return;
        }
        int parent = OpenParent(parts, entry, create: false);
        if (parent < 0)
        {
            return; // nothing there to hide
        }
        try
        {
            RemoveExisting(parent, parts[^1], keepDirectory: false, entry);
        }
        finally
        {
            close(parent);
        }
    }

    /// <summary>An OCI opaque folder <c>dir/.wh..wh..opq</c>: empties <c>dir</c> of what lower layers put there.</summary>
    public void MakeOpaque(string[] dirParts, string entry)
    {
        int dir = dirParts.Length == 0 ? Reopen(_root) : OpenParent([.. dirParts, "x"], entry, create: true);
        try
        {
            string prefix = dirParts.Length == 0 ? "" : string.Join('/', dirParts) + "/";
            foreach (string child in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{dir}").Select(Path.GetFileName).OfType<string>().ToList())
            {
                if (LayerPaths?.Contains(prefix + child) != true)
                {
                    RemoveExisting(dir, child, keepDirectory: false, entry);
                }
            }
        }
        finally
        {
            close(dir);
        }
    }

    /// <summary>Sets the folders' times, deepest first, once everything is in them.</summary>
    public void Finish()
    {
        foreach (var (path, time) in _dirTimes.OrderByDescending(kv => kv.Key.Count(c => c == '/')).ThenByDescending(kv => kv.Key.Length))
        {
            if (path.Length == 0)
            {
                SetTimeAt(_root, ".", time, "/");
                continue;
            }
            string[] parts = path.Split('/');
            int parent = OpenParent(parts, path, create: false);
            if (parent >= 0)
            {
                SetTimeAt(parent, parts[^1], time, path);
                close(parent);
            }
        }
        _dirTimes.Clear();
    }

    private void WriteFile(int parent, string leaf, TreeEntry e, Stream? content, Action<long>? copied, CancellationToken cancel)
    {
        int fd;
        fixed (byte* l = CString(leaf))
        {
            fd = openat(parent, l, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0x180);
        }
        Check(fd < 0 ? errno : 0, "openat", e.Name);
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        using var output = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        if (content is not null)
        {
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                int n;
                while ((n = content.Read(buffer, 0, buffer.Length)) > 0)
                {
                    cancel.ThrowIfCancellationRequested();
                    output.Write(buffer, 0, n);
                    copied?.Invoke(n);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        // chown clears setuid/setgid, so the mode comes after the owner.
        Check(fchown(fd, (uint)e.Uid, (uint)e.Gid) == 0 ? 0 : errno, "fchown", e.Name);
        Check(fchmod(fd, (mode_t)(e.Mode & 0xFFF)) == 0 ? 0 : errno, "fchmod", e.Name);
        timespec* times = stackalloc timespec[2];
        Times(times, e.ModifiedAt);
        Check(futimens(fd, times) == 0 ? 0 : errno, "futimens", e.Name);
    }

    private void Link(int parent, string leaf, TreeEntry e)
    {
        string[] target = Split(e.LinkTarget ?? "");
        if (target.Length == 0)
        {
            throw Unsafe(e.Name, "a hard link to the root");
        }
        int targetParent = OpenParent(target, e.Name, create: false);
        if (targetParent < 0)
        {
            throw Unsafe(e.Name, $"a hard link to '{Shown(e.LinkTarget ?? "")}', which the archive did not make before it");
        }
        try
        {
            fixed (byte* t = CString(target[^1]))
            fixed (byte* l = CString(leaf))
            {
                int err = linkat(targetParent, t, parent, l, 0) == 0 ? 0 : errno;
                if (err is Errno.ENOENT or Errno.EPERM)
                {
                    throw Unsafe(e.Name, $"a hard link to '{Shown(e.LinkTarget ?? "")}', which is missing or not a file");
                }
                Check(err, "linkat", e.Name);
            }
        }
        finally
        {
            close(targetParent);
        }
    }

    /// <summary>
    /// A descriptor of the folder the last component goes in, resolved inside the root; missing folders are made
    /// (0755, root's), as tar does. With <paramref name="create"/> false, a missing parent gives -1.
    /// </summary>
    private int OpenParent(string[] parts, string entry, bool create = true)
    {
        if (parts.Length == 1)
        {
            return Reopen(_root);
        }
        int fd = OpenInRoot(string.Join('/', parts, 0, parts.Length - 1));
        if (fd >= 0)
        {
            return fd;
        }
        if (-fd == Errno.ENOENT && !create)
        {
            return -1;
        }
        if (-fd != Errno.ENOENT)
        {
            throw Refused(-fd, entry);
        }
        // Make the missing ones, one by one from the top.
        int current = Reopen(_root);
        for (int i = 0; i < parts.Length - 1; i++)
        {
            int next = OpenInRoot(string.Join('/', parts, 0, i + 1));
            if (next == -Errno.ENOENT)
            {
                int err = Mkdirat(current, parts[i], 0x1ED);
                if (err is not (0 or Errno.EEXIST))
                {
                    close(current);
                    throw Refused(err, entry);
                }
                next = OpenInRoot(string.Join('/', parts, 0, i + 1));
            }
            close(current);
            if (next < 0)
            {
                throw Refused(-next, entry);
            }
            current = next;
        }
        return current;
    }

    private PscException Refused(int err, string entry) => err switch
    {
        Errno.ENOTDIR => Unsafe(entry, "a part of its path is not a folder"),
        Errno.ENOENT => Unsafe(entry, "a part of its path is a link to nothing"),
        Errno.ELOOP or Errno.EXDEV => Unsafe(entry, "its path goes through links that do not resolve inside the root"),
        _ => PscException.FromErrno("ImageEntryCreate", err, Path.Combine(RootPath, entry.TrimStart('/'))),
    };

    private int OpenInRoot(string relative)
    {
        fixed (byte* p = CString(relative))
        {
            var how = new open_how { flags = (ulong)(O_PATH | O_DIRECTORY | O_CLOEXEC), resolve = Resolve };
            int fd = openat2(_root, p, &how, (size_t)sizeof(open_how));
            return fd >= 0 ? fd : -errno;
        }
    }

    private static int Reopen(int dir)
    {
        fixed (byte* p = CString("."))
        {
            int fd = openat(dir, p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            return fd >= 0 ? fd : throw PscException.FromErrno("ImageRootOpen", errno, ".");
        }
    }

    /// <summary>Removes what is at <paramref name="leaf"/> (a folder with its contents), unless it is a folder to keep: true then.</summary>
    private bool RemoveExisting(int parent, string leaf, bool keepDirectory, string entry)
    {
        stat st;
        fixed (byte* l = CString(leaf))
        {
            if (fstatat(parent, l, &st, AT_SYMLINK_NOFOLLOW) != 0)
            {
                int err = errno;
                Check(err == Errno.ENOENT ? 0 : err, "fstatat", entry);
                return false;
            }
            if ((st.st_mode & S_IFMT) == S_IFDIR)
            {
                if (keepDirectory)
                {
                    return true;
                }
                // The folder was resolved inside the root and is not a link: its tree is ours to remove.
                Directory.Delete($"/proc/self/fd/{parent}/{leaf}", recursive: true);
                return false;
            }
            Check(unlinkat(parent, l, 0) == 0 ? 0 : errno, "unlinkat", entry);
            return false;
        }
    }

    private void SetOwnerModeAt(int parent, string leaf, TreeEntry e, bool followLeaf)
    {
        int fd;
        fixed (byte* l = CString(leaf))
        {
            // O_PATH descriptors cannot fchown; a folder or fifo opened O_RDONLY|O_NONBLOCK does not block.
            fd = openat(parent, l, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLeaf ? 0 : O_NOFOLLOW), 0);
        }
        Check(fd < 0 ? errno : 0, "openat", e.Name);
        try
        {
            Check(fchown(fd, (uint)e.Uid, (uint)e.Gid) == 0 ? 0 : errno, "fchown", e.Name);
            Check(fchmod(fd, (mode_t)(e.Mode & 0xFFF)) == 0 ? 0 : errno, "fchmod", e.Name);
        }
        finally
        {
            close(fd);
        }
    }

    private void SetTimeAt(int parent, string leaf, DateTimeOffset time, string entry)
    {
        timespec* times = stackalloc timespec[2];
        Times(times, time);
        fixed (byte* l = CString(leaf))
        {
            Check(utimensat(parent, l, times, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno, "utimensat", entry);
        }
    }

    private static void Times(timespec* times, DateTimeOffset t)
    {
        long ticks = (t.UtcTicks - DateTime.UnixEpoch.Ticks);
        long sec = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0)
        {
            sec--;
            rest += TimeSpan.TicksPerSecond;
        }
        times[0].tv_sec = (time_t)sec;
        times[0].tv_nsec = (long_t)(rest * 100);
        times[1] = times[0];
    }

    private static int Mkdirat(int dir, string leaf, int mode)
    {
        fixed (byte* l = CString(leaf))
        {
            return mkdirat(dir, l, (mode_t)mode) == 0 ? 0 : errno;
        }
    }

    private void Check(int err, string call, string entry)
    {
        if (err != 0)
        {
            throw PscException.FromErrno("ImageEntryCreate", err, Path.Combine(RootPath, entry.TrimStart('/')), hint: $"({call}, from {_source})");
        }
    }

    internal static byte[] CString(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var buffer = new byte[n + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, buffer, 0);
        return buffer;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _root, -1);
        if (fd >= 0)
        {
            close(fd);
        }
    }
}
