using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Images: import, list and remove, with the one check that needs the depot (no container uses an image removed).</summary>
public sealed partial class ContainerManager
{
    /// <summary>Imports an image into <see cref="Store"/> (see <see cref="ImageStore.Import"/>).</summary>
    public ContainerImage ImportImage(string path, string name, IProgress<ImageImportProgress>? progress = null, CancellationToken cancel = default) =>
        Store.Import(path, name, progress, cancel);

    /// <summary>Every complete image; first removes what killed imports and removals left in staging.</summary>
    public IReadOnlyList<ContainerImage> GetImages()
    {
        TryQuietly(Store.Sweep);
        return Store.List();
    }

    /// <summary>
    /// Removes an image unless a container in the depot uses it (ImageInUse, naming them). The check and the removal
    /// happen under the depot's lock, which creations hold too: a creation from the image and its removal cannot both
    /// succeed.
    /// </summary>
    public void RemoveImage(string name)
    {
        Store.Get(name);
        using (Depot.Lock())
        {
            var users = Specs().Where(s => string.Equals(s.Image, name, StringComparison.Ordinal)).Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
            if (users.Count > 0)
            {
                throw new PscException("ImageInUse", ErrorKind.ResourceBusy,
                    $"The image '{name}' is used by the container{(users.Count == 1 ? "" : "s")} {string.Join(", ", users.Select(u => $"'{u}'"))}: remove {(users.Count == 1 ? "it" : "them")} first.", name);
            }
            Store.Remove(name);
        }
    }
}
