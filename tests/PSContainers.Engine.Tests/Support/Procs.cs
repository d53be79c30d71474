using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Support;

/// <summary>What the tests that kill process trees ask /proc about a process.</summary>
public static class Procs
{
    /// <summary>The command name, or "" once the process is gone.</summary>
    public static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>
    /// Still the same process (pid and start time), not a zombie and not already exiting (PF_EXITING): a killed task
    /// leaves its cgroup early in its exit.
    /// </summary>
    public static bool Alive(int pid, ulong start)
    {
        const uint PfExiting = 0x4;
        var st = ProcStat.Read(pid);
        return st is not null && st.StartTime == start && st.State is not ('Z' or 'X') && (st.Flags & PfExiting) == 0;
    }
}
