using System.Diagnostics;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>
/// Reading a container (Get, List, Wait, its stats and events) changes nothing in the depot, also for a container the
/// OOM killer ended; the OOM kills are logged by whoever observes the exit, once, however many sessions do.
/// </summary>
public class PureReadTests
{
    /// <summary>Starts a memory hog under 24 MiB (and no swap) and returns once its exit is recorded, without reading it through the engine.</summary>
    internal static void RunIntoTheOomKiller(ContainerHost h, string name)
    {
        Skip.If(!h.Manager.CGroups.ControllerTrees.ContainsKey("memory"), "no hierarchy serves the memory controller");
        var memory = new CGroupLimits { MemoryLimit = 24L << 20 };
        var c = h.Manager.Create(new ContainerManager.Request { Name = name, FilePath = "/usr/bin/tail", ArgumentList = new[] { "/dev/zero" }, Limits = memory });
        string tree = h.Manager.CGroups.ControllerTrees["memory"];
        if (h.Manager.CGroups.Trees.Any(t => t.Name == tree && (t.HasFile(c.CGroupPath, "memory.swap.max") || t.HasFile(c.CGroupPath, "memory.memsw.limit_in_bytes"))))
        {
            h.Manager.CGroups.SetLimits(c.CGroupPath, memory with { MemorySwapLimit = 24L << 20 }); // swap would only delay it
        }
        h.Manager.Start(name);
        var sw = Stopwatch.StartNew();
        while (!File.Exists(h.Manager.Depot.FileOf(name, "exit")))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "the memory hog was not killed within 60 s");
            Thread.Sleep(20);
        }
        sw.Restart();
        while ((h.Manager.CGroups.OomKills(c.CGroupPath) ?? 0) == 0 && sw.ElapsedMilliseconds < 5000)
        {
            Thread.Sleep(20);
        }
        Assert.True(h.Manager.CGroups.OomKills(c.CGroupPath) > 0, "the hog ended without an OOM kill");
    }

    /// <summary>Every file of a depot entry: its name, size, bytes and modification time, and the directory's own time.</summary>
    private static string Snapshot(ContainerHost h, string name)
    {
        string dir = h.Manager.Depot.PathOf(name);
        var lines = new List<string> { "dir " + Directory.GetLastWriteTimeUtc(dir).Ticks };
        foreach (string file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            lines.Add($"{info.Name} {info.Length} {info.LastWriteTimeUtc.Ticks} {Convert.ToBase64String(File.ReadAllBytes(file))}");
        }
        return string.Join('\n', lines);
    }

    private static void ReadEveryWay(ContainerManager m, string name)
    {
        m.Get(name);
        _ = m.List().ToList();
        _ = m.Specs().ToList();
        _ = m.Events(name).ToList();
        string path = m.CGroupOf(name);
        if (m.CGroups.Exists(path))
        {
            _ = new ContainerStats(name, m.CGroups.ReadStats(path), null);
        }
        try
        {
            m.Wait(name, TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }
        catch (PscException e) when (e.ErrorId == "WaitTimeout")
        {
            // a running one is still running
        }
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void ReadingARunningAndAnOomKilledContainerChangesNothingInTheDepot()
    {
        using var h = new ContainerHost();
        h.Run("live", "exec sleep 300");
        RunIntoTheOomKiller(h, "hog");
        // Both entries first: a listing reads every container.
        string[] names = { "live", "hog" };
        var before = names.Select(n => Snapshot(h, n)).ToArray();
        Thread.Sleep(20); // a write now would show in the times too
        foreach (string name in names)
        {
            ReadEveryWay(h.Manager, name);
            using var other = h.NewSession();
            ReadEveryWay(other, name);
        }
        Assert.Equal(before, names.Select(n => Snapshot(h, n)).ToArray());
        Assert.True(h.Manager.Get("hog").OomKilled); // read from the cgroup's counter, not from the log
        Assert.Equal(ContainerState.Running, h.Manager.Get("live").State);
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void TheInitLogsTheOomKillOfTheMainProcessWhenItEndsBeforeTheExit()
    {
        using var h = new ContainerHost();
        RunIntoTheOomKiller(h, "hog"); // waits for the exit record through the file system only: no engine call writes
        long kills = h.Manager.CGroups.OomKills(h.Manager.CGroupOf("hog")) ?? 0;
        var events = h.Manager.Events("hog").Select(e => e.Event).ToArray();
        Assert.Equal(Enumerable.Range(1, (int)kills).Select(n => $"count={n}"),
            h.Manager.Events("hog").Where(e => e.Event == "oom-killed").Select(e => e.Details));
        Assert.True(Array.LastIndexOf(events, "oom-killed") < Array.IndexOf(events, "exited"), string.Join(' ', events));
        // The engine's recorder, which comes after the init, finds nothing left to log.
        Assert.Equal(kills, h.Manager.RecordOomKills("hog"));
        Assert.Equal((int)kills, h.Manager.Events("hog").Count(e => e.Event == "oom-killed"));
    }

    /// <summary>
    /// A child is OOM-killed while the main process lives on, so nobody has observed an exit; returns the cgroup and its
    /// final OOM kill count.
    /// </summary>
    private static (string Path, long Kills) OomKillAChild(ContainerHost h, string name)
    {
        Skip.If(!h.Manager.CGroups.ControllerTrees.ContainsKey("memory"), "no hierarchy serves the memory controller");
        h.Run(name, "sh -c 'exec tail /dev/zero'; exec sleep 300", limits: new CGroupLimits { MemoryLimit = 24L << 20 });
        string path = h.Manager.CGroupOf(name);
        string tree = h.Manager.CGroups.ControllerTrees["memory"];
        if (h.Manager.CGroups.Trees.Any(t => t.Name == tree && (t.HasFile(path, "memory.swap.max") || t.HasFile(path, "memory.memsw.limit_in_bytes"))))
        {
            h.Manager.CGroups.SetLimits(path, new CGroupLimits { MemoryLimit = 24L << 20, MemorySwapLimit = 24L << 20 });
        }
        var sw = Stopwatch.StartNew();
        while ((h.Manager.CGroups.OomKills(path) ?? 0) == 0)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "the child was not OOM-killed within 60 s");
            Thread.Sleep(20);
        }
        return (path, h.Manager.CGroups.OomKills(path) ?? 0);
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void TwoSessionsRecordingTheSameOomKillLogItOnce()
    {
        using var h = new ContainerHost();
        var (path, kills) = OomKillAChild(h, "hog");
        // While the init runs it will log the kill itself at the exit: the engine writes nothing.
        Assert.Equal(kills, h.Manager.RecordOomKills("hog"));
        Assert.DoesNotContain(h.Manager.Events("hog"), e => e.Event == "oom-killed");
        // The init dies with its cgroup before it can log anything; then every session that sees the end records it.
        h.Manager.CGroups.Kill(path, TimeSpan.FromSeconds(10));
        var sessions = Enumerable.Range(0, 4).Select(_ => h.NewSession()).ToArray();
        try
        {
            using var start = new Barrier(sessions.Length);
            var counted = new long[sessions.Length];
            Parallel.For(0, sessions.Length, new ParallelOptions { MaxDegreeOfParallelism = sessions.Length }, i =>
            {
                start.SignalAndWait();
                counted[i] = sessions[i].RecordOomKills("hog");
            });
            Assert.All(counted, n => Assert.Equal(kills, n));
            var logged = h.Manager.Events("hog").Where(e => e.Event == "oom-killed").Select(e => e.Details).ToArray();
            Assert.Equal(Enumerable.Range(1, (int)kills).Select(n => $"count={n}"), logged);
            // Stop and Remove observe the same end again: still once.
            h.Manager.Stop("hog", TimeSpan.Zero, force: true);
            Assert.Equal(logged, h.Manager.Events("hog").Where(e => e.Event == "oom-killed").Select(e => e.Details).ToArray());
        }
        finally
        {
            foreach (var s in sessions)
            {
                s.Dispose();
            }
        }
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void StopRecordsTheOomKillsOfAContainerItKills()
    {
        using var h = new ContainerHost();
        var (_, kills) = OomKillAChild(h, "parent");
        Assert.DoesNotContain(h.Manager.Events("parent"), e => e.Event == "oom-killed");
        h.Manager.Stop("parent", TimeSpan.Zero, force: true); // the init dies with the whole cgroup
        Assert.Equal(Enumerable.Range(1, (int)kills).Select(n => $"count={n}"),
            h.Manager.Events("parent").Where(e => e.Event == "oom-killed").Select(e => e.Details));
    }
}
