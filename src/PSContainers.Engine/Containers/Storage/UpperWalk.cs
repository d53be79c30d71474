using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// Usage of a layer without a disk image: a walk of its upper folder, summing allocated bytes (st_blocks, so sparse
/// files count what they take) and counting inodes (hard links once). The walk is bounded: past
/// <see cref="MaxEntries"/> entries it gives up and reports unknown (null) rather than a number too small.
/// </summary>
internal static unsafe class UpperWalk
{
    public const int MaxEntries = 200_000;

    public static (long? Bytes, long? Inodes) Measure(string upper)
    {
        if (!Directory.Exists(upper))
        {
            return (null, null);
        }
        long bytes = 0, inodes = 0;
        var seen = new HashSet<ulong>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true, ReturnSpecialDirectories = false };
        foreach (string path in Directory.EnumerateFileSystemEntries(upper, "*", options))
        {
            if (inodes >= MaxEntries)
            {
                return (null, null);
            }
            stat st;
            byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = name)
            {
                if (lstat(p, &st) != 0)
                {
                    continue; // gone meanwhile
                }
            }
            if ((ulong)st.st_nlink > 1 && (st.st_mode & S_IFMT) != S_IFDIR && !seen.Add((ulong)st.st_ino))
            {
                continue;
            }
            inodes++;
            bytes += (long)st.st_blocks * 512;
        }
        return (bytes, inodes);
    }
}
