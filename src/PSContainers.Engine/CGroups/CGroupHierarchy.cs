namespace PSContainers.CGroups;

/// <summary>How the host mounts cgroups.</summary>
public enum CGroupLayout
{
    /// <summary>Only v1 hierarchies, one or more controllers each.</summary>
    V1,
    /// <summary>v1 controller hierarchies plus a cgroup2 mount (often controller-less, at /sys/fs/cgroup/unified).</summary>
    Hybrid,
    /// <summary>One cgroup2 hierarchy serving every controller.</summary>
    V2,
}

/// <summary>One mounted cgroup hierarchy, as /proc/self/mountinfo describes it.</summary>
public sealed record CGroupMount(string MountPoint, string Root, bool IsV2, IReadOnlyList<string> Controllers)
{
    /// <summary>A v1 hierarchy without controllers, such as name=systemd: never used by the project.</summary>
    public bool IsNamedOnly => !IsV2 && Controllers.Count == 0;
}

/// <summary>The cgroup hierarchies of the host, detected from mountinfo.</summary>
public sealed class CGroupHierarchy
{
    private CGroupHierarchy(CGroupLayout layout, IReadOnlyList<CGroupMount> mounts)
    {
        Layout = layout;
        Mounts = mounts;
    }

    public CGroupLayout Layout { get; }

    public IReadOnlyList<CGroupMount> Mounts { get; }

    /// <summary>The cgroup2 mount, or null on a pure v1 host.</summary>
    public CGroupMount? Unified => Mounts.FirstOrDefault(m => m.IsV2);

    /// <summary>The v1 hierarchies that carry controllers.</summary>
    public IEnumerable<CGroupMount> V1Mounts => Mounts.Where(m => !m.IsV2 && !m.IsNamedOnly);

    private static readonly object CacheGate = new();
    private static CGroupHierarchy? _current;
    private static int _mountWatch = -1;

    /// <summary>
    /// <see cref="Detect"/>, done again only when the mount table changed: /proc/self/mountinfo reports a change to
    /// poll() (POLLPRI), so every cmdlet of a session shares one detection for the price of one poll.
    /// </summary>
    public static unsafe CGroupHierarchy Current()
    {
        lock (CacheGate)
        {
            if (_current is not null && _mountWatch >= 0)
            {
                var p = new Tmds.Linux.pollfd { fd = _mountWatch, events = (short)Tmds.Linux.LibC.POLLPRI };
                if (Tmds.Linux.LibC.poll(&p, 1, 0) == 0)
                {
                    return _current;
                }
            }
            if (_mountWatch >= 0)
            {
                Tmds.Linux.LibC.close(_mountWatch);
            }
            // Opened before reading, so a change made while we read is reported on the next call.
            fixed (byte* path = "/proc/self/mountinfo\0"u8)
            {
                _mountWatch = Tmds.Linux.LibC.open(path, Tmds.Linux.LibC.O_RDONLY | Tmds.Linux.LibC.O_CLOEXEC);
            }
            _current = Detect();
            return _current;
        }
    }

    /// <summary>Detects the running host's layout. v2 controllers come from the root's cgroup.controllers.</summary>
    public static CGroupHierarchy Detect() =>
        Parse(File.ReadAllText("/proc/self/mountinfo"), mountPoint => TryRead(Path.Combine(mountPoint, "cgroup.controllers")));

    /// <summary>
    /// Parses mountinfo text. <paramref name="readV2Controllers"/> returns the content of a cgroup2 mount's
    /// cgroup.controllers (null when unreadable); <paramref name="remap"/> rewrites mount points, so fixture
    /// trees copied to a temporary directory can stand in for /sys/fs/cgroup.
    /// </summary>
    public static CGroupHierarchy Parse(string mountinfo, Func<string, string?> readV2Controllers, Func<string, string>? remap = null)
    {
        var mounts = new List<CGroupMount>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
            string[] fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (dash < 6 || fields.Length < dash + 4)
            {
                continue;
            }
            string fsType = fields[dash + 1];
            if (fsType != "cgroup" && fsType != "cgroup2")
            {
                continue;
            }
            string root = PSContainers.Native.MountInfo.Unescape(fields[3]);
            string mountPoint = PSContainers.Native.MountInfo.Unescape(fields[4]);
            if (remap is not null)
            {
                mountPoint = remap(mountPoint);
            }
            bool isV2 = fsType == "cgroup2";
            IReadOnlyList<string> controllers;
            if (isV2)
            {
                controllers = (readV2Controllers(mountPoint) ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            }
            else
            {
                controllers = fields[dash + 3].Split(',')
                    .Where(o => o is not ("rw" or "ro") && !o.Contains('=') && !o.StartsWith("noprefix", StringComparison.Ordinal)
                        && o is not ("clone_children" or "xattr" or "cpuset_v2_mode" or "favordynmods"))
                    .ToArray();
            }
            // The same hierarchy may be mounted twice; the first mount wins.
            string key = isV2 ? "cgroup2" : string.Join(',', controllers.Count > 0 ? controllers : new[] { fields[dash + 3] });
            if (seen.Add(key))
            {
                mounts.Add(new CGroupMount(mountPoint, root, isV2, controllers));
            }
        }
        bool hasV1 = mounts.Any(m => !m.IsV2 && !m.IsNamedOnly);
        bool hasV2 = mounts.Any(m => m.IsV2);
        if (!hasV1 && !hasV2)
        {
            throw new PSContainers.Native.PscException("CGroupNotMounted", PSContainers.Native.ErrorKind.NotImplemented,
                "No cgroup hierarchy is mounted (no cgroup or cgroup2 line in /proc/self/mountinfo).", "/proc/self/mountinfo");
        }
        var layout = hasV1 && hasV2 ? CGroupLayout.Hybrid : hasV2 ? CGroupLayout.V2 : CGroupLayout.V1;
        return new CGroupHierarchy(layout, mounts);
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
