using System.Text;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>
/// cgroup paths work like file paths: "/x" is absolute in the hierarchy, anything else is relative to the
/// project's root (default "pscontainers", or $PSCONTAINERS_CGROUP_ROOT). Every component is checked:
/// no empty names, ".", "..", NUL, newline, or names over 255 bytes.
/// </summary>
public static class CGroupPath
{
    public const string DefaultRoot = "pscontainers";
    public const string RootVariable = "PSCONTAINERS_CGROUP_ROOT";

    /// <summary>The project's root as an absolute hierarchy path, from the environment or the default.</summary>
    public static string ProjectRootFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(RootVariable);
        string root = Normalize(string.IsNullOrWhiteSpace(value) ? DefaultRoot : value, "/", nameof(RootVariable));
        if (root == "/")
        {
            throw PscException.Invalid("InvalidCGroupRoot",
                $"The project's cgroup root cannot be the hierarchy root: {RootVariable}='{value}'.", value);
        }
        return root;
    }

    /// <summary>Resolves a user path to an absolute, validated hierarchy path.</summary>
    public static string Resolve(string path, string projectRoot) => Normalize(path, projectRoot, "Path");

    private static string Normalize(string path, string relativeTo, string what)
    {
        if (path is null || path.Length == 0 || path.Trim().Length == 0)
        {
            throw PscException.Invalid("InvalidCGroupPath", $"The cgroup path is empty ({what}).", path);
        }
        bool absolute = path[0] == '/';
        string trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        var parts = new List<string>();
        if (!absolute)
        {
            parts.AddRange(Components(relativeTo));
        }
        foreach (string part in trimmed.Split('/'))
        {
            if (part.Length == 0)
            {
                if (parts.Count == 0 && absolute)
                {
                    continue; // the leading '/'
                }
                if (trimmed == "/")
                {
                    continue;
                }
                throw PscException.Invalid("InvalidCGroupPath", $"The cgroup path '{Printable(path)}' has an empty component.", path);
            }
            CheckName(part, path);
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>Refuses one path component that the kernel would refuse or that could escape the tree.</summary>
    public static void CheckName(string name, string path)
    {
        if (name is "." or "..")
        {
            throw PscException.Invalid("InvalidCGroupPath", $"The cgroup path '{Printable(path)}' contains '{name}'; use a plain path below the root.", path);
        }
        if (name.IndexOfAny(new[] { '\0', '\n', '\r' }) >= 0)
        {
            throw PscException.Invalid("InvalidCGroupPath", $"The cgroup path '{Printable(path)}' contains a NUL or line break.", Printable(path));
        }
        if (Encoding.UTF8.GetByteCount(name) > 255)
        {
            throw PscException.Invalid("InvalidCGroupPath", $"The cgroup name '{Printable(name)}' is {Encoding.UTF8.GetByteCount(name)} bytes long; the limit is 255.", path);
        }
    }

    private static readonly HashSet<string> ControlFilePrefixes = new(StringComparer.Ordinal)
    {
        "cgroup", "cpu", "cpuacct", "cpuset", "memory", "io", "blkio", "pids", "hugetlb", "rdma", "misc",
        "freezer", "devices", "net_cls", "net_prio", "perf_event",
    };

    /// <summary>
    /// Refuses a name for a new cgroup that is, or could become, a control file's name in some layout
    /// ("cgroup.procs", "memory.max", "tasks"): the kernel refuses it where the file exists and allows it elsewhere.
    /// </summary>
    public static void CheckNewName(string name, string path)
    {
        int dot = name.IndexOf('.');
        if (name is "tasks" or "notify_on_release" or "release_agent" || (dot > 0 && ControlFilePrefixes.Contains(name[..dot])))
        {
            throw PscException.Invalid("InvalidCGroupPath",
                $"The cgroup name '{Printable(name)}' in '{Printable(path)}' is the name of a cgroup control file; choose another name.", path);
        }
    }

    /// <summary>The components of an absolute path ("/a/b" → a, b).</summary>
    public static string[] Components(string absolute) => absolute.Split('/', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The absolute path with its leading '/' removed ("." for the root), for *at() calls.</summary>
    public static string Relative(string absolute) => absolute == "/" ? "." : absolute.TrimStart('/');

    public static string Parent(string absolute)
    {
        int i = absolute.LastIndexOf('/');
        return i <= 0 ? "/" : absolute[..i];
    }

    public static string Combine(string absolute, string child) => absolute == "/" ? "/" + child : absolute + "/" + child;

    /// <summary>True when <paramref name="path"/> is <paramref name="root"/> or below it.</summary>
    public static bool IsAtOrBelow(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>Refuses a write outside the project's root.</summary>
    public static void RequireWritable(string path, string projectRoot, string operation)
    {
        if (!IsAtOrBelow(path, projectRoot))
        {
            throw new PscException("CGroupOutsideRoot", ErrorKind.PermissionDenied,
                $"Cannot {operation} '{path}': PSContainers only changes cgroups at or below its root '{projectRoot}' (set {RootVariable} to move the root).", path);
        }
    }

    private static string Printable(string s) => s.Replace("\0", "\\0").Replace("\n", "\\n").Replace("\r", "\\r");
}
