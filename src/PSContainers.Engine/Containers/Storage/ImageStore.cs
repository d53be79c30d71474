using System.Text.Json;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>An image in the store: a read-only root filesystem a container's copy-on-write root is made from.</summary>
public sealed record ContainerImage
{
    public string Name { get; init; } = "";

    /// <summary>Bytes the image's files take (apparent sizes of its regular files).</summary>
    public long Size { get; init; }

    public DateTime Created { get; init; }

    /// <summary>What it was imported from, as given (full path).</summary>
    public string Source { get; init; } = "";

    /// <summary>How many layers were applied (1 for a folder or a plain archive).</summary>
    public int Layers { get; init; } = 1;

    /// <summary>The image's root filesystem in the store (read-only by convention: containers see it through overlay).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string RootFsPath { get; init; } = "";
}

/// <summary>
/// The image store: $PSCONTAINERS_STORE, else /var/lib/pscontainers for root, else $XDG_DATA_HOME/pscontainers
/// (~/.local/share/pscontainers). Layout:
/// <code>
/// images/&lt;name&gt;/rootfs/        the image's files
/// images/&lt;name&gt;/image.json     ContainerImage (written last: an image without it is half-made)
/// layers/&lt;container name&gt;/     a container's writable layer (upper, work, merged; disk.img with a disk limit)
/// staging/                         imports and layers in progress (swept when their session is gone)
/// </code>
/// </summary>
public sealed partial class ImageStore
{
    public const string Variable = "PSCONTAINERS_STORE";

    public ImageStore(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public static ImageStore FromEnvironment()
    {
        string? env = System.Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return new ImageStore(env);
        }
        if (Sys.EffectiveUid == 0)
        {
            return new ImageStore("/var/lib/pscontainers");
        }
        string? data = System.Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(data))
        {
            data = Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".local", "share");
        }
        return new ImageStore(Path.Combine(data, "pscontainers"));
    }

    public string Root { get; }

    public string ImagesPath => Path.Combine(Root, "images");

    public string LayersPath => Path.Combine(Root, "layers");

    public string StagingPath => Path.Combine(Root, "staging");

    public string ImagePath(string name) => Path.Combine(ImagesPath, name);

    public string LayerPath(string containerName) => Path.Combine(LayersPath, containerName);

    /// <summary>The image of that name, or null when the store has no complete image by it.</summary>
    public ContainerImage? Find(string name)
    {
        string dir = ImagePath(name);
        string meta = Path.Combine(dir, "image.json");
        if (!File.Exists(meta))
        {
            return null;
        }
        try
        {
            var image = JsonSerializer.Deserialize<ContainerImage>(File.ReadAllText(meta), Depot.Json);
            return image is null ? null : image with { Name = name, RootFsPath = Path.Combine(dir, "rootfs") };
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every complete image, by name.</summary>
    public IReadOnlyList<ContainerImage> List()
    {
        if (!Directory.Exists(ImagesPath))
        {
            return Array.Empty<ContainerImage>();
        }
        return Directory.EnumerateDirectories(ImagesPath).Select(d => Find(Path.GetFileName(d)))
            .OfType<ContainerImage>().OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
    }
}
