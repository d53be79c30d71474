using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Native;

/// <summary>
/// The engine's one door to the kernel. Tmds.LibC where it has the call; raw syscall() for what it
/// lacks (prctl, waitid, pidfd_open, pidfd_send_signal, pivot_root). Calls return -errno on failure
/// rather than throwing, so callers decide what an errno means.
/// </summary>
public static unsafe class Sys
{
    private static readonly bool IsArm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    // Syscall numbers that differ per architecture (x86_64 / arm64). 424+ are the same everywhere.
    private static long NrPrctl => IsArm64 ? 167 : 157;
    private static long NrWaitid => IsArm64 ? 95 : 247;
    private static long NrPivotRoot => IsArm64 ? 41 : 155;
    private const long NrPidfdSendSignal = 424;
    private const long NrPidfdOpen = 434;

    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    public static int LastErrno => errno;

    private static syscall_arg A(long value) => (void*)value;

    private static long Syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) =>
        (long)(ssize_t)syscall(A(nr), A(a1), A(a2), A(a3), A(a4), A(a5));

    private static byte[] CString(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var buffer = new byte[n + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, buffer, 0);
        return buffer;
    }

    /// <summary>The inode of a path (followed), or null when it cannot be stat()ed.</summary>
    public static ulong? StatInode(string path)
    {
        stat st;
        fixed (byte* p = CString(path))
        {
            return stat(p, &st) == 0 ? (ulong)st.st_ino : null;
        }
    }

    /// <summary>The inode of an open file, or null.</summary>
    public static ulong? FStatInode(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        stat st;
        return fstat((int)handle.DangerousGetHandle(), &st) == 0 ? (ulong)st.st_ino : null;
    }

    /// <summary>Opens a directory to use as the anchor for *at() calls. Returns fd or -errno.</summary>
    public static int OpenDirectory(string path)
    {
        fixed (byte* p = CString(path))
        {
            int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            return fd >= 0 ? fd : -errno;
        }
    }

    /// <summary>
    /// Opens <paramref name="relative"/> strictly beneath <paramref name="dirfd"/>: no "..", no symlinks,
    /// no magic links (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS). On kernels
    /// without openat2, falls back to openat with O_NOFOLLOW (the caller has already refused "..").
    /// </summary>
    public static int OpenBeneath(int dirfd, string relative, int flags)
    {
        fixed (byte* p = CString(relative))
        {
            var how = new open_how
            {
                flags = (ulong)(flags | O_CLOEXEC),
                resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
            };
            int fd = openat2(dirfd, p, &how, (size_t)sizeof(open_how));
            if (fd < 0 && errno == Errno.ENOSYS)
            {
                fd = openat(dirfd, p, flags | O_CLOEXEC | O_NOFOLLOW, 0);
            }
            return fd >= 0 ? fd : -errno;
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> as if <paramref name="rootfd"/> were "/": symbolic links and ".." resolved inside
    /// it, never above it (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), so a link in a container's root never leads
    /// to a host file. Returns fd or -errno (-ENOSYS on kernels before 5.6: there is no safe fallback).
    /// </summary>
    public static int OpenInRoot(int rootfd, string path, int flags, int mode = 0)
    {
        fixed (byte* p = CString(path))
        {
            var how = new open_how
            {
                flags = (ulong)(flags | O_CLOEXEC),
                mode = (ulong)mode,
                resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
            };
            int fd = openat2(rootfd, p, &how, (size_t)sizeof(open_how));
            return fd >= 0 ? fd : -errno;
        }
    }

    public static int Close(int fd) => close(fd) == 0 ? 0 : -errno;

    /// <summary>mkdirat, then the mode set exactly (mkdir applies the umask). 0 or -errno.</summary>
    public static int MkdirAt(int dirfd, string name, int mode)
    {
        fixed (byte* p = CString(name))
        {
            if (mkdirat(dirfd, p, (mode_t)mode) < 0 || fchmodat(dirfd, p, (mode_t)mode, 0) < 0)
            {
                return -errno;
            }
            return 0;
        }
    }

    /// <summary>Appends <paramref name="data"/> to a file (made 0666 &amp; ~umask if missing) in one write on an O_APPEND descriptor. 0 or errno.</summary>
    public static int AppendFile(string path, byte[] data)
    {
        int fd;
        fixed (byte* p = CString(path))
        {
            fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0x1b6 /* 0666 */);
        }
        if (fd < 0)
        {
            return errno;
        }
        int err = 0;
        fixed (byte* d = data)
        {
            ssize_t n;
            do
            {
                n = write(fd, d, data.Length);
            }
            while (n < 0 && errno == Errno.EINTR);
            if (n < 0)
            {
                err = errno;
            }
            else if (n != data.Length)
            {
                err = Errno.EIO; // a short append (disk full): the line is cut
            }
        }
        close(fd);
        return err;
    }

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int flock_(int fd, int operation);

    private const int LOCK_EX = 2, LOCK_NB = 4;

    /// <summary>
    /// Opens a directory (no symlink followed) and takes flock(LOCK_EX | LOCK_NB) on it, as .NET's FileShare.None
    /// does on a file. Returns the fd holding the lock, or -errno (EWOULDBLOCK/EAGAIN: someone else holds it).
    /// </summary>
    public static int LockDirectory(string path)
    {
        int fd;
        fixed (byte* p = CString(path))
        {
            fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            return -errno;
        }
        if (flock_(fd, LOCK_EX | LOCK_NB) != 0)
        {
            int err = Marshal.GetLastPInvokeError();
            close(fd);
            return -err;
        }
        return fd;
    }

    /// <summary>Reads a whole (small, pseudo-)file. Returns null and sets <paramref name="err"/> on failure.</summary>
    public static string? ReadAll(int dirfd, string relative, out int err)
    {
        int fd = OpenBeneath(dirfd, relative, O_RDONLY);
        if (fd < 0)
        {
            err = -fd;
            return null;
        }
        try
        {
            return ReadFd(fd, out err);
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// Reads a whole small file by path without exceptions: null with <paramref name="err"/> set (ENOENT for a
    /// depot file not written yet, ESRCH-like ENOENT for a process that is gone), as hot paths expect it often.
    /// </summary>
    public static string? ReadFile(string path, out int err)
    {
        int fd;
        fixed (byte* p = CString(path))
        {
            fd = open(p, O_RDONLY | O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            err = errno;
            return null;
        }
        try
        {
            return ReadFd(fd, out err);
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Reads an open file from offset 0 to its end (cgroupfs and procfs files are small).</summary>
    public static string? ReadFd(int fd, out int err)
    {
        // One stack buffer covers nearly every control file in one read; bigger ones grow a pooled array.
        Span<byte> first = stackalloc byte[4096];
        byte[]? rented = null;
        Span<byte> buffer = first;
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    byte[] bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.CopyTo(bigger);
                    if (rented is not null)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                    }
                    rented = bigger;
                    buffer = bigger;
                }
                long n;
                fixed (byte* b = buffer)
                {
                    n = pread(fd, b + length, (size_t)(buffer.Length - length), length);
                }
                if (n < 0)
                {
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    err = errno;
                    return null;
                }
                if (n == 0)
                {
                    break;
                }
                length += (int)n;
            }
            err = 0;
            return Encoding.UTF8.GetString(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a POLLPRI/POLLERR event on fd (a cgroupfs or procfs change notice).</summary>
    public static bool WaitChange(int fd, int timeoutMs)
    {
        var p = new pollfd { fd = fd, events = (short)POLLPRI };
        int r;
        while ((r = poll(&p, 1, timeoutMs)) < 0 && errno == Errno.EINTR)
        {
        }
        return r > 0;
    }

    /// <summary>Writes <paramref name="value"/> to an existing file in one write(2), as cgroupfs wants. Returns 0 or errno.</summary>
    public static int WriteAll(int dirfd, string relative, string value)
    {
        int fd = OpenBeneath(dirfd, relative, O_WRONLY | O_TRUNC);
        if (fd < 0)
        {
            return -fd;
        }
        try
        {
            byte[] data = Encoding.UTF8.GetBytes(value);
            while (true)
            {
                long n;
                fixed (byte* b = data)
                {
                    n = write(fd, b, (size_t)data.Length);
                }
                if (n >= 0)
                {
                    return n == data.Length ? 0 : Errno.EIO;
                }
                if (errno != Errno.EINTR)
                {
                    return errno;
                }
            }
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>mkdir beneath dirfd (the caller has validated every component). Returns 0 or errno.</summary>
    public static int MkdirBeneath(int dirfd, string relative, int mode = 0x1ED /* 0755 */)
    {
        fixed (byte* p = CString(relative))
        {
            return mkdirat(dirfd, p, (mode_t)mode) == 0 ? 0 : errno;
        }
    }

    /// <summary>rmdir beneath dirfd. Returns 0 or errno.</summary>
    public static int RmdirBeneath(int dirfd, string relative)
    {
        fixed (byte* p = CString(relative))
        {
            return unlinkat(dirfd, p, AT_REMOVEDIR) == 0 ? 0 : errno;
        }
    }

    /// <summary>True when <paramref name="relative"/> is a real directory (not a symlink) beneath dirfd.</summary>
    public static bool IsDirectoryBeneath(int dirfd, string relative)
    {
        int fd = OpenBeneath(dirfd, relative, O_PATH | O_DIRECTORY);
        if (fd < 0)
        {
            return false;
        }
        close(fd);
        return true;
    }

    public static int Kill(int pid, int signal) => kill(pid, signal) == 0 ? 0 : errno;

    public static int PidfdOpen(int pid)
    {
        long r = Syscall(NrPidfdOpen, pid, 0);
        return r >= 0 ? (int)r : -errno;
    }

    public static int PidfdSendSignal(int pidfd, int signal)
    {
        long r = Syscall(NrPidfdSendSignal, pidfd, signal, 0, 0);
        return r == 0 ? 0 : errno;
    }

    public static int Prctl(int option, ulong arg2 = 0, ulong arg3 = 0, ulong arg4 = 0, ulong arg5 = 0)
    {
        long r = Syscall(NrPrctl, option, (long)arg2, (long)arg3, (long)arg4, (long)arg5);
        return r >= 0 ? (int)r : -errno;
    }

    /// <summary>waitid(2) with a raw siginfo buffer; returns 0 or errno. Never used on children of .NET's own.</summary>
    public static int Waitid(int idtype, int id, byte* siginfo, int options)
    {
        long r = Syscall(NrWaitid, idtype, id, (long)siginfo, options, 0);
        return r == 0 ? 0 : errno;
    }

    public static int PivotRoot(string newRoot, string putOld)
    {
        fixed (byte* a = CString(newRoot))
        fixed (byte* b = CString(putOld))
        {
            long r = Syscall(NrPivotRoot, (long)a, (long)b);
            return r == 0 ? 0 : errno;
        }
    }

    public static int EffectiveUid => (int)(uint)geteuid();

    /// <summary>Whether this process, with its effective ids, may execute the file (faccessat with AT_EACCESS).</summary>
    public static bool CanExecute(string path)
    {
        fixed (byte* p = CString(path))
        {
            return faccessat(AT_FDCWD, p, X_OK, AT_EACCESS) == 0;
        }
    }
}
