using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// The one validator of what a container and its processes are given, shared by <see cref="ContainerManager.Create"/>
/// (through <see cref="SpecResolver"/>: the main process) and <see cref="ContainerExec.Prepare"/> (one more process):
/// environment, arguments, working directory and the program; and for a new container its host name, root, isolation
/// and property keys. Paths are looked up as the container will see them: on the host when there is no root, else inside the
/// root (a -RootPath, or a running container's /proc/&lt;init&gt;/root), where symbolic links are followed as the
/// container would, an absolute target starting again at the root and <c>..</c> never leaving it.
/// <paramref name="where"/> in each method is the end of a message: "", " in /srv/root" or " in container 'web'".
/// </summary>
public static class SpecValidator
{
    /// <summary>The PATH a container gets unless it is given another one.</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary><paramref name="given"/> added to (and overriding) <paramref name="basis"/>; a name that is empty or holds '=' or NUL, or a value with NUL, is refused.</summary>
    public static Dictionary<string, string> Environment(IReadOnlyDictionary<string, string> basis, IDictionary<string, string>? given)
    {
        var env = new Dictionary<string, string>(basis, StringComparer.Ordinal);
        foreach (var (key, value) in given ?? new Dictionary<string, string>())
        {
            if (key.Length == 0 || key.Contains('=') || key.Contains('\0') || (value ?? "").Contains('\0'))
            {
                throw PscException.Invalid("InvalidEnvironment", $"The environment variable '{key.Replace("\0", "\\0")}' cannot be passed (empty, '=' or NUL).", key);
            }
            env[key] = value ?? "";
        }
        return env;
    }

    /// <summary>execve(2) takes NUL-terminated strings: an argument with a NUL in it would be cut short silently.</summary>
    public static void Arguments(IEnumerable<string?> args)
    {
        int i = 0;
        foreach (string? a in args)
        {
            if (a is null || a.Contains('\0'))
            {
                string shown = (a ?? "").Replace("\0", "\\0");
                throw PscException.Invalid("InvalidArgument", $"Argument {i} ('{shown}') is null or contains NUL, which a program cannot receive.", shown);
            }
            i++;
        }
    }

    /// <summary>An absolute directory that exists inside <paramref name="root"/> (the host when null).</summary>
    public static void WorkingDirectory(string cwd, string? root, string where)
    {
        if (cwd.Length == 0 || !cwd.StartsWith('/') || cwd.Contains('\0') || HostPath(root, cwd) is not { } host || !Directory.Exists(host))
        {
            throw new PscException("WorkingDirectoryNotFound", ErrorKind.ObjectNotFound, $"The working directory '{cwd}' does not exist{where}.", cwd, Errno.ENOENT);
        }
    }

    /// <summary>
    /// The program as an absolute path inside <paramref name="root"/>: as given when absolute, relative to
    /// <paramref name="relativeTo"/> when it holds a '/', else the first executable of that name in the absolute
    /// directories of <paramref name="searchPath"/>. It must exist (ProgramNotFound) and be executable (ProgramNotExecutable).
    /// </summary>
    public static string Program(string filePath, string? root, string relativeTo, string searchPath, string where)
    {
        if (string.IsNullOrWhiteSpace(filePath) || filePath.Contains('\0'))
        {
            throw PscException.Invalid("InvalidFilePath", "The program path is empty or contains NUL.", filePath);
        }
        IEnumerable<string> candidates = filePath.StartsWith('/') ? new[] { filePath }
            : filePath.Contains('/') ? new[] { root is null ? Path.GetFullPath(filePath, relativeTo) : relativeTo.TrimEnd('/') + "/" + filePath }
            : searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(d => d.StartsWith('/')).Select(d => d.TrimEnd('/') + "/" + filePath);
        foreach (string candidate in candidates)
        {
            if (HostPath(root, candidate) is not { } host || !File.Exists(host))
            {
                continue;
            }
            UnixFileMode mode;
            try
            {
                mode = File.GetUnixFileMode(host);
            }
            catch (IOException)
            {
                continue; // a link whose target is missing: File.Exists looks at the link itself
            }
            if ((mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            {
                throw new PscException("ProgramNotExecutable", ErrorKind.PermissionDenied, $"The program '{candidate}'{where} is not executable.", filePath, Errno.EACCES);
            }
            return candidate;
        }
        throw new PscException("ProgramNotFound", ErrorKind.ObjectNotFound, $"The program '{filePath}' was not found{where}.", filePath, Errno.ENOENT);
    }

    /// <summary>A host name as sethostname(2) and resolvers take it: 1 to 64 letters, digits, '-' and '.'.</summary>
    public static void Hostname(string hostname)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(hostname, "^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$"))
        {
            string shown = hostname.Replace("\0", "\\0").Replace("\n", "\\n");
            throw PscException.Invalid("InvalidHostname",
                $"'{shown}' is not a valid host name: use 1 to 64 letters, digits, '-' or '.', starting and ending with a letter or digit.", shown);
        }
    }

    /// <summary>A user property's key: not empty, not blank, no NUL.</summary>
    public static void PropertyKey(string? key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Contains('\0'))
        {
            throw PscException.Invalid("InvalidPropertyKey", $"The property key '{key?.Replace("\0", "\\0")}' is empty, blank or contains NUL.", key);
        }
    }

    /// <summary>A -RootPath made absolute: it must be a directory, and pivot_root needs the Mount isolation.</summary>
    public static string RootPath(string rootPath, ContainerIsolation isolation)
    {
        string root = Path.GetFullPath(rootPath);
        if (!Directory.Exists(root))
        {
            throw new PscException("RootPathNotFound", ErrorKind.ObjectNotFound, $"The root path '{rootPath}' does not exist or is not a directory.", rootPath);
        }
        if (!isolation.HasFlag(ContainerIsolation.Mount))
        {
            throw PscException.Invalid("RootPathNeedsMount", $"-RootPath '{rootPath}' needs the Mount isolation (pivot_root happens in the container's mount namespace).", rootPath);
        }
        return root;
    }

    /// <summary>The namespaces but User that need CAP_SYS_ADMIN to be made, unless a user namespace is made with them.</summary>
    internal const ContainerIsolation PrivilegedNamespaces =
        ContainerIsolation.Pid | ContainerIsolation.Mount | ContainerIsolation.Uts | ContainerIsolation.Ipc | ContainerIsolation.Network | ContainerIsolation.CGroup;

    /// <summary>
    /// Namespaces other than User take CAP_SYS_ADMIN in the current user namespace: without it the clone in psc-init
    /// would fail at Start with a bare EPERM. Said here, before anything is made, with the way out.
    /// </summary>
    public static void Privilege(ContainerIsolation isolation)
    {
        if ((isolation & PrivilegedNamespaces) == 0 || isolation.HasFlag(ContainerIsolation.User) || Capabilities.Has(Capabilities.SysAdmin) != false)
        {
            return;
        }
        throw new PscException("IsolationNeedsRoot", ErrorKind.PermissionDenied, NeedsRootMessage(isolation), isolation);
    }

    internal static string NeedsRootMessage(ContainerIsolation isolation)
    {
        // Each flag by name: "Default" would hide what is asked for.
        string named = string.Join(", ", Enum.GetValues<ContainerIsolation>()
            .Where(f => f is not ContainerIsolation.None and not ContainerIsolation.Default && isolation.HasFlag(f)));
        return $"The isolation {named} needs root (CAP_SYS_ADMIN), which this process (uid {Sys.EffectiveUid}) does not have. " +
            $"Run as root, or add -Isolation User to make the namespaces inside a user namespace of the container's own " +
            $"(e.g. -Isolation User, {named}).";
    }

    /// <summary>
    /// Where <paramref name="path"/> (absolute, as the container sees it) is seen from here: itself on the host
    /// (<paramref name="root"/> null: the kernel follows the links), else <see cref="InRoot"/>.
    /// </summary>
    public static string? HostPath(string? root, string path) => root is null ? path : InRoot(root, path);

    /// <summary>
    /// Where <paramref name="path"/> (absolute, inside the root) is, seen from here through <paramref name="root"/>
    /// (a -RootPath or /proc/&lt;init&gt;/root): symbolic links are followed as the container would, an absolute target
    /// starting again at the root, never above it. Null when the links loop; a missing component is kept as it is.
    /// </summary>
    public static string? InRoot(string root, string path)
    {
        var done = new List<string>();
        var todo = new Stack<string>(Enumerable.Reverse(path.Split('/', StringSplitOptions.RemoveEmptyEntries)));
        int links = 0;
        while (todo.Count > 0)
        {
            string part = todo.Pop();
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (done.Count > 0)
                {
                    done.RemoveAt(done.Count - 1);
                }
                continue;
            }
            string host = root + "/" + string.Join('/', done.Append(part));
            FileSystemInfo info = new FileInfo(host);
            if (info.LinkTarget is not { } target)
            {
                done.Add(part);
                continue;
            }
            if (++links > 40)
            {
                return null;
            }
            if (target.StartsWith('/'))
            {
                done.Clear();
            }
            foreach (string t in Enumerable.Reverse(target.Split('/', StringSplitOptions.RemoveEmptyEntries)))
            {
                todo.Push(t);
            }
        }
        return root + "/" + string.Join('/', done);
    }

    /// <summary>A terminal's columns or rows: 1 to 9999.</summary>
    public static int TerminalSize(int value, string what) => value is >= 1 and <= 9999 ? value
        : throw PscException.Invalid("InvalidTerminalSize", $"{what} {value} is not a terminal size: give 1 to 9999.", value);
}
