namespace PSContainers.Containers;

/// <summary>This process's mount table (/proc/self/mountinfo): the mounts at or below a folder.</summary>
internal static class MountTable
{
    /// <summary>Mount points at or below <paramref name="dir"/>, the most recent first (so stacked and nested mounts come off in order).</summary>
    public static List<string> Under(string dir)
    {
        string prefix = dir.TrimEnd('/') + "/";
        var found = new List<string>();
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mount-point options ... (space-separated; octal escapes in paths)
            string[] fields = line.Split(' ', 6);
            if (fields.Length < 5)
            {
                continue;
            }
            string point = Unescape(fields[4]);
            if (point == dir || point.StartsWith(prefix, StringComparison.Ordinal))
            {
                found.Add(point);
            }
        }
        found.Reverse();
        return found;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s.Substring(at, 3).All(c => c is >= '0' and <= '7');
}
