using System.Globalization;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Faults;

/// <summary>
/// 1000 New → Start → Stop → Remove cycles in one session of their own (a pwsh process, so its numbers are its
/// own): the session's descriptors, managed heap and resident memory stop growing, and the machine's cgroups
/// (/proc/cgroups), dying cgroups and mounts come back to where they were.
/// </summary>
public class ThousandCyclesTests
{
    private const string Script = """
        param([int] $Warm, [int] $Half)
        function Snap {
            [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
            $status = [System.IO.File]::ReadAllLines('/proc/self/status')
            $rss = ($status | Where-Object { $_ -like 'VmRSS:*' }) -replace '\D', ''
            # An assembly loaded once (say for the first exception's stack trace) holds descriptors for good: counted
            # apart, since a leak is a descriptor per cycle, not a file mapped once.
            $fds = 0; $dlls = 0; $kinds = @{}
            foreach ($fd in [System.IO.Directory]::GetFileSystemEntries('/proc/self/fd')) {
                $target = try { [System.IO.File]::ResolveLinkTarget($fd, $false).FullName } catch { '' }
                if ($target -like '*.dll') { $dlls++ } else { $fds++; $kind = $target -replace '\[\d+\]$', '' -replace '^/.*/', '/…/'; $kinds[$kind] = 1 + $kinds[$kind] }
            }
            "SNAP fds=$fds dlls=$dlls heap=$([GC]::GetTotalMemory($true)) rss=$([long]$rss * 1024) kinds=$(($kinds.Keys | ForEach-Object { "$_*$($kinds[$_])" }) -join ';')"
        }
        function Cycle([string] $n) {
            New-Container -Name $n /bin/sleep -ArgumentList 300 -MemoryLimit 64MB -PidsLimit 20 | Start-Container -PassThru |
                Stop-Container -Force -PassThru | Remove-Container
        }
        for ($i = 0; $i -lt $Warm; $i++) { Cycle "w$i" }
        Snap
        for ($i = 0; $i -lt $Half; $i++) { Cycle "a$i" }
        Snap
        for ($i = 0; $i -lt $Half; $i++) { Cycle "b$i" }
        Snap
        """;

    [SkippableFact]
    public void AThousandCyclesLeaveTheSessionAndTheMachineAsTheyWere()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        string tag = "psc-cycles-" + Guid.NewGuid().ToString("N")[..8];
        using var dir = new TempDir();
        string script = dir.Write("cycles.ps1", Script);
        string depot = Path.Combine(dir.Path, "depot");
        var machineBefore = Machine.Now();
        ShellResult r;
        try
        {
            r = Pwsh.Run(new[] { "-NoProfile", "-NonInteractive", "-File", script, "-Warm", "100", "-Half", "500" },
                environment: new Dictionary<string, string?> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = "/" + tag },
                timeout: TimeSpan.FromMinutes(5));
        }
        finally
        {
            foreach (string h in Directory.GetDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup"))
            {
                string d = Path.Combine(h, tag);
                if (Directory.Exists(d))
                {
                    Directory.Delete(d); // rmdir: a cgroup with a child or a process left would throw, and fail the test
                }
            }
        }
        Assert.True(r.ExitCode == 0 && r.StdErr.Trim().Length == 0, r.ToString());
        var snaps = Pwsh.Lines(r.StdOut).Where(l => l.StartsWith("SNAP ", StringComparison.Ordinal)).Select(Session.Parse).ToArray();
        Assert.True(snaps.Length == 3, r.ToString());
        var (warm, half, end) = (snaps[0], snaps[1], snaps[2]);
        Console.WriteLine($"1000 cycles: after warm-up {warm}, after 500 {half}, after 1000 {end}");

        // The first 500 may still fill caches (launcher pool, JIT tiers, paged-in code); the second 500 must not grow.
        Assert.True(end.Fds <= half.Fds, $"descriptors grew over the last 500 cycles: {half} -> {end}");
        Assert.True(end.Fds <= warm.Fds + 4, $"descriptors grew over 1000 cycles: {warm} -> {end}");
        Assert.True(end.Heap - half.Heap < 256 * 1024, $"managed heap grew over the last 500 cycles: {half} -> {end}");
        // Resident memory moves with code paged in and assemblies loaded once; a native leak of 16 kB a cycle would pass 8 MB.
        Assert.True(end.Rss - half.Rss < 8L * 1024 * 1024, $"resident memory grew over the last 500 cycles: {half} -> {end}");

        Assert.False(Directory.Exists(depot) && Directory.EnumerateDirectories(depot).Any(), "containers left in the depot");
        // Other tests run meanwhile (their containers come and go) and the kernel frees dying cgroups late: up to 30 s
        // for the count to come back. A leak per cycle would show as hundreds and never come back.
        const int slack = 20;
        var machineAfter = Machine.Now();
        for (int i = 0; i < 300 && !machineAfter.IsWithin(machineBefore, slack); i++)
        {
            Thread.Sleep(100);
            machineAfter = Machine.Now();
        }
        Assert.True(machineAfter.IsWithin(machineBefore, slack), $"the machine did not come back: {machineBefore} -> {machineAfter}");
    }

    private sealed record Session(int Fds, int Dlls, long Heap, long Rss, string Kinds)
    {
        public static Session Parse(string line)
        {
            string kinds = line[(line.IndexOf(" kinds=", StringComparison.Ordinal) + 7)..];
            var f = line[5..line.IndexOf(" kinds=", StringComparison.Ordinal)].Split(' ').Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
            return new Session((int)f["fds"], (int)f["dlls"], f["heap"], f["rss"], kinds);
        }

        public override string ToString() => $"fds {Fds} ({Kinds}) + {Dlls} assembly files, heap {Heap / 1024} kB, rss {Rss / 1024} kB";
    }

    private sealed record Machine(long Cgroups, long Dying, int Mounts)
    {
        public static Machine Now()
        {
            long cgroups = File.ReadAllLines("/proc/cgroups").Skip(1).Select(l => l.Split('\t')).Where(f => f.Length >= 3).Sum(f => long.Parse(f[2], CultureInfo.InvariantCulture));
            string stat = File.Exists("/sys/fs/cgroup/unified/cgroup.stat") ? "/sys/fs/cgroup/unified/cgroup.stat" : "/sys/fs/cgroup/cgroup.stat";
            long dying = File.Exists(stat)
                ? File.ReadAllLines(stat).Select(l => l.Split(' ')).Where(f => f[0] == "nr_dying_descendants").Select(f => long.Parse(f[1], CultureInfo.InvariantCulture)).FirstOrDefault()
                : 0;
            return new Machine(cgroups, dying, File.ReadAllLines("/proc/self/mountinfo").Length);
        }

        public bool IsWithin(Machine before, int slack) =>
            Cgroups <= before.Cgroups + slack && Dying <= before.Dying + slack && Mounts <= before.Mounts + 5;
    }
}
