using PSContainers.Native;

namespace PSContainers.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// Copies host files, folders (with <paramref name="recurse"/>) and links into a container at
    /// <paramref name="destination"/> (a container path): an existing folder receives each item inside it, else the one
    /// item is written under that name (several items: a folder of that name is made). Missing folders of the
    /// destination are made, owned by <paramref name="user"/> (resolved in the container; default its root, mapped
    /// through its user namespace), and so is everything written. <paramref name="confirm"/> (source, destination)
    /// may decline an item; a failed item goes to <paramref name="onError"/> (null: thrown) and the others go on;
    /// <paramref name="progress"/> gets bytes and items done of the totals (counted once the copy has run a second;
    /// until then the totals are what is done); <paramref name="cancel"/> is checked
    /// between chunks and items, and the item being written is removed. One result per item written.
    /// </summary>
    public IReadOnlyList<ContainerItem> CopyIn(string name, IReadOnlyList<string> hostPaths, string destination, bool recurse = false, bool force = false,
        string? user = null, Func<string, string, bool>? confirm = null, Action<string, PscException>? onError = null,
        Action<CopyProgress>? progress = null, CancellationToken cancel = default) =>
        ContainerFiles.CopyIn(this, name, hostPaths, destination, new ContainerFiles.Options(recurse, force, user, confirm, onError, progress, Log, cancel));

    /// <summary>
    /// Copies container paths out to <paramref name="destination"/> on the host, as <see cref="CopyIn"/> does the other
    /// way: a container link is written as a link (never followed). Returns the host paths written.
    /// </summary>
    public IReadOnlyList<string> CopyOut(string name, IReadOnlyList<string> containerPaths, string destination, bool recurse = false, bool force = false,
        Func<string, string, bool>? confirm = null, Action<string, PscException>? onError = null,
        Action<CopyProgress>? progress = null, CancellationToken cancel = default) =>
        ContainerFiles.CopyOut(this, name, containerPaths, destination, new ContainerFiles.Options(recurse, force, null, confirm, onError, progress, Log, cancel));
}
