using System.Globalization;

namespace PSContainers.Containers;

/// <summary>
/// An exit record as psc-init writes it (a container's "exit", a started process's processes/&lt;id&gt;/exit):
/// "exit_code", "signal" and "exit_time_ns" lines. A signal n makes the exit code 128+n; a field that is missing or
/// does not parse is null.
/// </summary>
internal readonly record struct ExitRecord(int? ExitCode, int? Signal, DateTime? ExitTime)
{
    public static ExitRecord Parse(Dictionary<string, string> exit)
    {
        int? signal = exit.TryGetValue("signal", out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int sig) && sig > 0 ? sig : null;
        int? code = signal is int n ? 128 + n
            : exit.TryGetValue("exit_code", out string? c) && int.TryParse(c, NumberStyles.Integer, CultureInfo.InvariantCulture, out int e) ? e : null;
        DateTime? time = exit.TryGetValue("exit_time_ns", out string? t) && long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns)
            ? DateTime.UnixEpoch.AddTicks(ns / 100) : null;
        return new ExitRecord(code, signal, time);
    }
}
