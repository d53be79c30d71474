using System.Diagnostics;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using Xunit.Abstractions;

namespace PSContainers.Engine.Tests.Network;

/// <summary>Nothing of a bridged container outlives it: 200 create/remove cycles, sessions killed mid-setup, entries deleted by hand.</summary>
// 200 cycles take 9 minutes under the VM lane's emulated CPUs and a killed session six pwsh starts, so only the hand-
// deleted entry's sweep runs there (Layout=network); the other two run on the host, where they take 40 s and 20 s.
public class NetworkCleanupTests
{
    private readonly ITestOutputHelper _out;

    public NetworkCleanupTests(ITestOutputHelper output) => _out = output;

    /// <summary>What is left in the depot's folder, relative: only the pool's cursor may be.</summary>
    private static string[] DepotFiles(BridgeLab b) =>
        Directory.GetFileSystemEntries(b.M.Depot.Root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(b.M.Depot.Root, f)).Where(f => !IsLockFile(f)).OrderBy(f => f, StringComparer.Ordinal).ToArray();

    private static bool IsLockFile(string f) => Path.GetFileName(f).EndsWith(".lock", StringComparison.Ordinal) || Path.GetFileName(f) == "lock";

    /// <summary>Nothing of one container in the lab's host: no link with its alias, no chain, no map element of its address.</summary>
    private static void AssertNothingOf(BridgeLab b, string name, string? address)
    {
        string links = b.InHost("ip", "-d", "link", "show");
        Assert.DoesNotContain("/" + name, links, StringComparison.Ordinal);
        string rules = b.Ruleset();
        Assert.DoesNotContain(NftRules.ChainOf(name), rules, StringComparison.Ordinal);
        if (address is not null)
        {
            Assert.DoesNotContain(address + " ", rules, StringComparison.Ordinal);
            Assert.DoesNotContain(address + ",", rules, StringComparison.Ordinal);
        }
        string[] mounts = b.DepotMounts().Where(l => l.Contains("/" + name + "/", StringComparison.Ordinal) || l.Contains("." + name + ".", StringComparison.Ordinal)).ToArray();
        Assert.True(mounts.Length == 0, string.Join("\n", mounts) + "\n" + string.Join("\n", Directory.GetFileSystemEntries(b.M.Depot.Root, "*", SearchOption.AllDirectories)));
    }

    [SkippableFact]
    public void Two_hundred_create_remove_cycles_leave_no_link_rule_qdisc_mount_or_port()
    {
        using var b = new BridgeLab(poolFirst: 63000, poolLast: 63099);
        var create = new Stopwatch();
        var remove = new Stopwatch();
        var all = Stopwatch.StartNew();
        const int cycles = 200;
        for (int i = 0; i < cycles; i++)
        {
            string name = "nt-cyc" + (i % 7);
            create.Start();
            b.Create(name, "/bin/true", Array.Empty<string>(),
                publish: i % 2 == 0 ? new[] { "0:80", "0:53/udp" } : null,
                deny: i % 3 == 0 ? new[] { "0.0.0.0/0" } : null,
                limit: i % 4 == 0 ? 1_000_000 : null);
            create.Stop();
            if (i % 50 == 0)
            {
                // Now and then, a living one: its objects are there while it is.
                Assert.Contains(BridgeNetwork.Read(b.M.Depot.PathOf(name))!.HostInterface, b.HostLinks());
            }
            remove.Start();
            b.M.Remove(name, force: true);
            remove.Stop();
        }
        all.Stop();
        _out.WriteLine($"{cycles} cycles in {all.Elapsed.TotalSeconds:F1} s: create {create.Elapsed.TotalMilliseconds / cycles:F1} ms, remove {remove.Elapsed.TotalMilliseconds / cycles:F1} ms on average");
        b.AssertNothingLeft();
        Assert.Equal(new[] { ".network", Path.Combine(".network", "port-cursor") }, DepotFiles(b));
    }

    [SkippableFact]
    public void A_session_killed_while_creating_leaves_nothing_a_new_session_does_not_clean()
    {
        string module = Path.Combine(Fixtures.RepoRoot, "out", "PSContainers", "0.1.0", "PSContainers.psd1");
        Skip.IfNot(File.Exists(module), $"needs the built module at {module} (dotnet build PSContainers.sln)");
        using var b = new BridgeLab();
        // pwsh's apphost itself, not `dotnet pwsh`: the session must be this process's child, so that once killed it
        // is reaped (a grandchild's zombie would keep its pid, and its staging entry would look alive).
        var (pathExit, pwshPath) = RunTool(Path.Combine(Fixtures.RepoRoot, "tests", "pwsh-path.sh"));
        Skip.If(pathExit != 0 || !File.Exists(pwshPath), $"no pwsh apphost (tests/pwsh-path.sh said '{pwshPath}')");
        string script = $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{module}}'
            [Console]::Out.WriteLine('ready'); [Console]::Out.Flush()
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $null = New-Container -Name nt-killed -Network Bridge -PublishPort 0:80, 5353:53/udp -DenyNetwork 0.0.0.0/0 -BandwidthLimit 1MB -FilePath /bin/true
            [Console]::Out.WriteLine("done $($sw.Elapsed.TotalMilliseconds)"); [Console]::Out.Flush()
            """;

        // A whole run first: how long the create takes in a child session (the kills are spread over it).
        var (whole, _) = RunChild(b, pwshPath, script, killAfter: null);
        double createMs = double.Parse(whole.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        _out.WriteLine($"New-Container -Network Bridge in a child session: {createMs:F0} ms");
        string address = b.M.Get("nt-killed").IPAddress!;
        b.M.Remove("nt-killed", force: true);
        AssertNothingOf(b, "nt-killed", address);

        using var session = b.Host.NewSession();
        session.Network = b.Settings;
        foreach (double fraction in new[] { 0.05, 0.2, 0.4, 0.6, 0.8, 1.0 })
        {
            var (output, killedAt) = RunChild(b, pwshPath, script, TimeSpan.FromMilliseconds(createMs * fraction));
            bool finished = output.Contains("done", StringComparison.Ordinal);
            _out.WriteLine($"killed after {killedAt:F0} ms ({fraction:P0}): {(finished ? "the create had finished" : "mid-create")}");
            if (session.Depot.Exists("nt-killed"))
            {
                session.Remove("nt-killed", force: true); // made whole before the kill: an ordinary remove
            }
            else
            {
                StaleSweep.Run(session); // what a new session's create runs first
            }
            AssertNothingOf(b, "nt-killed", address);
            var stale = session.Depot.StaleEntries();
            Assert.True(stale.Count == 0, string.Join("\n", stale.SelectMany(e => Directory.GetFileSystemEntries(e.Dir, "*", SearchOption.AllDirectories)))
                + "\n" + string.Join("\n", File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains("nt-killed", StringComparison.Ordinal))));
        }

        // The bridge and table, if a kill left them with no container, go with the next container's removal.
        b.Create("nt-after", "/bin/true", Array.Empty<string>(), publish: new[] { "0:80" });
        Assert.Equal(new[] { "nt-after" }, b.M.Depot.Names());
        b.M.Remove("nt-after", force: true);
        b.AssertNothingLeft();
    }

    /// <summary>Runs the script in a child pwsh of its own process group; kills the group <paramref name="killAfter"/> after it said "ready".</summary>
    private static (int Exit, string Output) RunTool(string file)
    {
        using var p = Process.Start(new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
            return (-1, "timed out");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result.Trim());
    }

    private static (string Output, double KilledAtMs) RunChild(BridgeLab b, string pwsh, string script, TimeSpan? killAfter)
    {
        var psi = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Fixtures.RepoRoot };
        foreach (string a in new[] { pwsh, "-NoProfile", "-NonInteractive", "-Command", script })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PSCONTAINERS_DEPOT"] = b.M.Depot.Root;
        psi.Environment["PSCONTAINERS_CGROUP_ROOT"] = b.Host.Root;
        psi.Environment["PSCONTAINERS_STORE"] = b.M.Store.Root;
        psi.Environment["PSCONTAINERS_HOST_NETNS"] = b.Lab.HostNetns;
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            string? line = ReadLine(p, TimeSpan.FromSeconds(60));
            Assert.True(line == "ready", $"the child said '{line}' ({(p.HasExited ? stderr.Result : "")})");
            var sw = Stopwatch.StartNew();
            if (killAfter is TimeSpan delay)
            {
                Thread.Sleep(delay);
                Tmds.Linux.LibC.kill(-p.Id, Tmds.Linux.LibC.SIGKILL); // the session and every tool it runs
                Assert.True(p.WaitForExit(10_000), "the killed child did not end");
                // Its tools (nsenter, ip, nft) are gone too before anything is judged.
                WaitUntil(() => !Directory.EnumerateDirectories("/proc").Any(d => InGroup(d, p.Id)), TimeSpan.FromSeconds(10));
                return (p.StandardOutput.ReadToEnd(), sw.Elapsed.TotalMilliseconds);
            }
            string? done = ReadLine(p, TimeSpan.FromSeconds(60));
            Assert.True(done?.StartsWith("done ", StringComparison.Ordinal) == true, $"the child said '{done}': {(p.WaitForExit(10_000) ? stderr.Result : "")}");
            Assert.True(p.WaitForExit(30_000), "the child did not end");
            return (done!, sw.Elapsed.TotalMilliseconds);
        }
        finally
        {
            if (!p.HasExited)
            {
                Tmds.Linux.LibC.kill(-p.Id, Tmds.Linux.LibC.SIGKILL);
                p.WaitForExit(10_000);
            }
        }
    }

    private static string? ReadLine(Process p, TimeSpan timeout)
    {
        var line = p.StandardOutput.ReadLineAsync();
        return line.Wait(timeout) ? line.Result : throw new TimeoutException($"the child wrote no line within {timeout.TotalSeconds} s");
    }

    private static bool InGroup(string procDir, int pgid)
    {
        try
        {
            string stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return f.Length > 2 && f[2] == pgid.ToString(System.Globalization.CultureInfo.InvariantCulture) && f[0] != "Z";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"not within {timeout.TotalSeconds} s");
            Thread.Sleep(20);
        }
    }

    [Trait("Layout", "network")]
    [SkippableFact]
    public void The_network_sweep_cleans_the_objects_of_an_entry_deleted_by_hand()
    {
        using var b = new BridgeLab();
        b.Create("nt-gone", "/bin/true", Array.Empty<string>(), publish: new[] { "0:80", "5353:53/udp" }, deny: new[] { "0.0.0.0/0" }, limit: 1_000_000);
        b.Create("nt-kept", "/bin/true", Array.Empty<string>(), publish: new[] { "8080:80" });
        NetworkState gone = BridgeNetwork.Read(b.M.Depot.PathOf("nt-gone"))!;
        Assert.Contains(gone.IfbInterface, b.HostLinks());

        string entry = b.M.Depot.PathOf("nt-gone");
        HostCommand.Run("umount", Path.Combine(entry, BridgeNetwork.NetnsFile));
        HostCommand.Run("rm", "-rf", entry);
        Assert.False(b.M.Depot.Exists("nt-gone"));

        b.M.Log = _out.WriteLine;
        NetworkSweep.Run(b.M);
        AssertNothingOf(b, "nt-gone", gone.Address);
        string[] links = b.HostLinks();
        Assert.DoesNotContain(gone.HostInterface, links);
        Assert.DoesNotContain(gone.IfbInterface, links);
        string map = b.InHost("nft", "list", "map", "inet", "psc0", "published");
        Assert.DoesNotContain("5353", map, StringComparison.Ordinal);
        Assert.Contains("tcp . 8080", map, StringComparison.Ordinal); // the other container's is untouched
        Assert.Contains(NftRules.ChainOf("nt-kept"), b.Ruleset(), StringComparison.Ordinal);

        b.M.Remove("nt-kept", force: true);
        b.AssertNothingLeft();
    }
}
