using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>IPv4 addresses, CIDRs and ranges as -DenyNetwork, -Network and $env:PSCONTAINERS_SUBNET take them.</summary>
internal readonly record struct Ipv4Range(uint First, uint Last)
{
    /// <summary>A dotted quad, strictly: four decimal parts 0-255 (IPAddress.Parse would take "1" as 0.0.0.1).</summary>
    public static bool TryParseAddress(string s, out uint address)
    {
        address = 0;
        string[] parts = s.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        foreach (string p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) is > 255)
            {
                return false;
            }
            address = (address << 8) | uint.Parse(p, CultureInfo.InvariantCulture);
        }
        return true;
    }

    public static string Format(uint a) => string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");

    public static uint Mask(int prefix) => prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);

    /// <summary>"10.0.0.0/8", "198.51.100.7" (one address) or "198.51.100.1-198.51.100.9"; host bits of a CIDR are cleared.</summary>
    public static bool TryParse(string s, out Ipv4Range range)
    {
        range = default;
        s = s.Trim();
        int slash = s.IndexOf('/', StringComparison.Ordinal), dash = s.IndexOf('-', StringComparison.Ordinal);
        if (slash >= 0)
        {
            string bits = s[(slash + 1)..];
            if (!TryParseAddress(s[..slash], out uint a) || bits.Length is 0 or > 2 || !bits.All(char.IsAsciiDigit)
                || int.Parse(bits, CultureInfo.InvariantCulture) is var n && n > 32)
            {
                return false;
            }
            uint mask = Mask(n);
            range = new Ipv4Range(a & mask, (a & mask) | ~mask);
            return true;
        }
        if (dash >= 0)
        {
            if (!TryParseAddress(s[..dash], out uint a) || !TryParseAddress(s[(dash + 1)..], out uint b) || b < a)
            {
                return false;
            }
            range = new Ipv4Range(a, b);
            return true;
        }
        if (TryParseAddress(s, out uint one))
        {
            range = new Ipv4Range(one, one);
            return true;
        }
        return false;
    }

    /// <summary>Parses or throws InvalidArgument with <paramref name="errorId"/> and the value.</summary>
    public static Ipv4Range Parse(string s, string errorId, string what)
    {
        if (!TryParse(s ?? "", out Ipv4Range r))
        {
            throw PscException.Invalid(errorId,
                $"'{s}' is not {what}: give an IPv4 network as a CIDR (198.51.100.0/24), one address (198.51.100.7) or a range (198.51.100.1-198.51.100.9).", s);
        }
        return r;
    }

    public bool Overlaps(Ipv4Range o) => First <= o.Last && o.First <= Last;

    /// <summary>The prefix length when this range is exactly one CIDR, else -1.</summary>
    public int PrefixLength
    {
        get
        {
            for (int n = 0; n <= 32; n++)
            {
                uint mask = Mask(n);
                if ((First & mask) == First && (First | ~mask) == Last)
                {
                    return n;
                }
            }
            return -1;
        }
    }

    /// <summary>As nft and a person write it: "10.0.0.0/8", "198.51.100.7" or "198.51.100.1-198.51.100.9".</summary>
    public override string ToString() => First == Last ? Format(First)
        : PrefixLength is int n && n >= 0 ? Format(First) + "/" + n.ToString(CultureInfo.InvariantCulture)
        : Format(First) + "-" + Format(Last);

    /// <summary>Overlapping and touching ranges joined, sorted: nft refuses an anonymous set whose intervals overlap.</summary>
    public static List<Ipv4Range> Merge(IEnumerable<Ipv4Range> ranges)
    {
        var merged = new List<Ipv4Range>();
        foreach (Ipv4Range r in ranges.OrderBy(r => r.First))
        {
            if (merged.Count > 0 && (merged[^1].Last == uint.MaxValue || r.First <= merged[^1].Last + 1))
            {
                merged[^1] = new Ipv4Range(merged[^1].First, Math.Max(merged[^1].Last, r.Last));
            }
            else
            {
                merged.Add(r);
            }
        }
        return merged;
    }
}
