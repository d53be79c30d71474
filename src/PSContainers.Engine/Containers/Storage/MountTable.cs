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
            string point = PSContainers.Native.MountInfo.Unescape(fields[4]);
            if (point == dir || point.StartsWith(prefix, StringComparison.Ordinal))
            {
                found.Add(point);
            }
        }
        found.Reverse();
        return found;
    }
}
