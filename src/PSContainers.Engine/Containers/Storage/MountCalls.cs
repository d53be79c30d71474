using System.Runtime.InteropServices;
using System.Text;

namespace PSContainers.Containers;

/// <summary>
/// The calls the writable layers need that Tmds.LibC lacks: mount, umount2, ioctl (loop devices) and statfs. Each
/// returns 0 or an errno, so the caller decides what an errno means.
/// </summary>
internal static unsafe class MountCalls
{
    public const int MNT_DETACH = 2;
    public const int O_RDWR = 2, O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_DIRECTORY = 0x10000;

    [DllImport("libc", EntryPoint = "mount", SetLastError = true)]
    private static extern int mount_(byte* source, byte* target, byte* fstype, ulong flags, byte* data);

    [DllImport("libc", EntryPoint = "umount2", SetLastError = true)]
    private static extern int umount2_(byte* target, int flags);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int ioctl_(int fd, ulong request, void* arg);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int ioctl_value(int fd, ulong request, long arg);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int open_(byte* path, int flags, int mode);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int close_(int fd);

    [DllImport("libc", EntryPoint = "statfs", SetLastError = true)]
    private static extern int statfs_(byte* path, byte* buffer);

    private static int Errno => Marshal.GetLastPInvokeError();

    private static byte[] C(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
        return b;
    }

    public static int Mount(string source, string target, string fstype, ulong flags, string data)
    {
        fixed (byte* s = C(source), t = C(target), f = C(fstype), d = C(data))
        {
            return mount_(s, t, f, flags, d) == 0 ? 0 : Errno;
        }
    }

    public static int Umount(string target, int flags)
    {
        fixed (byte* t = C(target))
        {
            return umount2_(t, flags) == 0 ? 0 : Errno;
        }
    }

    /// <summary>open(2): the fd, or -errno.</summary>
    public static int Open(string path, int flags)
    {
        fixed (byte* p = C(path))
        {
            int fd = open_(p, flags | O_CLOEXEC, 0);
            return fd >= 0 ? fd : -Errno;
        }
    }

    public static void Close(int fd) => close_(fd);

    /// <summary>ioctl with an integer argument: the result (&gt;= 0), or -errno.</summary>
    public static int Ioctl(int fd, ulong request, long arg)
    {
        int r = ioctl_value(fd, request, arg);
        return r >= 0 ? r : -Errno;
    }

    /// <summary>ioctl with a pointer argument: the result (&gt;= 0), or -errno.</summary>
    public static int Ioctl(int fd, ulong request, void* arg)
    {
        int r = ioctl_(fd, request, arg);
        return r >= 0 ? r : -Errno;
    }

    /// <summary>What statfs reports of a mounted filesystem, in bytes and inodes.</summary>
    public readonly record struct FsUsage(long BlockSize, long Blocks, long FreeBlocks, long Files, long FreeFiles)
    {
        public long UsedBytes => (Blocks - FreeBlocks) * BlockSize;

        public long UsedFiles => Files - FreeFiles;
    }

    /// <summary>statfs(2) of a path: 0 and the numbers, or an errno. struct statfs is the same on x86_64 and arm64.</summary>
    public static int StatFs(string path, out FsUsage usage)
    {
        byte* buffer = stackalloc byte[256];
        fixed (byte* p = C(path))
        {
            if (statfs_(p, buffer) != 0)
            {
                usage = default;
                return Errno;
            }
        }
        long* w = (long*)buffer; // f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, ...
        usage = new FsUsage(w[1], w[2], w[3], w[5], w[6]);
        return 0;
    }
}
