using System.Formats.Tar;
using System.IO.Compression;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>How far an import is: bytes of the source read of its total, and entries (files, folders, links) made.</summary>
public sealed record ImageImportProgress(long BytesDone, long BytesTotal, long Files, long? FilesTotal);

/// <summary>Counts what an import has done and reports it, at most every 100 ms.</summary>
internal sealed class ImportMeter(IProgress<ImageImportProgress>? progress, long bytesTotal, long? filesTotal = null)
{
    private long _next;
    public long Bytes;
    public long Files;
    public Func<long>? BytesFrom;

    public void Add(long bytes) => Bytes += bytes;

    public void File()
    {
        Files++;
        Report(false);
    }

    /// <summary>The last report: everything read.</summary>
    public void Complete() => progress?.Report(new ImageImportProgress(bytesTotal, bytesTotal, Files, filesTotal));

    public void Report(bool always)
    {
        long now = Environment.TickCount64;
        if (progress is null || (!always && now < _next))
        {
            return;
        }
        _next = now + 100;
        progress.Report(new ImageImportProgress(BytesFrom?.Invoke() ?? Bytes, bytesTotal, Files, filesTotal));
    }
}

/// <summary>
/// Tar archives: plain, gzip, zstd or xz, told apart by their first bytes (not by the file's name), read entry by
/// entry with System.Formats.Tar (ustar, pax and GNU formats: what tar -c, docker export and podman export write)
/// and applied through a <see cref="RootFsWriter"/>. As a layer of an OCI image, whiteouts are applied.
/// </summary>
internal static class ImageArchive
{
    public enum Compression
    {
        None,
        Gzip,
        Zstd,
        Xz,
    }

    public static Compression Detect(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith(new byte[] { 0x1F, 0x8B }))
        {
            return Compression.Gzip;
        }
        if (head.StartsWith(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }))
        {
            return Compression.Zstd;
        }
        if (head.StartsWith(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 }))
        {
            return Compression.Xz;
        }
        return Compression.None;
    }

    /// <summary>The tar stream inside a source, decompressed by what its first bytes say.</summary>
    public static Stream Decompress(Stream source, bool leaveOpen = false) => Decompress(source, leaveOpen, out _);

    public static Stream Decompress(Stream source, bool leaveOpen, out Compression kind)
    {
        byte[] head = new byte[6];
        int n = 0;
        while (n < head.Length)
        {
            int r = source.Read(head, n, head.Length - n);
            if (r == 0)
            {
                break;
            }
            n += r;
        }
        kind = Detect(head.AsSpan(0, n));
        Stream whole;
        if (source.CanSeek)
        {
            source.Seek(-n, SeekOrigin.Current);
            whole = source;
        }
        else
        {
            whole = new PrefixedStream(head[..n], source, leaveOpen);
            leaveOpen = false;
        }
        return kind switch
        {
            Compression.Gzip => new GZipStream(whole, CompressionMode.Decompress, leaveOpen),
            Compression.Zstd => new ZstdSharp.DecompressionStream(whole, leaveOpen: leaveOpen),
            Compression.Xz => new SharpCompress.Compressors.Xz.XZStream(whole),
            _ => whole,
        };
    }

    /// <summary>True for the failures a damaged, truncated or foreign archive causes (as opposed to a failing disk).</summary>
    public static bool IsDamage(Exception e) =>
        e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException
            or ZstdSharp.ZstdException
        || e.GetType().Namespace?.StartsWith("SharpCompress", StringComparison.Ordinal) == true
        || (e is IOException && e.GetType() == typeof(IOException) && e.HResult is not (> 0 and < 4096) && e.InnerException is null
            && e.Message.Contains("stream", StringComparison.OrdinalIgnoreCase));

    public static PscException Damaged(string path, string what, Exception? inner = null) =>
        new("ImageArchiveInvalid", ErrorKind.InvalidData, $"{path} is not a usable archive: {what.TrimEnd('.')}. Nothing was imported.", path, inner: inner);

    /// <summary>
    /// Applies every entry of a tar stream under the writer's root; with <paramref name="layer"/>, <c>.wh.</c> entries
    /// are OCI whiteouts. Returns the number of entries. Refuses character and block devices.
    /// </summary>
    public static long Apply(Stream tar, RootFsWriter writer, string source, bool layer, ImportMeter meter, CancellationToken cancel)
    {
        long count = 0;
        using var reader = new TarReader(tar, leaveOpen: true);
        if (layer)
        {
            writer.LayerPaths = new HashSet<string>(StringComparer.Ordinal);
        }
        try
        {
            TarEntry? entry;
            while ((entry = Next(reader, source)) is not null)
            {
                cancel.ThrowIfCancellationRequested();
                count++;
                ApplyOne(entry, writer, layer, meter, cancel, source);
                meter.File();
            }
        }
        finally
        {
            writer.LayerPaths = null;
        }
        if (count == 0)
        {
            throw Damaged(source, "it holds no tar entries");
        }
        writer.Finish();
        return count;
    }

    private static TarEntry? Next(TarReader reader, string source)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (IsDamage(e))
        {
            throw Damaged(source, e.Message, e);
        }
    }

    private static void ApplyOne(TarEntry entry, RootFsWriter writer, bool layer, ImportMeter meter, CancellationToken cancel, string source)
    {
        string name = entry.Name;
        if (layer)
        {
            string[] parts = writer.Split(name);
            string leaf = parts.Length == 0 ? "" : parts[^1];
            if (leaf == ".wh..wh..opq")
            {
                writer.MakeOpaque(parts[..^1], name);
                return;
            }
            if (leaf.StartsWith(".wh.", StringComparison.Ordinal))
            {
                string hidden = leaf[4..];
                if (hidden.Length == 0 || hidden == "." || hidden == "..")
                {
                    throw writer.Unsafe(name, "a whiteout of no name");
                }
                writer.WhiteOut([.. parts[..^1], hidden], name);
                return;
            }
        }
        TreeEntryKind kind = entry.EntryType switch
        {
            TarEntryType.Directory => TreeEntryKind.Directory,
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => TreeEntryKind.File,
            TarEntryType.SymbolicLink => TreeEntryKind.Symlink,
            TarEntryType.HardLink => TreeEntryKind.HardLink,
            TarEntryType.Fifo => TreeEntryKind.Fifo,
            TarEntryType.CharacterDevice or TarEntryType.BlockDevice =>
                throw writer.Unsafe(name, $"it is a device ({(entry.EntryType == TarEntryType.CharacterDevice ? "character" : "block")}); images hold no devices, containers get theirs at start"),
            var other => throw writer.Unsafe(name, $"its type ({other}) is not a file, folder, link or fifo"),
        };
        var e = new TreeEntry(name, kind, (int)entry.Mode, entry.Uid, entry.Gid, entry.ModificationTime,
            kind is TreeEntryKind.Symlink or TreeEntryKind.HardLink ? entry.LinkName : null);
        try
        {
            writer.Write(e, kind == TreeEntryKind.File ? entry.DataStream : null, meter.Add, cancel);
        }
        catch (Exception x) when (IsDamage(x))
        {
            throw Damaged(source, $"the entry '{name}' is cut short or damaged ({x.Message})", x);
        }
    }
}
