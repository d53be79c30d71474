namespace PSContainers.Native;

/// <summary>The text of /proc/self/mountinfo, read by the cgroup hierarchy's detection and the layers' mount table.</summary>
internal static class MountInfo
{
    /// <summary>A field as the kernel wrote it, with its \ooo octal escapes (space, tab, newline, backslash) undone.</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }
        var sb = new System.Text.StringBuilder(s.Length);
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
