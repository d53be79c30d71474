using System.Globalization;
using PSContainers.Native;

namespace PSContainers.CGroups;

/// <summary>
/// Resource limits as typed values. null = leave as it is; -1 = unlimited (remove the limit).
/// Units are raw: bytes, CPUs (1.5 = one and a half), weight 1–10000, counts.
/// </summary>
public sealed record CGroupLimits
{
    /// <summary>Bytes of memory (v1 memory.limit_in_bytes, v2 memory.max).</summary>
    public long? MemoryLimit { get; init; }

    /// <summary>Bytes of memory plus swap, as runc/OCI define it (v1 memory.memsw.limit_in_bytes; v2 memory.swap.max = this − MemoryLimit).</summary>
    public long? MemorySwapLimit { get; init; }

    /// <summary>CPUs (quota/period with period 100000 µs, as runc uses).</summary>
    public double? CpuLimit { get; init; }

    /// <summary>Relative weight 1–10000 (v2 cpu.weight; v1 cpu.shares through runc's conversion); -1 restores the kernel's default.</summary>
    public int? CpuWeight { get; init; }

    /// <summary>CPU list such as "0-1,3".</summary>
    public string? CpuSet { get; init; }

    /// <summary>Maximum number of tasks (pids.max).</summary>
    public long? PidsLimit { get; init; }

    public bool IsEmpty => MemoryLimit is null && MemorySwapLimit is null && CpuLimit is null && CpuWeight is null && CpuSet is null && PidsLimit is null;

    /// <summary>Only the values that are set, e.g. "MemoryLimit=268435456, PidsLimit=100".</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                parts.Add($"{name}={Convert.ToString(value, CultureInfo.InvariantCulture)}");
            }
        }
        Add(nameof(MemoryLimit), MemoryLimit);
        Add(nameof(MemorySwapLimit), MemorySwapLimit);
        Add(nameof(CpuLimit), CpuLimit);
        Add(nameof(CpuWeight), CpuWeight);
        Add(nameof(CpuSet), CpuSet);
        Add(nameof(PidsLimit), PidsLimit);
        return parts.Count == 0 ? "no limits" : string.Join(", ", parts);
    }

    /// <summary>The CFS period runc uses, in microseconds.</summary>
    public const long CpuPeriod = 100_000;

    /// <summary>The kernel's PID_MAX_LIMIT on 64-bit machines: pids.max refuses anything above it.</summary>
    public const long MaxPids = 4 * 1024 * 1024;

    /// <summary>Checks every value before anything is written, so bad input changes nothing.</summary>
    public void Validate(int onlineCpuCount, IReadOnlySet<int> onlineCpus)
    {
        CheckBytes(MemoryLimit, "MemoryLimit");
        CheckBytes(MemorySwapLimit, "MemorySwapLimit");
        if (MemoryLimit is > 0 && MemorySwapLimit is > 0 && MemorySwapLimit < MemoryLimit)
        {
            throw PscException.Invalid("InvalidLimit,MemorySwapLimit",
                $"MemorySwapLimit {MemorySwapLimit} is below MemoryLimit {MemoryLimit}: it counts memory plus swap, so it must be at least the memory limit (or -1).", MemorySwapLimit);
        }
        if (CpuLimit is double cpus && cpus != -1)
        {
            if (double.IsNaN(cpus) || cpus < 0.01 || cpus > onlineCpuCount)
            {
                throw PscException.Invalid("InvalidLimit,CpuLimit",
                    $"CpuLimit {cpus.ToString(CultureInfo.InvariantCulture)} is out of range: give CPUs from 0.01 to {onlineCpuCount} (this machine's CPUs), or -1 for no limit.", cpus);
            }
        }
        if (CpuWeight is int w && w != -1 && (w < 1 || w > 10000))
        {
            throw PscException.Invalid("InvalidLimit,CpuWeight", $"CpuWeight {w} is out of range: give 1 to 10000, or -1 for the kernel's default (cpu.weight 100 on v2, cpu.shares 1024 on v1).", w);
        }
        if (PidsLimit is long p && p != -1 && (p < 1 || p > MaxPids))
        {
            throw PscException.Invalid("InvalidLimit,PidsLimit", $"PidsLimit {p} is out of range: give 1 to {MaxPids}, or -1 for no limit.", p);
        }
        if (CpuSet is not null)
        {
            var listed = CpuList.Parse(CpuSet, "CpuSet");
            var missing = listed.Where(c => !onlineCpus.Contains(c)).ToArray();
            if (missing.Length > 0)
            {
                throw PscException.Invalid("InvalidLimit,CpuSet",
                    $"CpuSet '{CpuSet}' names CPU {string.Join(",", missing)}, which this machine does not have (online: {CpuList.Format(onlineCpus)}).", CpuSet);
            }
        }
    }

    private static void CheckBytes(long? value, string name)
    {
        if (value is long v && v != -1 && v < 1)
        {
            throw PscException.Invalid("InvalidLimit," + name, $"{name} {v} is out of range: give a number of bytes (e.g. 256MB), or -1 for no limit.", v);
        }
    }

    /// <summary>CPUs → CFS quota in µs for period 100000 (1.5 → 150000); -1 → -1.</summary>
    public static long CpuQuota(double cpus) => cpus == -1 ? -1 : (long)Math.Round(cpus * CpuPeriod);

    /// <summary>
    /// runc's v1 → v2 conversion (ConvertCPUSharesToCgroupV2Value): weight = 1 + ((shares − 2) × 9999) / 262142.
    /// </summary>
    public static int SharesToWeight(long shares) => shares == 0 ? 0 : (int)(1 + ((shares - 2) * 9999) / 262142);

    /// <summary>
    /// The inverse used to write a weight on a v1 host: the smallest cpu.shares that runc's conversion maps back
    /// to the same weight, so a weight means the same on v1 and v2 (1 → 2, 100 → 2598, 10000 → 262144).
    /// </summary>
    public static long WeightToShares(int weight) => 2 + (((long)weight - 1) * 262142 + 9998) / 9999;
}

/// <summary>Linux CPU list format ("0-3,5").</summary>
public static class CpuList
{
    public static SortedSet<int> Parse(string text, string what)
    {
        var set = new SortedSet<int>();
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw PscException.Invalid("InvalidLimit," + what, $"{what} '{text}' is empty: give CPUs such as '0' or '0-1,3'.", text);
        }
        foreach (string part in trimmed.Split(','))
        {
            string[] range = part.Split('-');
            if (range.Length is < 1 or > 2 || !range.All(r => r.Length > 0 && r.All(char.IsAsciiDigit)))
            {
                throw PscException.Invalid("InvalidLimit," + what, $"{what} '{text}' is not a CPU list such as '0' or '0-1,3'.", text);
            }
            int lo = int.Parse(range[0], CultureInfo.InvariantCulture);
            int hi = range.Length == 2 ? int.Parse(range[1], CultureInfo.InvariantCulture) : lo;
            if (hi < lo || hi > 8191)
            {
                throw PscException.Invalid("InvalidLimit," + what, $"{what} '{text}' has an invalid range '{part}'.", text);
            }
            for (int c = lo; c <= hi; c++)
            {
                set.Add(c);
            }
        }
        return set;
    }

    public static string Format(IEnumerable<int> cpus)
    {
        var list = cpus.OrderBy(c => c).ToList();
        var parts = new List<string>();
        for (int i = 0; i < list.Count;)
        {
            int j = i;
            while (j + 1 < list.Count && list[j + 1] == list[j] + 1)
            {
                j++;
            }
            parts.Add(i == j ? list[i].ToString(CultureInfo.InvariantCulture) : $"{list[i]}-{list[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    /// <summary>The machine's online CPUs.</summary>
    public static SortedSet<int> Online()
    {
        try
        {
            return Parse(File.ReadAllText("/sys/devices/system/cpu/online"), "online CPUs");
        }
        catch (IOException)
        {
            return new SortedSet<int>(Enumerable.Range(0, Environment.ProcessorCount));
        }
    }
}
