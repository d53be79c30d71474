using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// OCI image layouts (what <c>skopeo copy ... oci:</c> writes) as a folder, or as a tar of one (an OCI archive, what
/// <c>podman save --format oci-archive</c> writes): <c>oci-layout</c>, <c>index.json</c> → a manifest (a nested index
/// followed; of several, the one for linux and this machine's architecture) → its layers in order, each a tar (plain,
/// gzip or zstd) applied with whiteouts. Every blob is checked against its sha256 digest. A plain OCI archive is read
/// in place (its blobs are found by their offsets in it); a compressed one is unpacked to staging first.
/// </summary>
internal static partial class OciLayout
{
    /// <summary>Where a layout's files come from: a folder, or the entries of a plain tar.</summary>
    internal interface ISource
    {
        Stream? Open(string relative);
    }

    internal sealed class FolderSource(string dir) : ISource
    {
        public Stream? Open(string relative)
        {
            string path = Path.Combine(dir, relative);
            return File.Exists(path) ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16) : null;
        }
    }

    /// <summary>A plain tar read in place: one pass over its headers finds where each file's bytes are.</summary>
    internal sealed class TarSource : ISource
    {
        private readonly string _path;
        private readonly Dictionary<string, (long Offset, long Length)> _files = new(StringComparer.Ordinal);

        private TarSource(string path) => _path = path;

        /// <summary>The archive's layout, or null when the tar is not an OCI layout (no oci-layout and index.json at its top).</summary>
        public static TarSource? TryOpen(string path)
        {
            var source = new TarSource(path);
            // Read as a stream that cannot seek, whose count of bytes read is where each file's bytes start.
            using var file = new CountingStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));
            using var reader = new TarReader(file, leaveOpen: true);
            try
            {
                TarEntry? e;
                while ((e = reader.GetNextEntry(copyData: false)) is not null)
                {
                    if (e.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                    {
                        source._files[Normal(e.Name)] = (file.Count, e.Length);
                    }
                }
            }
            catch (Exception e) when (ImageArchive.IsDamage(e))
            {
                return null; // not a tar we can index: the rootfs path reports what is wrong with it
            }
            return source._files.ContainsKey("oci-layout") && source._files.ContainsKey("index.json") ? source : null;
        }

        private static string Normal(string name) => string.Join('/', name.Split('/').Where(c => c.Length > 0 && c != "."));

        public Stream? Open(string relative)
        {
            if (!_files.TryGetValue(relative, out var at))
            {
                return null;
            }
            var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            file.Position = at.Offset;
            return new BoundedStream(file, at.Length);
        }
    }

    /// <summary>True when a folder is an OCI layout (what an unpacked OCI archive is).</summary>
    public static bool IsLayout(string dir) => File.Exists(Path.Combine(dir, "oci-layout")) && File.Exists(Path.Combine(dir, "index.json"));

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Sha256Digest();

    private static string Arch => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        var a => a.ToString().ToLowerInvariant(),
    };

    /// <summary>Applies the layout's image under the writer's root; returns the number of layers applied.</summary>
    public static int Apply(ISource src, RootFsWriter writer, string source, IProgress<ImageImportProgress>? progress, CancellationToken cancel)
    {
        using (var layoutFile = src.Open("oci-layout") ?? throw ImageArchive.Damaged(source, "the OCI layout has no oci-layout file"))
        {
            var layout = Parse(layoutFile, source, "oci-layout");
            if (!layout.TryGetProperty("imageLayoutVersion", out _))
            {
                throw ImageArchive.Damaged(source, "oci-layout has no imageLayoutVersion");
            }
        }
        JsonElement index;
        using (var indexFile = src.Open("index.json") ?? throw ImageArchive.Damaged(source, "the OCI layout has no index.json"))
        {
            index = Parse(indexFile, source, "index.json");
        }
        JsonElement manifest = SelectManifest(src, index, source, 0);
        if (!manifest.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw ImageArchive.Damaged(source, "its manifest has no layers");
        }
        var descriptors = layers.EnumerateArray().ToList();
        long total = descriptors.Sum(d => d.TryGetProperty("size", out var s) && s.TryGetInt64(out long n) ? n : 0);
        long read = 0;
        var meter = new ImportMeter(progress, total) { BytesFrom = () => read };
        foreach (JsonElement layer in descriptors)
        {
            cancel.ThrowIfCancellationRequested();
            string mediaType = layer.TryGetProperty("mediaType", out var mt) ? mt.GetString() ?? "" : "";
            if (!mediaType.Contains("tar", StringComparison.Ordinal) || mediaType.Contains("encrypted", StringComparison.Ordinal))
            {
                throw ImageArchive.Damaged(source, $"a layer of media type '{mediaType}' is not a tar (plain, gzip or zstd)");
            }
            string digest = Digest(layer, source);
            using var blob = OpenBlob(src, digest, source);
            using var hashing = new HashingStream(blob, n => read += n);
            using var buffered = new BufferedStream(hashing, 1 << 16);
            Stream tar;
            try
            {
                tar = ImageArchive.Decompress(buffered, leaveOpen: true);
            }
            catch (Exception e) when (ImageArchive.IsDamage(e))
            {
                throw ImageArchive.Damaged(source, $"the layer {digest} is damaged ({e.Message})", e);
            }
            using (tar)
            {
                ImageArchive.Apply(tar, writer, $"{source} (layer {digest})", layer: true, meter, cancel);
                try
                {
                    tar.CopyTo(Stream.Null); // the rest (the tar's end blocks), so the whole blob is hashed
                    buffered.CopyTo(Stream.Null);
                }
                catch (Exception e) when (ImageArchive.IsDamage(e))
                {
                    throw ImageArchive.Damaged(source, $"the layer {digest} is damaged ({e.Message})", e);
                }
            }
            if (hashing.Hex() != digest[7..])
            {
                throw ImageArchive.Damaged(source, $"the layer {digest} does not match its digest");
            }
        }
        meter.Complete();
        return descriptors.Count;
    }

    private static JsonElement SelectManifest(ISource src, JsonElement index, string source, int depth)
    {
        if (depth > 4)
        {
            throw ImageArchive.Damaged(source, "its indexes nest too deep");
        }
        if (!index.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw ImageArchive.Damaged(source, "its index lists no manifests");
        }
        var all = list.EnumerateArray().ToList();
        var forUs = all.Where(d => d.TryGetProperty("platform", out var p)
            && p.TryGetProperty("os", out var os) && os.GetString() == "linux"
            && p.TryGetProperty("architecture", out var a) && a.GetString() == Arch).ToList();
        var unspecified = all.Where(d => !d.TryGetProperty("platform", out _)).ToList();
        JsonElement chosen = forUs.Count > 0 ? forUs[0]
            : all.Count == 1 ? all[0]
            : unspecified.Count == 1 ? unspecified[0]
            : throw ImageArchive.Damaged(source, $"none of its {all.Count} manifests is for linux/{Arch}");
        JsonElement doc;
        string digest = Digest(chosen, source);
        using (var blob = OpenBlob(src, digest, source))
        using (var hashing = new HashingStream(blob, null))
        {
            doc = Parse(hashing, source, digest);
            if (hashing.Hex() != digest[7..])
            {
                throw ImageArchive.Damaged(source, $"the blob {digest} does not match its digest");
            }
        }
        string mediaType = chosen.TryGetProperty("mediaType", out var mt) ? mt.GetString() ?? "" : "";
        bool isIndex = mediaType.Contains("index", StringComparison.Ordinal) || mediaType.Contains("manifest.list", StringComparison.Ordinal)
            || (doc.TryGetProperty("manifests", out _) && !doc.TryGetProperty("layers", out _));
        return isIndex ? SelectManifest(src, doc, source, depth + 1) : doc;
    }

    private static string Digest(JsonElement descriptor, string source)
    {
        string digest = descriptor.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        if (!Sha256Digest().IsMatch(digest))
        {
            throw ImageArchive.Damaged(source, $"'{digest}' is not a sha256 digest");
        }
        return digest;
    }

    private static Stream OpenBlob(ISource src, string digest, string source) =>
        src.Open("blobs/sha256/" + digest[7..]) ?? throw ImageArchive.Damaged(source, $"the blob {digest} is missing");

    private static JsonElement Parse(Stream s, string source, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(s);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw ImageArchive.Damaged(source, $"{what} is not valid JSON ({e.Message})", e);
        }
    }
}
