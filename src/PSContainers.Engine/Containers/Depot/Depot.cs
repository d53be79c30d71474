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
public sealed partial class Depot
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

    internal static PscException Failure(string id, string path, Exception e)
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
