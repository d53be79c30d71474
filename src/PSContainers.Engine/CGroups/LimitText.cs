using System.Globalization;

namespace PSContainers.CGroups;

/// <summary>Limit values as the kernels write them: numbers, "max", v1's near-2^63 for unlimited.</summary>
internal static class LimitText
{
    // v1 reports "unlimited" as PAGE_COUNTER_MAX × page size, just under 2^63.
    private const long V1Unlimited = 1L << 62;

    public static long? ParseCount(string? text)
    {
        if (text is null)
        {
            return null;
        }
        text = text.Trim();
        if (text == "max")
        {
            return -1;
        }
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            return value >= V1Unlimited ? -1 : value;
        }
        if (ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return -1;
        }
        return null;
    }

    public static string Max(long value) => value == -1 ? "max" : value.ToString(CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>CPUs from a quota and period in µs; -1 when the quota is unlimited.</summary>
    public static double? Cpus(long? quota, long? period) =>
        quota is null || period is null or 0 ? null : quota == -1 ? -1 : Math.Round((double)quota / period.Value, 4);
}
