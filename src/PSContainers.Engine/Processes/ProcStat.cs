using System.Globalization;

namespace PSContainers.Processes;

/// <summary>The fields of /proc/&lt;pid&gt;/stat the engine needs.</summary>
public sealed record ProcStat(int Pid, string Command, char State, int ParentPid, uint Flags, ulong StartTime)
{
    private const uint PF_KTHREAD = 0x00200000;

    public bool IsKernelThread => (Flags & PF_KTHREAD) != 0;

    /// <summary>Reads /proc/&lt;pid&gt;/stat; null when the process does not exist.</summary>
    public static ProcStat? Read(int pid)
    {
        string? text = PSContainers.Native.Sys.ReadFile($"/proc/{pid}/stat", out _);
        return text is null ? null : Parse(text);
    }

    /// <summary>Parses the stat line; the command may contain spaces and parentheses, so split at the last ')'.</summary>
    public static ProcStat Parse(string text)
    {
        int open = text.IndexOf('(');
        int close = text.LastIndexOf(')');
        int pid = int.Parse(text[..open].Trim(), CultureInfo.InvariantCulture);
        string comm = text[(open + 1)..close];
        string[] f = text[(close + 2)..].Split(' ');
        // f[0] = state (field 3), f[1] = ppid (4), f[6] = flags (9), f[19] = starttime (22)
        return new ProcStat(pid, comm, f[0][0], int.Parse(f[1], CultureInfo.InvariantCulture),
            uint.Parse(f[6], CultureInfo.InvariantCulture), ulong.Parse(f[19], CultureInfo.InvariantCulture));
    }
}
