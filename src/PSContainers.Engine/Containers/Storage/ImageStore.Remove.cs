using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Removing an image: renamed into staging first (so a half-deleted image is never listed), then deleted.</summary>
public sealed partial class ImageStore
{
    /// <summary>
    /// The image of that name, else ImageNotFound. <see cref="Find"/> without the null.
    /// </summary>
    public ContainerImage Get(string name) =>
        Find(name) ?? throw new PscException("ImageNotFound", ErrorKind.ObjectNotFound, $"No image is named '{name}' (store {Root}).", name);

    /// <summary>
    /// Removes an image from the store. Whether containers use it is the caller's check
    /// (<see cref="ContainerManager.RemoveImage"/> does it under the depot's lock).
    /// </summary>
    public void Remove(string name)
    {
        string dir = ImagePath(name);
        if (!ContainerName.IsValid(name) || !Directory.Exists(dir))
        {
            throw new PscException("ImageNotFound", ErrorKind.ObjectNotFound, $"No image is named '{name}' (store {Root}).", name);
        }
        string gone;
        int fd;
        using (LockStore())
        {
            if (!Directory.Exists(dir))
            {
                throw new PscException("ImageNotFound", ErrorKind.ObjectNotFound, $"No image is named '{name}' (store {Root}).", name);
            }
            Directory.CreateDirectory(StagingPath);
            // Locked before the rename, so the lock travels with it and no sweep takes it meanwhile.
            fd = Sys.LockDirectory(dir);
            if (fd < 0)
            {
                throw PscException.FromErrno("ImageRemove", -fd, dir);
            }
            gone = Path.Combine(StagingPath, RemovePrefix + Guid.NewGuid().ToString("N")[..12]);
            try
            {
                Directory.Move(dir, gone);
            }
            catch
            {
                Sys.Close(fd);
                throw;
            }
        }
        try
        {
            DeleteTree(gone);
        }
        finally
        {
            Sys.Close(fd);
        }
    }
}
