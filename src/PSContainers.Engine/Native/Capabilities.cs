using System.Globalization;

namespace PSContainers.Native;

/// <summary>
/// The capabilities this process holds, from the CapEff line of /proc/self/status. A uid says little: root in a
/// container often lacks CAP_SYS_ADMIN, and root of a user namespace holds it there without being uid 0 outside.
/// </summary>
public static class Capabilities
{
    public const int SysAdmin = 21;

    // Read once per process: .NET here never changes its ids or capabilities (psc-init drops them in the child), and
    // New-Container asks on every call, on the path the benchmark times.
    private static readonly Lazy<string?> s_status = new(() => Sys.ReadFile("/proc/self/status", out _));

    /// <summary>Whether the effective set holds <paramref name="capability"/>; null when /proc does not say.</summary>
    public static bool? Has(int capability) => Has(s_status.Value, capability);

    /// <summary>The same, read from the text of a status file.</summary>
    public static bool? Has(string? status, int capability)
    {
        foreach (string line in (status ?? "").Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong set))
            {
                return (set & (1UL << capability)) != 0;
            }
        }
        return null;
    }
}
