using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Resolves -User (a name, or uid[:gid]) against the passwd and group files of the root the container will see. They
/// are read as the container sees them: opened inside the root (openat2 RESOLVE_IN_ROOT), so a root whose
/// /etc/passwd is a link to /etc/passwd or ../../etc/passwd reads its own file, never the host's.
/// </summary>
public static class Users
{
    public static (int Uid, int Gid, int[] Groups) Resolve(string user, string? rootPath)
    {
        string root = rootPath ?? "/";
        string etc = Path.Combine(root, "etc");
        return Resolve(user, name => ReadColonFile(root, "etc/" + name), etc);
    }

    /// <summary>
    /// The same, reading "passwd" and "group" through <paramref name="readEtc"/> (lines split at ':'; none when the file
    /// is missing), e.g. from a descriptor of a container's root; <paramref name="etc"/> names the folder in messages.
    /// </summary>
    public static (int Uid, int Gid, int[] Groups) Resolve(string user, Func<string, List<string[]>> readEtc, string etc)
    {
        string[] parts = user.Split(':');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            throw PscException.Invalid("InvalidUser", $"'{user}' is not a user: give a name, a uid, or uid:gid.", user);
        }
        var passwd = readEtc("passwd");
        int uid, gid;
        string? name = null;
        if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            var entry = passwd.FirstOrDefault(f => f.Length > 3 && f[2] == parts[0]);
            name = entry?[0];
            gid = entry is not null ? int.Parse(entry[3], CultureInfo.InvariantCulture) : uid;
        }
        else
        {
            var entry = passwd.FirstOrDefault(f => f.Length > 3 && f[0] == parts[0])
                ?? throw new PscException("UserNotFound", ErrorKind.ObjectNotFound, $"The user '{parts[0]}' does not exist in {Path.Combine(etc, "passwd")}.", user);
            name = entry[0];
            uid = int.Parse(entry[2], CultureInfo.InvariantCulture);
            gid = int.Parse(entry[3], CultureInfo.InvariantCulture);
        }
        if (parts.Length == 2)
        {
            if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                var g = readEtc("group").FirstOrDefault(f => f.Length > 2 && f[0] == parts[1])
                    ?? throw new PscException("GroupNotFound", ErrorKind.ObjectNotFound, $"The group '{parts[1]}' does not exist in {Path.Combine(etc, "group")}.", user);
                gid = int.Parse(g[2], CultureInfo.InvariantCulture);
            }
        }
        var groups = name is null
            ? Array.Empty<int>()
            : readEtc("group")
                .Where(f => f.Length > 3 && f[3].Split(',').Contains(name))
                .Select(f => int.Parse(f[2], CultureInfo.InvariantCulture))
                .Where(g => g != gid)
                .Distinct()
                .ToArray();
        return (uid, gid, groups);
    }

    /// <summary>The lines of <paramref name="path"/> inside <paramref name="root"/>, split at ':'; none when it cannot be read.</summary>
    private static List<string[]> ReadColonFile(string root, string path)
    {
        int dir = Sys.OpenDirectory(root);
        if (dir < 0)
        {
            return new List<string[]>();
        }
        int fd = Sys.OpenInRoot(dir, path, Tmds.Linux.LibC.O_RDONLY);
        Sys.Close(dir);
        if (fd < 0)
        {
            return new List<string[]>();
        }
        try
        {
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
            using var reader = new StreamReader(new FileStream(handle, FileAccess.Read));
            return ColonLines(reader.ReadToEnd());
        }
        catch (IOException)
        {
            return new List<string[]>();
        }
    }

    /// <summary>The lines of a passwd or group file, split at ':' (comments and empty lines left out).</summary>
    public static List<string[]> ColonLines(string? text) => (text ?? "").Split('\n').Select(l => l.TrimEnd('\r'))
        .Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':')).ToList();
}
