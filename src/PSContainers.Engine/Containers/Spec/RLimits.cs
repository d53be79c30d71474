using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>The rlimits a container can set (Garden's process spec has the same), checked before anything is created.</summary>
public static class RLimits
{
    public static readonly string[] Names =
    {
        "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
    };

    /// <summary>
    /// Parses one value: a number (soft = hard), "unlimited", or "soft:hard". Throws InvalidResourceLimit naming the
    /// offending rlimit and value.
    /// </summary>
    public static RLimitValue Parse(string name, object? value)
    {
        string key = name.ToLowerInvariant();
        if (!Names.Contains(key))
        {
            throw PscException.Invalid("InvalidResourceLimit",
                $"'{name}' is not an rlimit name; use one of: {string.Join(", ", Names)}.", name);
        }
        string text = Convert.ToString(value, CultureInfo.InvariantCulture)?.Trim() ?? "";
        string[] parts = text.Split(':');
        if (parts.Length is < 1 or > 2)
        {
            throw Bad(name, text);
        }
        long soft = One(name, parts[0], text);
        long hard = parts.Length == 2 ? One(name, parts[1], text) : soft;
        if (hard != -1 && (soft == -1 || soft > hard))
        {
            throw PscException.Invalid("InvalidResourceLimit", $"rlimit {name} '{text}': the soft limit is above the hard limit.", text);
        }
        if (key == "nice" && hard > 40 || key == "rtprio" && hard > 99)
        {
            throw PscException.Invalid("InvalidResourceLimit", $"rlimit {name} '{text}' is out of range ({(key == "nice" ? "0-40" : "0-99")}).", text);
        }
        return new RLimitValue(soft, hard);
    }

    private static long One(string name, string s, string whole)
    {
        if (s is "unlimited" or "infinity" or "-1")
        {
            return -1;
        }
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
        {
            return v;
        }
        throw Bad(name, whole);
    }

    private static PscException Bad(string name, string text) =>
        PscException.Invalid("InvalidResourceLimit", $"rlimit {name} '{text}' is not a number, 'unlimited', or 'soft:hard'.", text);
}
