using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace PSContainers.Containers;

/// <summary>A tracked start: psc-init stays as the process's tracker, and the engine only waits for its one answer.</summary>
public sealed partial class PreparedExec
{
    /// <summary>
    /// Starts the program detached: psc-init (its tracker, outside the engine's session and process group) records its
    /// state, output and exit in <paramref name="recordDir"/> (psc-init/README.md, "Tracked processes"), rotating the
    /// output at <paramref name="logMax"/> bytes. Returns the program's host pid once it runs.
    /// </summary>
    internal int StartTracked(string recordDir, long logMax)
    {
        byte[] extra = Encoding.UTF8.GetBytes($"proc={recordDir}\0log_max={logMax.ToString(CultureInfo.InvariantCulture)}\0");
        byte[] config = new byte[_config.Length + extra.Length];
        _config.CopyTo(config, 0);
        extra.CopyTo(config, _config.Length);
        Process process = Launch(config, out string conf);
        using (process)
        {
            try
            {
                var stderr = process.StandardError.ReadToEndAsync();
                string? line = process.StandardOutput.ReadLine();
                string[] f = (line ?? "").Split(' ', 4);
                if (f.Length >= 3 && f[0] == "exec" && f[1] == "0" && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    Pid = pid;
                    return pid;
                }
                process.WaitForExit(5000);
                throw Failure(f) ?? Protocol(line ?? "<end of output>", stderr);
            }
            finally
            {
                TryDelete(conf);
                try
                {
                    process.StandardInput.Close(); // the tracker no longer reads it; before its answer EOF aborts the start
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
            }
        }
    }
}
