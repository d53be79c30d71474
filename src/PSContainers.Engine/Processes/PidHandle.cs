using PSContainers.Native;
using Tmds.Linux;

namespace PSContainers.Processes;

/// <summary>
/// A pidfd on a process that is verified to be the one we recorded (same start time), so a reused pid is never
/// signalled: the start time is checked after the pidfd is open, and the pidfd keeps naming that process.
/// </summary>
public sealed unsafe class PidHandle : IDisposable
{
    private int _fd;

    private PidHandle(int pid, int fd)
    {
        Pid = pid;
        _fd = fd;
    }

    public int Pid { get; }

    /// <summary>Opens the process if it is alive and started at <paramref name="startTicks"/>; null otherwise.</summary>
    public static PidHandle? Open(int pid, ulong startTicks)
    {
        if (pid <= 0)
        {
            return null;
        }
        int fd = Sys.PidfdOpen(pid);
        if (fd < 0)
        {
            return null;
        }
        var stat = ProcStat.Read(pid);
        if (stat is null || stat.StartTime != startTicks || stat.State is 'Z' or 'X')
        {
            Sys.Close(fd);
            return null;
        }
        return new PidHandle(pid, fd);
    }

    /// <summary>True when the recorded process is still alive (not a zombie).</summary>
    public static bool IsAlive(int pid, ulong startTicks)
    {
        var stat = ProcStat.Read(pid);
        return stat is not null && stat.StartTime == startTicks && stat.State is not ('Z' or 'X');
    }

    /// <summary>Sends a signal through the pidfd; false when the process is gone.</summary>
    public bool Signal(int signal) => Sys.PidfdSendSignal(_fd, signal) == 0;

    /// <summary>Waits until the process exits (the pidfd becomes readable); false on timeout.</summary>
    public bool WaitExit(TimeSpan timeout)
    {
        var p = new pollfd { fd = _fd, events = (short)LibC.POLLIN };
        int ms = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        while (true)
        {
            int r = LibC.poll(&p, 1, ms);
            if (r >= 0)
            {
                return r > 0;
            }
            if (Sys.LastErrno != Errno.EINTR)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Sys.Close(_fd);
            _fd = -1;
        }
    }
}
