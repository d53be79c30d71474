using System.Runtime.InteropServices;
using System.Text;
using PSContainers.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// A directory descriptor that stands for a root, and paths resolved in it. In a container's root every path is
/// resolved by the kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".." stops at the root and an
/// absolute link (<c>/escape -&gt; /</c>) resolves to the root, never to the host's "/" (the CVE-2019-10152 case).
/// Only folders are resolved that way; the last name of a path is then used with *at calls relative to its folder's
/// descriptor and without following links, so a link swapped in meanwhile (the CVE-2018-15664 race) leads nowhere
/// outside. The host's side is a root of "/" resolved as usual (host paths are the caller's own).
/// </summary>
internal sealed unsafe class RootedPath : IDisposable
{
    private RootedPath(int fd, bool contained, string describe)
    {
        Fd = fd;
        Contained = contained;
        Describe = describe;
    }

    /// <summary>The root's descriptor (O_PATH).</summary>
    public int Fd { get; private set; }

    /// <summary>True for a container's root (resolved in it); false for the host's "/".</summary>
    public bool Contained { get; }

    /// <summary>What the root is, for messages: "container 'web'" or "host".</summary>
    public string Describe { get; }

    public static RootedPath Host() => new(Open("/", "host"), false, "the host");

    /// <summary>A container's root: a folder (or /proc/&lt;pid&gt;/root, whose magic link the open follows once).</summary>
    public static RootedPath Container(string rootPath, string describe) => new(Open(rootPath, describe), true, describe);

    private static int Open(string path, string describe)
    {
        int fd;
        fixed (byte* p = CString(path))
        {
            fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        }
        return fd >= 0 ? fd : throw PscException.FromErrno("OpenRoot", errno, $"{path} ({describe})");
    }

    /// <summary>The names of a path, without empty ones and "."; ".." is kept (the kernel stops it at the root).</summary>
    public static string[] Names(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(n => n != ".").ToArray();

    /// <summary>Opens the folder the names lead to (resolved in the root), O_PATH. Returns the fd or -errno.</summary>
    public int OpenFolder(IReadOnlyList<string> names, int count) => OpenIn(count == 0 ? "." : string.Join('/', names.Take(count)), O_PATH | O_DIRECTORY);

    /// <summary>openat2 relative to the root, resolved in it (contained) or as usual (host). fd or -errno.</summary>
    public int OpenIn(string relative, int flags)
    {
        fixed (byte* p = CString(relative))
        {
            var how = new open_how
            {
                flags = (ulong)(flags | O_CLOEXEC),
                resolve = Contained ? RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS : 0,
            };
            int fd;
            do
            {
                fd = openat2(Fd, p, &how, (size_t)sizeof(open_how));
            }
            while (fd < 0 && errno == Errno.EAGAIN); // a rename elsewhere in the root meanwhile: try again
            return fd >= 0 ? fd : -errno;
        }
    }

    /// <summary>
    /// The folder the names lead to, made where missing (mode 0755, owned by uid:gid unless they are -1), each new
    /// folder made relative to its parent's descriptor. Returns an fd (O_PATH).
    /// </summary>
    public int MakeFolders(IReadOnlyList<string> names, int count, int uid, int gid, string display)
    {
        for (int i = 0; i <= count; i++)
        {
            int fd = OpenFolder(names, i);
            if (fd >= 0)
            {
                if (i == count)
                {
                    return fd;
                }
                close(fd);
                continue;
            }
            if (-fd != Errno.ENOENT || i == 0 || names[i - 1] == "..")
            {
                throw PscException.FromErrno("CopyOpenFolder", -fd, $"{string.Join('/', names.Take(i))} in {Describe} ({display})");
            }
            int parent = OpenFolder(names, i - 1);
            if (parent < 0)
            {
                throw PscException.FromErrno("CopyOpenFolder", -parent, $"{string.Join('/', names.Take(i - 1))} in {Describe} ({display})");
            }
            try
            {
                int err = Files.Mkdir(parent, names[i - 1], 0x1ED);
                if (err == 0 && uid != -1)
                {
                    err = Files.Chown(parent, names[i - 1], uid, gid);
                }
                if (err != 0 && err != Errno.EEXIST)
                {
                    throw PscException.FromErrno("CopyMakeFolder", err, $"/{string.Join('/', names.Take(i))} in {Describe}");
                }
            }
            finally
            {
                close(parent);
            }
            int made = OpenFolder(names, i);
            if (made < 0)
            {
                // a dangling link or a file of that name: nothing to make a folder in
                throw PscException.FromErrno("CopyOpenFolder", -made, $"/{string.Join('/', names.Take(i))} in {Describe} ({display})");
            }
            if (i == count)
            {
                return made;
            }
            close(made);
        }
        throw new InvalidOperationException("unreachable");
    }

    public void Dispose()
    {
        if (Fd >= 0)
        {
            close(Fd);
            Fd = -1;
        }
    }

    internal static byte[] CString(string s)
    {
        var buffer = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, buffer, 0);
        return buffer;
    }
}

/// <summary>The *at calls a copy makes, each relative to a folder's descriptor and never following a last link. 0 or errno.</summary>
internal static unsafe class Files
{
    public const int AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000, RenameNoReplace = 1;

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int renameat2_(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);

    [DllImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static extern nint sendfile_(int outFd, int inFd, long* offset, nuint count);

    [DllImport("libc", EntryPoint = "fstatat", SetLastError = true)]
    private static extern int fstatat_(int dirfd, byte* path, stat* st, int flags);

    public static int Lstat(int dirfd, string name, out stat st)
    {
        fixed (byte* p = RootedPath.CString(name))
        fixed (stat* s = &st)
        {
            return fstatat_(dirfd, p, s, AtSymlinkNoFollow) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int Fstat(int fd, out stat st)
    {
        fixed (stat* s = &st)
        {
            return fstat(fd, s) == 0 ? 0 : errno;
        }
    }

    /// <summary>openat of a last name, never through a link. fd or -errno.</summary>
    public static int OpenAt(int dirfd, string name, int flags, int mode = 0)
    {
        fixed (byte* p = RootedPath.CString(name))
        {
            int fd = openat(dirfd, p, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
            return fd >= 0 ? fd : -errno;
        }
    }

    public static int Mkdir(int dirfd, string name, int mode)
    {
        fixed (byte* p = RootedPath.CString(name))
        {
            return mkdirat(dirfd, p, (mode_t)mode) == 0 ? 0 : errno;
        }
    }

    public static int Chown(int dirfd, string name, int uid, int gid)
    {
        fixed (byte* p = RootedPath.CString(name))
        {
            return fchownat(dirfd, p, (uid_t)(uint)uid, (gid_t)(uint)gid, AtSymlinkNoFollow) == 0 ? 0 : errno;
        }
    }

    public static int FChown(int fd, int uid, int gid) => uid == -1 || fchown(fd, (uid_t)(uint)uid, (gid_t)(uint)gid) == 0 ? 0 : errno;

    public static int FChmod(int fd, int mode) => fchmod(fd, (mode_t)mode) == 0 ? 0 : errno;

    /// <summary>Sets atime and mtime of a last name (a link itself, never its target).</summary>
    public static int SetTimes(int dirfd, string name, in stat st)
    {
        timespec* times = stackalloc timespec[2];
        times[0] = st.st_atim;
        times[1] = st.st_mtim;
        fixed (byte* p = RootedPath.CString(name))
        {
            return utimensat(dirfd, p, times, AtSymlinkNoFollow) == 0 ? 0 : errno;
        }
    }

    public static int FSetTimes(int fd, in stat st)
    {
        timespec* times = stackalloc timespec[2];
        times[0] = st.st_atim;
        times[1] = st.st_mtim;
        return futimens(fd, times) == 0 ? 0 : errno;
    }

    public static int Symlink(string target, int dirfd, string name)
    {
        fixed (byte* t = RootedPath.CString(target))
        fixed (byte* p = RootedPath.CString(name))
        {
            return symlinkat(t, dirfd, p) == 0 ? 0 : errno;
        }
    }

    /// <summary>The target of a link (bytes as the kernel has them, read as UTF-8), or null with <paramref name="err"/>.</summary>
    public static string? ReadLink(int dirfd, string name, out int err)
    {
        var buffer = new byte[4097];
        fixed (byte* p = RootedPath.CString(name))
        fixed (byte* b = buffer)
        {
            long n = readlinkat(dirfd, p, b, (size_t)buffer.Length);
            err = n < 0 ? errno : 0;
            return n < 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    /// <summary>renameat2, with RENAME_NOREPLACE unless <paramref name="replace"/>: EEXIST when the name is taken.</summary>
    public static int Rename(int fromDir, string from, int toDir, string to, bool replace)
    {
        fixed (byte* a = RootedPath.CString(from))
        fixed (byte* b = RootedPath.CString(to))
        {
            return renameat2_(fromDir, a, toDir, b, replace ? 0u : RenameNoReplace) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int Unlink(int dirfd, string name, bool folder)
    {
        fixed (byte* p = RootedPath.CString(name))
        {
            return unlinkat(dirfd, p, folder ? AT_REMOVEDIR : 0) == 0 ? 0 : errno;
        }
    }

    /// <summary>Up to <paramref name="count"/> bytes from the read position of one file to another in the kernel. Bytes or -errno.</summary>
    public static long SendFile(int outFd, int inFd, long count)
    {
        nint n = sendfile_(outFd, inFd, null, (nuint)count);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    [DllImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static extern nint getdents64_(int fd, byte* buffer, nuint count);

    /// <summary>A folder's reading buffer, one per thread (a copy lists folder after folder).</summary>
    [ThreadStatic]
    private static byte[]? _dents;

    /// <summary>
    /// The names in a folder, read from its descriptor (opened O_RDONLY | O_DIRECTORY) with getdents64, without "." and
    /// "..": no path is made for it and nothing is reopened (a listing through /proc/self/fd/N costs a lookup of
    /// that magic link and a path per name). Throws IOException when the folder cannot be read.
    /// </summary>
    public static List<string> List(int dirfd)
    {
        var names = new List<string>();
        byte[] buffer = _dents ??= new byte[32768];
        fixed (byte* b = buffer)
        {
            while (true)
            {
                nint n = getdents64_(dirfd, b, (nuint)buffer.Length);
                if (n == 0)
                {
                    return names;
                }
                if (n < 0)
                {
                    int err = Marshal.GetLastPInvokeError();
                    if (err == Errno.EINTR)
                    {
                        continue;
                    }
                    throw new IOException($"Cannot list a folder: {Errno.Describe(err)}", err);
                }
                for (nint at = 0; at < n;)
                {
                    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                    ushort length = *(ushort*)(b + at + 16);
                    byte* name = b + at + 19;
                    int size = 0;
                    while (name[size] != 0)
                    {
                        size++;
                    }
                    if (!(size == 1 && name[0] == '.') && !(size == 2 && name[0] == '.' && name[1] == '.'))
                    {
                        names.Add(Encoding.UTF8.GetString(name, size));
                    }
                    at += length;
                }
            }
        }
    }

    /// <summary>Removes a name and, for a folder, everything in it, through descriptors only. Best effort.</summary>
    public static void RemoveTree(int dirfd, string name)
    {
        if (Lstat(dirfd, name, out stat st) != 0)
        {
            return;
        }
        if (S_ISDIR(st.st_mode))
        {
            int fd = OpenAt(dirfd, name, O_RDONLY | O_DIRECTORY);
            if (fd >= 0)
            {
                try
                {
                    foreach (string child in List(fd))
                    {
                        RemoveTree(fd, child);
                    }
                }
                catch (IOException)
                {
                }
                finally
                {
                    close(fd);
                }
            }
        }
        Unlink(dirfd, name, S_ISDIR(st.st_mode));
    }
}
