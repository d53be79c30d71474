using PSContainers.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// A folder imported as an image: its tree copied through a <see cref="RootFsWriter"/> with modes, owners, times,
/// symlinks as symlinks and hard links as hard links; devices are refused, sockets skipped (as tar skips them).
/// Links in the source are never followed. A first pass lists the tree, so progress has a total.
/// </summary>
internal static unsafe class FolderImport
{
    private readonly record struct Item(string Relative, string Full, TreeEntryKind Kind, stat Stat);

    public static void Copy(string source, RootFsWriter writer, IProgress<ImageImportProgress>? progress, CancellationToken cancel)
    {
        var items = new List<Item>();
        long bytes = 0;
        List(source, "", items, ref bytes, writer, cancel);
        var meter = new ImportMeter(progress, bytes, items.Count);
        var links = new Dictionary<(ulong, ulong), string>();
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            stat st = item.Stat;
            var kind = item.Kind;
            string? target = null;
            if (kind == TreeEntryKind.File && st.st_nlink > 1)
            {
                var key = ((ulong)st.st_dev, (ulong)st.st_ino);
                if (links.TryGetValue(key, out string? first))
                {
                    kind = TreeEntryKind.HardLink;
                    target = first;
                    meter.Add(st.st_size);
                }
                else
                {
                    links[key] = item.Relative;
                }
            }
            if (kind == TreeEntryKind.Symlink)
            {
                target = new FileInfo(item.Full).LinkTarget ?? "";
            }
            var time = DateTimeOffset.FromUnixTimeSeconds(st.st_mtim.tv_sec).AddTicks(st.st_mtim.tv_nsec / 100);
            var entry = new TreeEntry(item.Relative.Length == 0 ? "." : item.Relative, kind, (int)((uint)st.st_mode & 0xFFF), (int)(uint)st.st_uid, (int)(uint)st.st_gid, time, target);
            if (kind == TreeEntryKind.File)
            {
                using var input = new FileStream(item.Full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                writer.Write(entry, input, meter.Add, cancel);
            }
            else
            {
                writer.Write(entry, null, null, cancel);
            }
            meter.File();
        }
        writer.Finish();
        meter.Complete();
    }

    private static void List(string source, string relative, List<Item> items, ref long bytes, RootFsWriter writer, CancellationToken cancel)
    {
        string full = relative.Length == 0 ? source : Path.Combine(source, relative);
        stat st;
        fixed (byte* p = RootFsWriter.CString(full))
        {
            if (lstat(p, &st) != 0)
            {
                throw PscException.FromErrno("ImageSourceRead", errno, full);
            }
        }
        uint type = (uint)st.st_mode & (uint)S_IFMT;
        TreeEntryKind kind;
        if (type == (uint)S_IFDIR)
        {
            kind = TreeEntryKind.Directory;
        }
        else if (type == (uint)S_IFREG)
        {
            kind = TreeEntryKind.File;
            bytes += st.st_size;
        }
        else if (type == (uint)S_IFLNK)
        {
            kind = TreeEntryKind.Symlink;
        }
        else if (type == (uint)S_IFIFO)
        {
            kind = TreeEntryKind.Fifo;
        }
        else if (type == (uint)S_IFSOCK)
        {
            return;
        }
        else
        {
            throw writer.Unsafe(relative, "it is a device; images hold no devices, containers get theirs at start");
        }
        items.Add(new Item(relative, full, kind, st));
        if (kind == TreeEntryKind.Directory)
        {
            cancel.ThrowIfCancellationRequested();
            foreach (string child in Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            {
                List(source, relative.Length == 0 ? child : relative + "/" + child, items, ref bytes, writer, cancel);
            }
        }
    }
}
