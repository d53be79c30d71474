using PSContainers.Native;

namespace PSContainers.Engine.Tests.Native;

/// <summary>The raw syscall() wrappers Tmds.LibC lacks answer as the kernel does (right numbers for this architecture).</summary>
public unsafe class SysTests
{
    private const int PR_GET_TIMERSLACK = 30, PR_GET_NO_NEW_PRIVS = 39;

    [Fact]
    public void PrctlReadsWhatProcShows()
    {
        long slack = long.Parse(File.ReadAllText("/proc/self/timerslack_ns").Trim());
        Assert.Equal(slack, Sys.Prctl(PR_GET_TIMERSLACK));
        string nnp = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("NoNewPrivs:")).Split('\t')[1].Trim();
        Assert.Equal(int.Parse(nnp), Sys.Prctl(PR_GET_NO_NEW_PRIVS));
    }

    [Fact]
    public void WaitidOnAProcessThatIsNotOurChildIsEchild()
    {
        byte* siginfo = stackalloc byte[128];
        const int P_PID = 1, WEXITED = 4, WNOHANG = 1;
        Assert.Equal(Errno.ECHILD, Sys.Waitid(P_PID, 1, siginfo, WEXITED | WNOHANG)); // pid 1 is never our child
    }

    [Fact]
    public void PivotRootToAMissingDirectoryIsEnoent() =>
        Assert.Equal(Errno.ENOENT, Sys.PivotRoot("/psc-no-such-root-" + Guid.NewGuid().ToString("N"), "/psc-no-such-old"));

    [Fact]
    public void PidfdOpensAndSignalsOurOwnProcess()
    {
        int fd = Sys.PidfdOpen(Environment.ProcessId);
        Assert.True(fd >= 0, $"pidfd_open failed: {-fd}");
        try
        {
            Assert.Equal(0, Sys.PidfdSendSignal(fd, 0)); // signal 0: the check only
        }
        finally
        {
            Sys.Close(fd);
        }
        int missing = 4_000_000;
        while (File.Exists($"/proc/{missing}/stat"))
        {
            missing--;
        }
        Assert.Equal(-Errno.ESRCH, Sys.PidfdOpen(missing));
    }
}
