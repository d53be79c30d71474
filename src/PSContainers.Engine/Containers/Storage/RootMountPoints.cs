using PSContainers.Native;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// The mount points psc-init needs in a root (src/psc-init/rootfs.c, "The root's mounts" in its README): the folders
/// dev, proc, sys, tmp (1777) and etc, and empty etc/hosts, etc/hostname, etc/resolv.conf, each made only when
/// missing and resolved inside the root (a link in the image never makes anything land elsewhere). An image
/// container's layer gets them at create, before its usage baseline is taken, so they are part of the empty layer:
/// an empty layer reads as 0 used, an inode limit counts only what the container makes, and a stopped container
/// already has them for Copy-ContainerItem. psc-init still makes whatever is missing in a -RootPath folder.
/// </summary>
internal static class RootMountPoints
{
    private static readonly (string Name, int Mode)[] Folders = { ("dev", 0x1ED), ("proc", 0x1ED), ("sys", 0x1ED), ("tmp", 0x3FF /* 1777 */), ("etc", 0x1ED) };
    private static readonly string[] EtcFiles = { "hosts", "hostname", "resolv.conf" };

    public static void Ensure(string root)
    {
        int rootFd = Sys.OpenDirectory(root);
        if (rootFd < 0)
        {
            throw PscException.FromErrno("MountPoint", -rootFd, root);
        }
        try
        {
            foreach (var (name, mode) in Folders)
            {
                int fd = Sys.OpenInRoot(rootFd, name, O_PATH | O_DIRECTORY);
                if (fd >= 0)
                {
                    Sys.Close(fd);
                    continue;
                }
                int err = fd == -ENOENT ? Sys.MkdirAt(rootFd, name, mode) : fd;
                if (err < 0)
                {
                    throw PscException.FromErrno("MountPoint", -err, Path.Combine(root, name));
                }
            }
            foreach (string file in EtcFiles)
            {
                int fd = Sys.OpenInRoot(rootFd, "etc/" + file, O_WRONLY | O_CREAT | O_NOCTTY, 0x1A4 /* 0644 */);
                if (fd < 0)
                {
                    throw PscException.FromErrno("MountPoint", -fd, Path.Combine(root, "etc", file));
                }
                Sys.Close(fd);
            }
        }
        finally
        {
            Sys.Close(rootFd);
        }
    }
}
