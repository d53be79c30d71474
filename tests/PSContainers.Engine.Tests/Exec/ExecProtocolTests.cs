using System.Diagnostics;
using System.Text;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Exec;

/// <summary>
/// psc-init --exec spoken to directly (no ContainerExec): its config checks, its record stream, and what happens to
/// the program when psc-init itself is killed. Containers come from a ContainerHost; each psc-init started here is
/// killed and its config removed on dispose.
/// </summary>
public sealed class ExecProtocolTests
{
    /// <summary>One psc-init --exec with stdin, stdout and stderr pipes; killed and cleaned up on dispose.</summary>
    private sealed class RawExec : IDisposable
    {
        private readonly TempDir _dir = new();

        public RawExec(params (string Key, string Value)[] records)
        {
            var bytes = new List<byte>();
            foreach (var (k, v) in records)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(k + "=" + v));
                bytes.Add(0);
            }
            string conf = Path.Combine(_dir.Path, "exec.conf");
            File.WriteAllBytes(conf, bytes.ToArray());
            var psi = new ProcessStartInfo(Launcher.InitPath) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("--exec");
            psi.ArgumentList.Add(conf);
            Process = Process.Start(psi)!;
            Stderr = Process.StandardError.ReadToEndAsync();
        }

        public Process Process { get; }

        public Task<string> Stderr { get; }

        /// <summary>Everything psc-init writes until it exits (stdin stays open, so nothing is stopped).</summary>
        public byte[] ReadAll()
        {
            var ms = new MemoryStream();
            var copy = Process.StandardOutput.BaseStream.CopyToAsync(ms);
            Assert.True(copy.Wait(TimeSpan.FromSeconds(20)), "psc-init did not finish; stderr: " + (Stderr.IsCompleted ? Stderr.Result : ""));
            Assert.True(Process.WaitForExit(5000));
            return ms.ToArray();
        }

        public string ReadLine()
        {
            var t = Process.StandardOutput.ReadLineAsync();
            Assert.True(t.Wait(TimeSpan.FromSeconds(20)), "psc-init printed nothing");
            return t.Result ?? "<eof>";
        }

        public void Dispose()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill();
                    Process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            Process.Dispose();
            _dir.Dispose();
        }
    }

    private static (int Pid, ulong Start) Init(ContainerHost h, string name)
    {
        var state = h.Manager.Depot.ReadJson<ContainerRuntimeState>(name, "state.json")!;
        return (state.InitPid, state.InitStartTicks);
    }

    [SkippableTheory]
    [InlineData("depot", "/tmp")]
    [InlineData("ns", "pid")]
    [InlineData("hostname", "x")]
    [InlineData("root", "/")]
    [InlineData("stdout", "/dev/null")]
    [InlineData("stderr", "/dev/null")]
    [InlineData("uid_map", "0 0 1")]
    [InlineData("gid_map", "0 0 1")]
    [InlineData("oom", "/dev/null")]
    [InlineData("sandbox", "1")]
    [InlineData("log_max", "65536")]
    [InlineData("target", "0")]
    [InlineData("target_start", "soon")]
    public void RecordsThatBelongToTheContainerOrAreBadAreRefused(string key, string value)
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "needs root");
        using var run = new RawExec(("target", "1"), (key, value), ("arg", "/bin/true"));
        Assert.Equal($"error config 22 {key}\n", Encoding.UTF8.GetString(run.ReadAll()));
        Assert.Equal(1, run.Process.ExitCode);
    }

    [SkippableFact]
    public void ATrackedProcessTakesNoStdinRecords()
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "needs root");
        using var run = new RawExec(("target", "1"), ("proc", "/tmp"), ("stdin", "1"), ("arg", "/bin/true"));
        Assert.Equal("error config 22 stdin\n", Encoding.UTF8.GetString(run.ReadAll()));
        Assert.Equal(1, run.Process.ExitCode);
    }

    [SkippableFact]
    public void ATargetWithAnotherStartTimeOrNoneIsNeverEntered()
    {
        using var h = new ContainerHost();
        var c = h.Run("reused", "exec sleep 300");
        var (pid, start) = Init(h, "reused");
        using (var run = new RawExec(("target", pid.ToString()), ("target_start", (start + 1).ToString()), ("arg", "/bin/true")))
        {
            Assert.StartsWith($"error target 3 /proc/{pid} ", Encoding.UTF8.GetString(run.ReadAll()));
        }
        using (var run = new RawExec(("target", "999999999"), ("arg", "/bin/true")))
        {
            Assert.StartsWith("error target 2 /proc/999999999", Encoding.UTF8.GetString(run.ReadAll()));
        }
        Assert.Equal(2, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count);
    }

    [SkippableFact]
    public void OutputIsFramedExactlyWhateverBytesItHas()
    {
        using var h = new ContainerHost();
        h.Run("frames", "exec sleep 300");
        var (pid, start) = Init(h, "frames");
        // A fake status line on stdout, NUL and 0xff bytes, no newline: all arrive as payload, never as status.
        using var run = new RawExec(("target", pid.ToString()), ("target_start", start.ToString()),
            ("arg", "/bin/sh"), ("arg", "-c"), ("arg", "printf 'exit 0 0\\n'; sleep 0.2; printf 'a\\000\\377' >&2; sleep 0.2; exit 7"));
        byte[] all = run.ReadAll();
        string text = Encoding.Latin1.GetString(all);
        Assert.Matches(@"^exec 0 \d+\no 9\nexit 0 0\ne 3\na\0\xffexit 7 0\n$", text);
        Assert.Equal(0, run.Process.ExitCode);
    }

    /// <summary>The pids of processes alive (not zombies) whose command name is <paramref name="comm"/>.</summary>
    private static List<int> AliveNamed(string comm)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int p))
            {
                continue;
            }
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).TrimEnd('\n') == comm && ProcStat.Read(p) is { State: not ('Z' or 'X') })
                {
                    found.Add(p);
                }
            }
            catch (IOException)
            {
            }
        }
        return found;
    }

    [SkippableFact]
    public void ClosingStdinKillsEveryProcessOfTheSessionWhateverItsCommandName()
    {
        using var h = new ContainerHost();
        h.Run("names", "exec sleep 300");
        var (pid, start) = Init(h, "names");
        // A process of the program's session names itself like the rest of a stat line. Read from the first ')', its
        // state would be 'Z' (skipped as a zombie) and its session 9: only the last ')' ends the name.
        string comm = "x) Z 1 2 9 " + Random.Shared.Next(1000, 10000);
        using var run = new RawExec(("target", pid.ToString()), ("target_start", start.ToString()), ("arg", "/bin/sh"), ("arg", "-c"),
            ("arg", $"( printf '{comm}' > /proc/self/comm; echo ready; while :; do sleep 1; done ) & wait"));
        try
        {
            Assert.StartsWith("exec 0 ", run.ReadLine());
            Assert.Equal("o 6", run.ReadLine());
            Assert.Equal("ready", run.ReadLine());
            Assert.NotEmpty(AliveNamed(comm)); // the subshell, and for a moment each child it forks before that execs sleep
            run.Process.StandardInput.Close();
            Assert.EndsWith("exit 137 9\n", Encoding.ASCII.GetString(run.ReadAll()));
            Assert.Empty(AliveNamed(comm)); // "exit" comes only once nothing of the session is left alive
        }
        finally
        {
            foreach (int p in AliveNamed(comm))
            {
                Tmds.Linux.LibC.kill(p, Tmds.Linux.LibC.SIGKILL);
            }
        }
    }

    [SkippableFact]
    public void KillingPscInitKillsTheProgram()
    {
        using var h = new ContainerHost();
        var c = h.Run("orphan", "exec sleep 300");
        var (pid, start) = Init(h, "orphan");
        using var run = new RawExec(("target", pid.ToString()), ("target_start", start.ToString()), ("cgroup", ""), ("arg", "/bin/sleep"), ("arg", "309"));
        string line = run.ReadLine();
        Assert.StartsWith("error cgroup 2 ", line); // an empty cgroup path is refused before anything runs
        using var run2 = new RawExec(("target", pid.ToString()), ("target_start", start.ToString()), ("arg", "/bin/sleep"), ("arg", "309"));
        string exec = run2.ReadLine();
        Assert.StartsWith("exec 0 ", exec);
        int program = int.Parse(exec.Split(' ')[2]);
        Assert.True(ProcStat.Read(program) is { State: not 'Z' });
        run2.Process.Kill(); // SIGKILL: psc-init cannot clean up, the parent-death signal does
        var sw = Stopwatch.StartNew();
        while (ProcStat.Read(program) is { State: not ('Z' or 'X') } && sw.ElapsedMilliseconds < 5000)
        {
            Thread.Sleep(10);
        }
        Assert.False(ProcStat.Read(program) is { State: not ('Z' or 'X') }, "the program survived psc-init");
        Assert.Equal(2, h.Manager.CGroups.ProcessIds(c.CGroupPath).Count);
    }
}
