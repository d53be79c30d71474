using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Entries made and removed whole: staged under a hidden name and renamed into place, renamed away and deleted; the hidden ones a killed session left.</summary>
public sealed partial class Depot
{
    /// <summary>
    /// An empty file made at creation that psc-init fills and renames to state.json when the container starts, so the
    /// start makes no new file on the depot's file system (it falls back to a temporary file when this is missing).
    /// </summary>
    public const string StateNext = "state.json.new";

    /// <summary>Creates an empty file in a directory being staged (it must not exist yet).</summary>
    public void CreateEmpty(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        try
        {
            using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotWrite", path, e);
        }
    }

    /// <summary>Creates an empty file in the container's directory unless it exists.</summary>
    public void Touch(string name, string file)
    {
        string path = FileOf(name, file);
        try
        {
            if (File.Exists(path))
            {
                return; // without opening it: whatever it is, psc-init opens it
            }
            using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotWrite", path, e);
        }
    }

    private const string StagingPrefix = ".new.";

    /// <summary>
    /// Makes a hidden directory for a new container's entry (".new.&lt;name&gt;.&lt;pid&gt;"); the name must be free. Call
    /// under <see cref="Lock"/>; <see cref="Commit"/> renames it into place, <see cref="Discard"/> drops it. Entries
    /// left by a session that died while creating are removed here first.
    /// </summary>
    public string CreateStaging(string name)
    {
        EnsureRoot();
        string dir = PathOf(name);
        if (Directory.Exists(dir) || File.Exists(dir))
        {
            throw new PscException("ContainerExists", ErrorKind.ResourceExists, $"A container named '{name}' already exists (depot entry {dir}).", name);
        }
        string staging = Path.Combine(Root, $"{StagingPrefix}{name}.{System.Environment.ProcessId}");
        try
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
            Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotCreate", staging, e);
        }
        return staging;
    }

    /// <summary>Renames a staged entry to its container name: it appears complete or not at all.</summary>
    public void Commit(string staging, string name)
    {
        try
        {
            Directory.Move(staging, PathOf(name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotCreate", PathOf(name), e);
        }
    }

    public void Discard(string staging)
    {
        try
        {
            Directory.Delete(staging, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>
    /// Hidden entries whose process is gone (it was killed while creating or deleting): the directory, the container
    /// name, and whether it was being created (".new.") rather than deleted (".del.").
    /// </summary>
    public IReadOnlyList<(string Dir, string Name, bool Creating)> StaleEntries()
    {
        var stale = new List<(string, string, bool)>();
        if (!Directory.Exists(Root))
        {
            return stale;
        }
        foreach (string dir in Directory.EnumerateDirectories(Root, ".*.*.*"))
        {
            // ".new.<name>.<pid>" or ".del.<name>.<pid>": the pid follows the last dot.
            string leaf = Path.GetFileName(dir);
            bool creating = leaf.StartsWith(StagingPrefix, StringComparison.Ordinal);
            if (!creating && !leaf.StartsWith(".del.", StringComparison.Ordinal))
            {
                continue;
            }
            string rest = leaf[5..];
            int dot = rest.LastIndexOf('.');
            if (dot > 0 && int.TryParse(rest[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != System.Environment.ProcessId && !IsLive(pid))
            {
                stale.Add((dir, rest[..dot], creating));
            }
        }
        return stale;
    }

    /// <summary>Whether a pid names a process that still runs: a zombie (killed, not yet reaped) makes no more entries.</summary>
    private static bool IsLive(int pid)
    {
        try
        {
            string stat = File.ReadAllText("/proc/" + pid + "/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes the container's directory and everything in it: first renamed to a hidden name (".del.&lt;name&gt;.&lt;pid&gt;"),
    /// so readers see the container whole or not at all, then deleted.
    /// </summary>
    public void Delete(string name)
    {
        string dir = PathOf(name);
        string doomed = Path.Combine(Root, $".del.{name}.{System.Environment.ProcessId}");
        try
        {
            if (Directory.Exists(doomed))
            {
                Directory.Delete(doomed, recursive: true);
            }
            Directory.Move(dir, doomed);
            Directory.Delete(doomed, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotRemove", dir, e);
        }
    }
}
