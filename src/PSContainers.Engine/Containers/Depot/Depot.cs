using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// The depot: one directory per container, the source of truth (as in Garden's RunDMC). spec.json is written
/// once at creation, state.json at start, exit by psc-init when the main process ends, events.log is appended by
/// both. Every file is written to a temporary name and renamed, so a reader never sees half a file; creation and
/// removal hold one lock, so two sessions racing on a name get one winner.
/// </summary>
public sealed class Depot
{
    public const string Variable = "PSCONTAINERS_DEPOT";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public Depot(string root)
    {
        Root = Path.GetFullPath(root);
    }

    /// <summary>$PSCONTAINERS_DEPOT, else /run/pscontainers for root, else $XDG_RUNTIME_DIR/pscontainers.</summary>
    public static Depot FromEnvironment()
    {
        string? env = System.Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return new Depot(env);
        }
        if (Sys.EffectiveUid == 0)
        {
            return new Depot("/run/pscontainers");
        }
        string? runtime = System.Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return new Depot(Path.Combine(string.IsNullOrEmpty(runtime) ? Path.Combine(Path.GetTempPath(), "pscontainers-" + Sys.EffectiveUid) : runtime, "pscontainers"));
    }

    public string Root { get; }

    public string PathOf(string name) => Path.Combine(Root, name);

    public string FileOf(string name, string file) => Path.Combine(Root, name, file);

    private void EnsureRoot()
    {
        try
        {
            Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("DepotCreate", Root, e);
        }
    }

    /// <summary>Holds the depot's lock (flock on .lock) until disposed; waits up to <paramref name="timeout"/>.</summary>
    public IDisposable Lock(TimeSpan? timeout = null)
    {
        EnsureRoot();
        return Hold(Path.Combine(Root, ".lock"), null, timeout);
    }

    /// <summary>
    /// Holds one container's lock until disposed: start, remove and property changes of one container exclude each
    /// other while different containers go on in parallel. Order: the depot's lock first, then this. The lock is a
    /// flock on the container's directory itself, not on a file in it: no file is created for it (on a disk-backed
    /// /run every new inode costs 0.1-0.7 ms, see docs/performance.md), and it ends with the directory.
    /// </summary>
    public IDisposable LockContainer(string name, TimeSpan? timeout = null)
    {
        string dir = PathOf(name);
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        int delay = 1;
        while (true)
        {
            int fd = Sys.LockDirectory(dir);
            if (fd >= 0)
            {
                return new DirectoryLock(fd);
            }
            int err = -fd;
            if (err is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP)
            {
                throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{name}' (depot {Root}).", name);
            }
            // Only a lock held by someone else is worth waiting for; any other errno (EACCES, EMFILE) is final.
            if (err != Errno.EAGAIN || sw.Elapsed >= limit)
            {
                string id = "DepotLock," + Errno.Name(err);
                throw new PscException(id, Errno.Kind(err), $"DepotLock {dir} failed: {Errno.Describe(err)}", dir, err);
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
    }

    /// <summary>A flock held through an open directory; closing the descriptor releases it.</summary>
    private sealed class DirectoryLock : IDisposable
    {
        private int _fd;

        public DirectoryLock(int fd) => _fd = fd;

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                Sys.Close(fd);
            }
        }
    }

    private static FileStream Hold(string path, string? container, TimeSpan? timeout)
    {
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        int delay = 1;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (DirectoryNotFoundException) when (container is not null)
            {
                throw new PscException("ContainerNotFound", ErrorKind.ObjectNotFound, $"No container is named '{container}' (depot {Path.GetDirectoryName(Path.GetDirectoryName(path))}).", container);
            }
            // Only a lock held by someone else is worth waiting for; an errno (EROFS, ENOSPC, EACCES) is final.
            catch (IOException e) when (sw.Elapsed < limit && e is not DirectoryNotFoundException && (e.HResult == Errno.EAGAIN || e.HResult is not (> 0 and < 4096)))
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 20);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure("DepotLock", path, e);
            }
        }
    }

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
                && pid != System.Environment.ProcessId && !Directory.Exists("/proc/" + pid))
            {
                stale.Add((dir, rest[..dot], creating));
            }
        }
        return stale;
    }

    public bool Exists(string name) => Directory.Exists(PathOf(name));

    /// <summary>The names of every container in the depot.</summary>
    public IReadOnlyList<string> Names()
    {
        if (!Directory.Exists(Root))
        {
            return Array.Empty<string>();
        }
        return Directory.GetDirectories(Root).Select(Path.GetFileName).Where(n => ContainerName.IsValid(n)).Select(n => n!)
            .OrderBy(n => n, StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Writes a file atomically: a temporary file in the same directory, renamed over the target, so a reader sees
    /// all of it or nothing. Not fsync'ed: the depot (in /run) describes processes of this boot only, and an fsync on a
    /// disk-backed /run costs half a millisecond per write.
    /// </summary>
    public void WriteAtomic(string name, string file, string content) => WriteFile(FileOf(name, file), content);

    /// <summary>Writes <paramref name="target"/> atomically (temporary file, then rename).</summary>
    public void WriteFile(string target, string content)
    {
        string temp = target + ".tmp." + System.Environment.ProcessId + "." + Environment.CurrentManagedThreadId;
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var w = new StreamWriter(fs))
            {
                w.Write(content);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
            throw Failure("DepotWrite", target, e);
        }
    }

    public void WriteJson<T>(string name, string file, T value) => WriteAtomic(name, file, JsonSerializer.Serialize(value, Json));

    /// <summary>Reads a JSON file; null when it does not exist; DepotCorrupt when it cannot be parsed.</summary>
    public T? ReadJson<T>(string name, string file) where T : class
    {
        string path = FileOf(name, file);
        string? text = ReadIfPresent(path);
        if (text is null)
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<T>(text, Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new PscException("DepotCorrupt", ErrorKind.InvalidOperation,
                $"The depot file {path} is damaged ({e.Message}); Remove-Container -Force can still remove the container.", path, 0, e);
        }
    }

    /// <summary>
    /// A depot file's text, or null when it (or its entry) does not exist: a file not written yet is the common
    /// case on every listing, so it is told by errno, not by an exception. Other failures throw as File.Read does.
    /// </summary>
    private static string? ReadIfPresent(string path)
    {
        string? text = Sys.ReadFile(path, out int err);
        if (text is null && err is not (Errno.ENOENT or Errno.ENOTDIR))
        {
            return File.ReadAllText(path); // throws the IOException that names the failure
        }
        return text;
    }

    /// <summary>Reads key=value lines (the exit record psc-init writes); null when absent.</summary>
    public Dictionary<string, string>? ReadKeyValues(string name, string file)
    {
        string? text = ReadIfPresent(FileOf(name, file));
        if (text is null)
        {
            return null;
        }
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    /// <summary>Appends one event line: "&lt;unix ns&gt; &lt;event&gt; [details]" (one write, O_APPEND).</summary>
    public void AppendEvent(string name, string evt, string? details = null) => AppendEventTo(PathOf(name), evt, details);

    /// <summary><see cref="AppendEvent"/> into the events.log of a directory (a staged entry).</summary>
    public void AppendEventTo(string dir, string evt, string? details = null)
    {
        long ns = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        string line = ns.ToString(CultureInfo.InvariantCulture) + " " + evt + (details is null ? "" : " " + details) + "\n";
        // One write on an O_APPEND descriptor (as psc-init appends): lines from several writers never interleave, and
        // it is 3 syscalls where a FileStream makes 8.
        string path = Path.Combine(dir, "events.log");
        int err = Sys.AppendFile(path, System.Text.Encoding.UTF8.GetBytes(line));
        if (err != 0)
        {
            throw new PscException("DepotWrite," + Errno.Name(err), Errno.Kind(err), $"DepotWrite {path} failed: {Errno.Describe(err)}", path, err);
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

    private static PscException Failure(string id, string path, Exception e)
    {
        var kind = e is UnauthorizedAccessException ? ErrorKind.PermissionDenied : ErrorKind.NotSpecified;
        int errno = e.HResult is > 0 and < 4096 ? e.HResult : 0;
        if (errno != 0)
        {
            kind = Errno.Kind(errno);
            id += "," + Errno.Name(errno);
        }
        return new PscException(id, kind, $"{id.Split(',')[0]} {path} failed: {e.Message}", path, errno, e);
    }
}

/// <summary>
/// state.json, written by psc-init just before the program is told to run: who runs the container, with start times
/// so a reused pid is never taken for it. A start that fails after it removes it again.
/// </summary>
public sealed record ContainerRuntimeState
{
    public int InitPid { get; init; }

    public ulong InitStartTicks { get; init; }

    public int MainPid { get; init; }

    public ulong MainStartTicks { get; init; }

    public string BootId { get; init; } = "";

    public long StartTimeUnixNs { get; init; }

    [JsonIgnore]
    public DateTime StartTime => DateTime.UnixEpoch.AddTicks(StartTimeUnixNs / 100);
}
