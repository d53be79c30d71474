using System.Diagnostics;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Faults;

/// <summary>
/// A session (a pwsh process) SIGKILLed while it creates, starts, stops and removes containers in a loop, at
/// several points in time, so some kills land mid-New, some mid-Start, mid-Stop or mid-Remove. A new session must
/// then tell the truth (every container Created, Running or Exited, none damaged) and clean up everything: no
/// cgroup, depot entry or process is left, and the killed session's resident launchers end with it.
/// </summary>
public class SessionKilledTests
{
    [SkippableTheory]
    [InlineData(40)]
    [InlineData(120)]
    [InlineData(250)]
    [InlineData(500)]
    [InlineData(900)]
    public void ANewSessionTellsTheTruthAndLeavesNothing(int killAfterMs)
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        string tag = "psc-kill-" + Guid.NewGuid().ToString("N")[..8];
        string depot = Path.Combine(Path.GetTempPath(), tag);
        var env = new Dictionary<string, string?> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = "/" + tag };
        try
        {
            var psi = new ProcessStartInfo(Pwsh.Executable) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-NoProfile", "-NonInteractive", "-Command",
                "$i = 0; while ($true) { $n = 'k' + $i; New-Container -Name $n /bin/sleep 1000 -MemoryLimit 64MB -PidsLimit 20 | Start-Container; " +
                "Stop-Container -Name $n -Force | Out-Null; if ($i % 2) { Remove-Container -Name $n }; $i++ }" })
            {
                psi.ArgumentList.Add(a);
            }
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
            using var session = Process.Start(psi)!;
            var stderr = new System.Text.StringBuilder();
            session.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
            session.OutputDataReceived += (_, _) => { };
            session.BeginErrorReadLine();
            session.BeginOutputReadLine();
            // Let it get going (the first container exists), then kill it without warning.
            var sw = Stopwatch.StartNew();
            while (!(Directory.Exists(depot) && Directory.EnumerateDirectories(depot).Any()) && sw.Elapsed < TimeSpan.FromSeconds(30) && !session.HasExited)
            {
                Thread.Sleep(5);
            }
            if (session.HasExited)
            {
                // The reader thread appends to stderr meanwhile: read it under its lock, and only when it is needed.
                lock (stderr)
                {
                    Assert.Fail("the session ended by itself: " + stderr);
                }
            }
            Thread.Sleep(killAfterMs);
            int[] launchers = ChildrenNamed(session.Id, "psc-init");
            session.Kill();
            session.WaitForExit();

            // Its launchers see EOF on stdin and end (aborting a start in progress first).
            Assert.True(WaitUntil(() => launchers.All(p => !Alive(p)), TimeSpan.FromSeconds(5)),
                $"launchers of the killed session still alive: {string.Join(", ", launchers.Where(Alive))}");

            // A new session: every container is in a true state and none is damaged; then it removes them all.
            var look = Pwsh.Run(new[] { "-NoProfile", "-NonInteractive", "-Command",
                "$all = @(Get-Container -WarningVariable damaged); \"damaged=$($damaged.Count)\"; foreach ($c in $all) { \"$($c.Name)=$($c.State)\" }; " +
                "Get-Container | Remove-Container -Force -Confirm:$false; New-Container -Name sweep /bin/true | Out-Null; Remove-Container -Name sweep" },
                environment: env);
            Assert.True(look.ExitCode == 0, look.ToString());
            string[] lines = look.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Contains("damaged=0", lines);
            Assert.All(lines.Where(l => l.StartsWith('k')), l => Assert.Matches("^k[0-9]+=(Created|Running|Exited)$", l));
            Assert.True(look.StdErr.Trim().Length == 0, look.ToString());

            // Nothing left: no depot entry (hidden ones included), no cgroup below the root, no process in one.
            string[] left = Directory.GetFileSystemEntries(depot).Select(e => Path.GetFileName(e)!).Where(n => n != ".lock").ToArray();
            Assert.True(left.Length == 0, "left in the depot: " + string.Join(", ", left));
            var cgroupDirs = Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, tag)).Where(Directory.Exists).ToArray();
            Assert.All(cgroupDirs, d => Assert.Empty(Directory.GetDirectories(d)));
            Assert.Empty(ProcessesInCGroupsNamed(tag));
        }
        finally
        {
            foreach (string d in Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, tag)).Where(Directory.Exists))
            {
                foreach (string child in Directory.GetDirectories(d))
                {
                    KillAll(Path.Combine(child, "cgroup.procs"));
                    TryRmdir(child);
                }
                TryRmdir(d);
            }
            if (Directory.Exists(depot))
            {
                Directory.Delete(depot, recursive: true);
            }
        }
    }

    private static int[] ChildrenNamed(int pid, string comm) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(t => (Read(Path.Combine(t, "children")) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse)
            .Where(c => (Read($"/proc/{c}/comm") ?? "").Trim() == comm)
            .ToArray();

    /// <summary>
    /// Live processes in the test's cgroups. Zombies do not count: they are dead and hold nothing but a pid; an init
    /// whose session died is an orphan of the machine's PID 1, which reaps it (or, on some sandboxes, never does).
    /// </summary>
    private static IEnumerable<int> ProcessesInCGroupsNamed(string tag) =>
        Directory.GetDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(n => n!.All(char.IsDigit))
            .Select(n => int.Parse(n!))
            .Where(p => (Read($"/proc/{p}/cgroup") ?? "").Contains("/" + tag + "/") && Alive(p))
            .ToArray();

    private static bool Alive(int pid)
    {
        string? stat = Read($"/proc/{pid}/stat");
        return stat is not null && stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                return false;
            }
            Thread.Sleep(20);
        }
        return true;
    }

    private static void KillAll(string procs)
    {
        foreach (string p in (Read(procs) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                Process.GetProcessById(int.Parse(p)).Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }
    }

    private static void TryRmdir(string dir)
    {
        for (int i = 0; i < 50 && Directory.Exists(dir); i++)
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (IOException)
            {
                Thread.Sleep(20);
            }
        }
    }
}
