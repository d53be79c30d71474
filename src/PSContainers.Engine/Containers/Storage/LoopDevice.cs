using System.Runtime.InteropServices;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// A loop device over a file, configured in one LOOP_CONFIGURE call with LO_FLAGS_AUTOCLEAR: the kernel detaches it
/// by itself when its last user goes (the filesystem mounted on it is unmounted), so a removed layer, or a session
/// killed at any point, never leaves a loop device attached. The caller mounts the device, then disposes this (the
/// mount holds the device from then on; disposing before mounting detaches it at once).
/// </summary>
internal sealed unsafe class LoopDevice : IDisposable
{
    private const ulong LOOP_CONFIGURE = 0x4C0A, LOOP_CTL_GET_FREE = 0x4C82;
    private const uint LO_FLAGS_AUTOCLEAR = 4;

    /// <summary>struct loop_config: fd, block_size, struct loop_info64 (232 bytes), 8 reserved u64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct LoopConfig
    {
        public uint Fd;
        public uint BlockSize;
        public ulong Device, Inode, RDevice, Offset, SizeLimit;
        public uint Number, EncryptType, EncryptKeySize, Flags;
        public fixed byte FileName[64];
        public fixed byte CryptName[64];
        public fixed byte EncryptKey[32];
        public fixed ulong Init[2];
        public fixed ulong Reserved[8];
    }

    private int _fd;

    private LoopDevice(string path, int fd)
    {
        Path = path;
        _fd = fd;
    }

    /// <summary>/dev/loopN.</summary>
    public string Path { get; }

    /// <summary>
    /// Attaches <paramref name="file"/> to a free loop device. Another process may take the device the kernel named
    /// free before we configure it (EBUSY): then we ask again.
    /// </summary>
    public static LoopDevice Attach(string file)
    {
        int control = MountCalls.Open("/dev/loop-control", MountCalls.O_RDWR);
        if (control < 0)
        {
            throw PscException.FromErrno("Open", -control, "/dev/loop-control", hint: "Disk limits need loop devices (the loop module).");
        }
        int backing = MountCalls.Open(file, MountCalls.O_RDWR);
        if (backing < 0)
        {
            MountCalls.Close(control);
            throw PscException.FromErrno("Open", -backing, file);
        }
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                int n = MountCalls.Ioctl(control, LOOP_CTL_GET_FREE, 0);
                if (n < 0)
                {
                    throw PscException.FromErrno("LoopGetFree", -n, "/dev/loop-control");
                }
                string path = "/dev/loop" + n;
                int fd = MountCalls.Open(path, MountCalls.O_RDWR);
                if (fd == -Errno.ENOENT && attempt < 50)
                {
                    Thread.Sleep(1); // the node is made by devtmpfs just after the device
                    continue;
                }
                if (fd < 0)
                {
                    throw PscException.FromErrno("Open", -fd, path);
                }
                var config = new LoopConfig { Fd = (uint)backing, Flags = LO_FLAGS_AUTOCLEAR };
                int r = MountCalls.Ioctl(fd, LOOP_CONFIGURE, &config);
                if (r == 0)
                {
                    return new LoopDevice(path, fd);
                }
                MountCalls.Close(fd);
                if (r != -Errno.EBUSY || attempt >= 50)
                {
                    throw PscException.FromErrno("LoopConfigure", -r, path, file);
                }
            }
        }
        finally
        {
            MountCalls.Close(backing); // the device holds the file from now on
            MountCalls.Close(control);
        }
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            MountCalls.Close(_fd);
            _fd = -1;
        }
    }
}
