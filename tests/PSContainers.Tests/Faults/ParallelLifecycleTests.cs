using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSContainers.Tests.Events;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Faults;

/// <summary>
/// 100 New → Start → Stop → Remove lifecycles of different containers from four runspaces at once: every one
/// succeeds, the depot and the cgroups are empty afterwards, and the process comes back to its baseline (open
/// descriptors, cgroups on the machine, mounts, dying cgroups), within a slack far below one per lifecycle.
/// </summary>
[Collection("ProcessEnvironment")]
public class ParallelLifecycleTests
{
    [SkippableFact]
    public void AHundredLifecyclesFromFourRunspacesAllSucceedAndLeaveTheMachineAsItWas()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        string depot = Path.Combine(Path.GetTempPath(), "psc-par-depot-" + Guid.NewGuid().ToString("N")[..8]);
        string root = "psc-xunit-par-" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", depot);
        Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", root);
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { Repo.Manifest });
        using var pool = RunspaceFactory.CreateRunspacePool(iss);
        pool.SetMinRunspaces(1);
        pool.SetMaxRunspaces(4);
        pool.Open();
        try
        {
            // Warm up (module loaded, launchers started) before taking the baseline.
            Lifecycles(pool, "warm", 4);
            var before = Baseline();
            var errors = Lifecycles(pool, "par", 100);
            Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
            string[] left = Directory.GetFileSystemEntries(depot).Select(e => Path.GetFileName(e)!).Where(n => n != ".lock").ToArray();
            Assert.True(left.Length == 0, "left in the depot: " + string.Join(", ", left));
            Assert.All(Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, root)).Where(Directory.Exists),
                d => Assert.Empty(Directory.GetDirectories(d)));
            // Other tests of this process and the kernel's asynchronous freeing of dying cgroups move these numbers a
            // little; a leak per lifecycle would move them by 100 or more. Dying cgroups get a moment to go.
            const int slack = 20;
            var after = Baseline();
            for (int i = 0; i < 50 && (after.Cgroups > before.Cgroups + slack || after.Dying > before.Dying + slack || after.Fds > before.Fds + slack); i++)
            {
                Thread.Sleep(100);
                after = Baseline();
            }
            Assert.True(after.Fds <= before.Fds + slack, $"descriptors {before.Fds} -> {after.Fds}");
            Assert.True(after.Cgroups <= before.Cgroups + slack, $"cgroups on the machine {before.Cgroups} -> {after.Cgroups}");
            Assert.True(after.Dying <= before.Dying + slack, $"dying cgroups {before.Dying} -> {after.Dying}");
            Assert.True(after.Mounts <= before.Mounts + 5, $"mounts {before.Mounts} -> {after.Mounts}");
        }
        finally
        {
            using (var ps = PowerShell.Create())
            {
                ps.RunspacePool = pool;
                ps.AddScript($"Get-Container | Remove-Container -Force -Confirm:$false; Remove-CGroup -Path /{root} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue");
                ps.Invoke();
            }
            Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", null);
            Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", null);
            if (Directory.Exists(depot))
            {
                Directory.Delete(depot, recursive: true);
            }
        }
    }

    private static List<string> Lifecycles(RunspacePool pool, string prefix, int count)
    {
        var running = Enumerable.Range(0, count).Select(i =>
        {
            var ps = PowerShell.Create();
            ps.RunspacePool = pool;
            ps.AddScript("param($n) New-Container -Name $n /bin/sleep 300 -MemoryLimit 64MB -PidsLimit 20 | Start-Container -PassThru | " +
                "Stop-Container -Force -PassThru | Remove-Container -Confirm:$false").AddArgument($"{prefix}{i}");
            return (ps, ps.BeginInvoke());
        }).ToList();
        var errors = new List<string>();
        foreach (var (ps, handle) in running)
        {
            try
            {
                ps.EndInvoke(handle);
                errors.AddRange(ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}"));
            }
            catch (RuntimeException e)
            {
                errors.Add(e.ErrorRecord.FullyQualifiedErrorId + ": " + e.Message);
            }
            finally
            {
                ps.Dispose();
            }
        }
        return errors;
    }

    private sealed record Snapshot(int Fds, long Cgroups, long Dying, int Mounts);

    private static Snapshot Baseline()
    {
        int fds = Directory.GetFileSystemEntries("/proc/self/fd").Length;
        // /proc/cgroups: "subsys hierarchy num_cgroups enabled", summed over the controllers.
        long cgroups = File.ReadAllLines("/proc/cgroups").Skip(1).Select(l => l.Split('\t')).Where(f => f.Length >= 3).Sum(f => long.Parse(f[2]));
        string stat = "/sys/fs/cgroup/unified/cgroup.stat";
        stat = File.Exists(stat) ? stat : "/sys/fs/cgroup/cgroup.stat";
        long dying = File.Exists(stat)
            ? File.ReadAllLines(stat).Select(l => l.Split(' ')).Where(f => f[0] == "nr_dying_descendants").Select(f => long.Parse(f[1])).FirstOrDefault()
            : 0;
        return new Snapshot(fds, cgroups, dying, File.ReadAllLines("/proc/self/mountinfo").Length);
    }
}
