using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// The pure-v1 code paths on this host's real v1 controllers: the host's mountinfo without its cgroup2 line is
/// exactly what a v1 machine shows, so freeze goes through freezer.state and kill through freeze → SIGKILL → thaw.
/// </summary>
[Trait("Layout", "cgroup")]
public sealed class HostV1PathTests : IDisposable
{
    private readonly CGroupManager? _m;
    private readonly string _root = "/psc-xunit-v1-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<Process> _processes = new();
    private readonly List<string> _log = new();

    public HostV1PathTests()
    {
        var host = CGroupHierarchy.Detect();
        if (Tmds.Linux.LibC.geteuid() != 0 || !host.V1Mounts.Any(m => m.Controllers.Contains("freezer")))
        {
            return;
        }
        string mountinfo = string.Join('\n', File.ReadAllLines("/proc/self/mountinfo").Where(l => !l.Contains(" - cgroup2 ")));
        _m = new CGroupManager(CGroupHierarchy.Parse(mountinfo, _ => null), _root) { Log = _log.Add };
    }

    private CGroupManager M
    {
        get
        {
            Skip.If(_m is null, "needs root and the v1 freezer controller (a v1 or hybrid host)");
            return _m!;
        }
    }

    private Process StartInside(string path, string script)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("read x; " + script);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        M.MoveProcess(p.Id, path);
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        return p;
    }

    [SkippableFact]
    public void TheViewIsPureV1()
    {
        Assert.Equal(CGroupLayout.V1, M.Hierarchy.Layout);
        Assert.Null(M.Unified);
    }

    [SkippableFact]
    public void FreezeUsesTheV1FreezerAndWaitsForFrozen()
    {
        string path = _root + "/freeze";
        M.Create(path);
        var p = StartInside(path, "echo up; exec sleep 60");
        Assert.Equal("up", p.StandardOutput.ReadLine());
        M.Freeze(path);
        Assert.Contains(_log, l => l.Contains("freezer.state") && l.Contains("FROZEN"));
        Assert.True(M.Get(path).Frozen);
        M.Thaw(path);
        Assert.False(M.Get(path).Frozen);
    }

    [SkippableFact]
    public void KillFallsBackToFreezeKillThawAndLeavesNothing()
    {
        string path = _root + "/kill";
        M.Create(path, new CGroupLimits { PidsLimit = 200 });
        var p = StartInside(path, "for i in 1 2 3 4 5 6 7 8; do setsid sh -c 'trap \"\" TERM; sleep 300' & done; (while :; do sleep 0.01 & wait; done) & echo started; wait");
        Assert.Equal("started", p.StandardOutput.ReadLine());
        var pids = M.SubtreeProcessIds(path);
        Assert.True(pids.Count >= 10, $"{pids.Count} processes");
        M.Remove(path, recurse: false, force: true);
        Assert.Contains(_log, l => l.StartsWith("sent SIGKILL", StringComparison.Ordinal));
        Assert.DoesNotContain(_log, l => l.Contains("cgroup.kill"));
        Assert.False(M.Exists(path));
        foreach (int pid in pids)
        {
            var stat = PSContainers.Processes.ProcStat.Read(pid);
            Assert.True(stat is null || stat.State is 'Z' or 'X', $"process {pid} survived");
        }
    }

    [SkippableFact]
    public void RmdirOfABusyCGroupIsRetriedForABoundedTimeThenReported()
    {
        string path = _root + "/busy";
        M.Create(path);
        var p = StartInside(path, "echo up; exec sleep 60");
        Assert.Equal("up", p.StandardOutput.ReadLine());
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<PscException>(() => M.RemoveDirectories(path, TimeSpan.FromMilliseconds(300)));
        sw.Stop();
        Assert.Equal("CGroupRemove,EBUSY", ex.ErrorId);
        Assert.Contains(path, ex.Message);
        Assert.InRange(sw.ElapsedMilliseconds, 250, 3000);
        Assert.True(M.Exists(path));
        Assert.False(p.HasExited);
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                p.Kill(true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
        }
        if (_m is not null)
        {
            if (_m.Exists(_root))
            {
                _m.Remove(_root, recurse: true, force: true, TimeSpan.FromSeconds(10));
            }
            _m.Dispose();
        }
    }
}
