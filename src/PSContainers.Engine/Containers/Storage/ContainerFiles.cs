using System.Globalization;
using PSContainers.Native;
using PSContainers.Processes;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// Copy-ContainerItem: files in and out of a container without entering it. The container's root is a descriptor:
/// /proc/&lt;init&gt;/root while it runs or is paused (its own view, with its mounts; checked to be its init before and
/// after the open, and held for the whole copy so a reused pid cannot redirect it), else the root folder it was made
/// with (a -RootPath folder, an image container's overlay). Every container path is resolved in that root by the
/// kernel (<see cref="RootedPath"/>), and written relative to descriptors (<see cref="TreeCopier"/>).
/// </summary>
internal static class ContainerFiles
{
    public sealed record Options(bool Recurse, bool Force, string? User, Func<string, string, bool>? Confirm, Action<string, PscException>? OnError,
        Action<CopyProgress>? Progress, Action<string>? Log, CancellationToken Cancel);

    /// <summary>Host paths into the container at <paramref name="destination"/>; what was written, one per source.</summary>
    public static List<ContainerItem> CopyIn(ContainerManager m, string name, IReadOnlyList<string> hostPaths, string destination, Options o)
    {
        using RootedPath root = OpenRoot(m, name, out string? uidMap, out string? gidMap, out ContainerSpec spec, out var init);
        CopyJournal.Sweep(m, name, spec);
        using CopyJournal journal = CopyJournal.Open(m, name, init);
        var (uid, gid, _) = o.User is null ? (0, 0, Array.Empty<int>()) : Users.Resolve(o.User, file => Users.ColonLines(ReadIn(root, "etc/" + file)), $"container '{name}':/etc");
        int hostUid = MapId(uidMap, uid, "uid", o.User ?? "0", name);
        int hostGid = MapId(gidMap, gid, "gid", o.User ?? "0", name);
        using RootedPath host = RootedPath.Host();
        var copier = new TreeCopier(host, root, hostUid, hostGid, o.Recurse, o.Force, o.Progress, o.Log, o.Cancel, p => journal.Record(inContainer: true, p));
        var written = new List<ContainerItem>();
        Run(copier, root, hostPaths, destination, hostUid, hostGid, o, (folder, itemName, display) =>
        {
            if (Files.Lstat(folder, itemName, out Tmds.Linux.stat st) == 0)
            {
                string? target = S_ISLNK(st.st_mode) ? Files.ReadLink(folder, itemName, out _) : null;
                written.Add(new ContainerItem(name, display, S_ISDIR(st.st_mode) ? "Directory" : S_ISLNK(st.st_mode) ? "SymbolicLink" : "File",
                    st.st_size, ModeString((uint)st.st_mode), DateTime.UnixEpoch.AddSeconds(st.st_mtim.tv_sec).AddTicks(st.st_mtim.tv_nsec / 100).ToLocalTime(), target));
            }
        });
        return written;
    }

    /// <summary>Container paths out to <paramref name="destination"/> on the host; the host paths written, one per source.</summary>
    public static List<string> CopyOut(ContainerManager m, string name, IReadOnlyList<string> containerPaths, string destination, Options o)
    {
        using RootedPath root = OpenRoot(m, name, out _, out _, out ContainerSpec spec, out var init);
        CopyJournal.Sweep(m, name, spec);
        using CopyJournal journal = CopyJournal.Open(m, name, init);
        using RootedPath host = RootedPath.Host();
        var copier = new TreeCopier(root, host, -1, -1, o.Recurse, o.Force, o.Progress, o.Log, o.Cancel, p => journal.Record(inContainer: false, p));
        var written = new List<string>();
        Run(copier, host, containerPaths, destination, -1, -1, o, (_, _, display) => written.Add(display));
        return written;
    }

    private static void Run(TreeCopier copier, RootedPath to, IReadOnlyList<string> paths, string destination, int uid, int gid, Options o, Action<int, string, string> done)
    {
        var sources = new List<TreeCopier.Source>();
        try
        {
            foreach (string path in paths)
            {
                try
                {
                    var s = copier.OpenSource(path);
                    if (o.Confirm is null || o.Confirm(path, destination))
                    {
                        sources.Add(s);
                    }
                    else
                    {
                        s.Dispose();
                    }
                }
                catch (PscException e) when (o.OnError is not null)
                {
                    o.OnError(path, e);
                }
            }
            if (sources.Count == 0)
            {
                return;
            }
            copier.CountLater(sources);
            string[] names = RootedPath.Names(destination);
            int folder = to.OpenFolder(names, names.Length);
            bool intoFolder = folder >= 0 || paths.Count > 1;
            if (folder < 0 && -folder is not (Errno.ENOENT or Errno.ENOTDIR))
            {
                throw PscException.FromErrno("CopyDestination", -folder, $"{destination} in {to.Describe}");
            }
            if (folder < 0)
            {
                if (!intoFolder && names[^1] == "..")
                {
                    throw PscException.Invalid("CopyDestinationInvalid", $"'{destination}' ends in '..': name the folder or file to write.", destination);
                }
                folder = to.MakeFolders(names, intoFolder ? names.Length : names.Length - 1, uid, gid, destination);
            }
            try
            {
                string folderPath = "/" + string.Join('/', intoFolder ? names : names[..^1]);
                foreach (TreeCopier.Source s in sources)
                {
                    string itemName = intoFolder ? s.Name : names[^1];
                    string display = folderPath.TrimEnd('/') + "/" + itemName;
                    try
                    {
                        copier.Copy(s, folder, itemName, display);
                        done(folder, itemName, display);
                    }
                    catch (PscException e) when (o.OnError is not null)
                    {
                        o.OnError(s.Display, e);
                    }
                }
            }
            finally
            {
                close(folder);
            }
        }
        finally
        {
            foreach (var s in sources)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>
    /// The container's root as a descriptor, and its uid and gid maps (null: ids are the host's). Running or Paused:
    /// /proc/&lt;init&gt;/root; else the root folder; a stopped container without one has nothing to copy to or from.
    /// </summary>
    private static RootedPath OpenRoot(ContainerManager m, string name, out string? uidMap, out string? gidMap, out ContainerSpec spec, out (int, ulong)? init)
    {
        spec = StateReader.ReadSpec(m, name);
        init = null;
        Container c = StateReader.Describe(m, name, spec, out ContainerRuntimeState? state, out _);
        string describe = $"container '{name}'";
        if (c.State is ContainerState.Running or ContainerState.Paused && state is not null)
        {
            RootedPath root = RootedPath.Container($"/proc/{state.InitPid}/root", describe);
            uidMap = Sys.ReadFile($"/proc/{state.InitPid}/uid_map", out _);
            gidMap = Sys.ReadFile($"/proc/{state.InitPid}/gid_map", out _);
            // Alive after the open with the same start time: the descriptor is this init's root, not a reused pid's.
            if (PidHandle.IsAlive(state.InitPid, state.InitStartTicks) && uidMap is not null && gidMap is not null)
            {
                init = (state.InitPid, state.InitStartTicks);
                return root;
            }
            root.Dispose(); // it ended meanwhile: as a stopped container
        }
        if (spec.RootPath is null)
        {
            throw new PscException("ContainerNotRunning", ErrorKind.InvalidOperation,
                $"Container '{name}' is {c.State} and has no root folder of its own (no -RootPath or -Image): start it to copy files in or out.", name);
        }
        if (spec.Isolation.HasFlag(ContainerIsolation.User))
        {
            // As the engine maps a user namespace when it starts one (Launcher.Config).
            int euid = Sys.EffectiveUid;
            uidMap = euid == 0 ? "0 0 4294967295" : $"0 {euid} 1";
            gidMap = euid == 0 ? "0 0 4294967295" : $"0 {(int)(uint)getegid()} 1";
        }
        else
        {
            uidMap = gidMap = null;
        }
        return RootedPath.Container(spec.RootPath, describe);
    }

    /// <summary>A container's id as the host sees it, through a uid_map or gid_map ("inside outside count" lines).</summary>
    internal static int MapId(string? map, int id, string kind, string user, string container)
    {
        if (map is null)
        {
            return id;
        }
        foreach (string line in map.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3 && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out long inside)
                && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long outside)
                && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long count)
                && id >= inside && id < inside + count)
            {
                return (int)(uint)(outside + (id - inside));
            }
        }
        throw PscException.Invalid("CopyUserNotMapped", $"The {kind} {id} of '{user}' is not mapped in the user namespace of container '{container}'.", user);
    }

    /// <summary>A mode as ls shows it: "drwxr-x---", "-rw-r--r--", "lrwxrwxrwx" (with s/t for the special bits).</summary>
    internal static string ModeString(uint mode)
    {
        var c = new char[10];
        c[0] = (mode & 0xF000) switch { 0x4000 => 'd', 0xA000 => 'l', _ => '-' };
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++)
        {
            c[i + 1] = (mode & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        }
        foreach (var (bit, at, set) in new[] { (0x800u, 3, 's'), (0x400u, 6, 's'), (0x200u, 9, 't') })
        {
            if ((mode & bit) != 0)
            {
                c[at] = c[at] == 'x' ? set : char.ToUpperInvariant(set);
            }
        }
        return new string(c);
    }

    private static string? ReadIn(RootedPath root, string relative)
    {
        int fd = root.OpenIn(relative, O_RDONLY);
        if (fd < 0)
        {
            return null;
        }
        try
        {
            return Sys.ReadFd(fd, out _);
        }
        finally
        {
            close(fd);
        }
    }
}
