using System.Globalization;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Linux signal names and numbers (the same on x86_64 and arm64) as Stop-ContainerProcess -Signal takes them.</summary>
public static class Signals
{
    private static readonly string[] Names =
    {
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    };

    /// <summary>"USR1", "SIGUSR1" (any case) or a number 1-64; InvalidSignal otherwise.</summary>
    public static int Parse(string signal)
    {
        string s = signal.Trim();
        if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 64)
        {
            return n;
        }
        string name = s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? s[3..] : s;
        int i = Array.FindIndex(Names, x => x.Length > 0 && string.Equals(x, name, StringComparison.OrdinalIgnoreCase));
        return i > 0 ? i : throw PscException.Invalid("InvalidSignal",
            $"'{signal}' is not a signal; give a name such as TERM, SIGUSR1 or KILL, or a number from 1 to 64.", signal);
    }

    /// <summary>"SIGUSR1" for 10; "SIG42" for a number without a name.</summary>
    public static string Name(int signal) => signal is > 0 and < 32 ? "SIG" + Names[signal] : "SIG" + signal.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every name, for completion.</summary>
    public static IEnumerable<string> All => Names.Where(n => n.Length > 0);
}
