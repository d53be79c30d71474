using System.Diagnostics;
using System.Text.Json;
using PSContainers.CGroups;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.CGroups;

/// <summary>
/// A limit must mean the same here as under runc: the same limits are given to runc (Debian's package) and to
/// the engine, and the files each leaves in the kernel's cgroups are compared one by one: v1 files on v1 and hybrid hosts,
/// v2 files (memory.max, memory.swap.max, cpu.max, cpu.weight, …) on pure v2 (the VM lane, tests/vm/lane.sh).
/// </summary>
[Trait("Layout", "cgroup")]
public class RuncComparisonTests
{
    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>
    /// Runs a command with its output in a file, not a pipe: runc create hands its stdio to the waiting
    /// container process, so a pipe would never see end-of-file.
    /// </summary>
    private static (int Code, string Output) Run(string file, params string[] args)
    {
        string log = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/bin/sh");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$@\" </dev/null >\"$0\" 2>&1");
            psi.ArgumentList.Add(log);
            psi.ArgumentList.Add(file);
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(60_000))
            {
                p.Kill(true);
                return (-1, "timed out: " + file + " " + string.Join(' ', args));
            }
            return (p.ExitCode, File.ReadAllText(log));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [SkippableTheory]
    [InlineData(256L << 20, 512L << 20, 1.5, 200, "0", 100L)]
    [InlineData(64L << 20, 64L << 20, 0.25, 1, "1", 10L)]
    [InlineData(1L << 30, -1L, 2.0, 10000, "0-1", 4096L)]
    public void TheEngineWritesWhatRuncWritesForTheSameLimits(long memory, long memsw, double cpus, int weight, string cpuset, long pids)
    {
        using var h = new HostCGroups();
        string? runc = Which("runc");
        Skip.If(runc is null, "runc is not installed (CI installs Debian's runc package for this comparison)");
        bool v2 = h.Layout == CGroupLayout.V2;
        Skip.If(Environment.ProcessorCount < 2 && cpuset.Contains('1'), "needs two CPUs");
        Skip.If(!v2 && memsw != -1 && h.Manager.Hierarchy.V1Mounts.All(m => !File.Exists(Path.Combine(m.MountPoint, "memory.memsw.limit_in_bytes"))), "swap accounting is off");

        using var bundle = new TempDir();
        string rootfs = Path.Combine(bundle.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "proc"));
        // A static program that waits: runc create stops before exec, so it never runs, but must exist.
        File.WriteAllText(Path.Combine(bundle.Path, "pause.c"), "#include <unistd.h>\nint main(void){pause();return 0;}\n");
        var cc = Run("cc", "-static", "-O2", "-o", Path.Combine(rootfs, "pause"), Path.Combine(bundle.Path, "pause.c"));
        Skip.If(cc.Code != 0, "cannot build a static test program: " + cc.Output);

        string runcPath = h.Root + "/runc";
        var resources = new Dictionary<string, object>
        {
            ["memory"] = new Dictionary<string, object> { ["limit"] = memory, ["swap"] = memsw },
            ["cpu"] = new Dictionary<string, object>
            {
                ["shares"] = CGroupLimits.WeightToShares(weight), ["quota"] = CGroupLimits.CpuQuota(cpus), ["period"] = CGroupLimits.CpuPeriod, ["cpus"] = cpuset,
            },
            ["pids"] = new Dictionary<string, object> { ["limit"] = pids },
        };
        var config = new Dictionary<string, object>
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new Dictionary<string, object> { ["args"] = new[] { "/pause" }, ["cwd"] = "/", ["user"] = new { uid = 0, gid = 0 } },
            ["root"] = new Dictionary<string, object> { ["path"] = "rootfs", ["readonly"] = true },
            ["mounts"] = new[] { new { destination = "/proc", type = "proc", source = "proc" } },
            ["linux"] = new Dictionary<string, object>
            {
                ["namespaces"] = new[] { new { type = "pid" }, new { type = "mount" } },
                ["cgroupsPath"] = runcPath,
                ["resources"] = resources,
            },
        };
        File.WriteAllText(Path.Combine(bundle.Path, "config.json"), JsonSerializer.Serialize(config));
        string id = "psc-cmp-" + Guid.NewGuid().ToString("N")[..8];
        string state = Path.Combine(bundle.Path, "state");
        try
        {
            var created = Run(runc!, "--root", state, "create", "--bundle", bundle.Path, id);
            Assert.True(created.Code == 0, "runc create failed: " + created.Output);

            string ours = h.Root + "/ours";
            h.Manager.Create(ours, new CGroupLimits { MemoryLimit = memory, MemorySwapLimit = memsw, CpuLimit = cpus, CpuWeight = weight, CpuSet = cpuset, PidsLimit = pids });

            // Pure v2: runc converts the OCI values (swap = memory+swap − memory, shares → weight) into the v2 files.
            var files = v2
                ? new (string Controller, string File)[]
                {
                    ("memory", "memory.max"), ("memory", "memory.swap.max"), ("cpu", "cpu.max"), ("cpu", "cpu.weight"),
                    ("cpuset", "cpuset.cpus"), ("pids", "pids.max"),
                }
                : new (string Controller, string File)[]
                {
                    ("memory", "memory.limit_in_bytes"), ("memory", "memory.memsw.limit_in_bytes"),
                    ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us"), ("cpu", "cpu.shares"),
                    ("cpuset", "cpuset.cpus"), ("pids", "pids.max"),
                };
            foreach (var (controller, file) in files)
            {
                string mount = v2 ? h.Manager.Unified!.Mount.MountPoint : h.V1Mount(controller)!;
                Skip.If(v2 && file == "memory.swap.max" && !File.Exists($"{mount}{ours}/{file}"), "the kernel has no swap accounting (memory.swap.max is missing)");
                string theirs = File.ReadAllText($"{mount}{runcPath}/{file}").Trim();
                string mine = File.ReadAllText($"{mount}{ours}/{file}").Trim();
                Assert.True(theirs == mine, $"{file}: runc wrote '{theirs}', the engine wrote '{mine}'");
            }
        }
        finally
        {
            Run(runc!, "--root", state, "delete", "--force", id);
            // runc also made the parent in hierarchies the engine does not use (devices, …): remove those too.
            foreach (var mount in h.Manager.Hierarchy.Mounts)
            {
                foreach (string dir in new[] { mount.MountPoint + runcPath, mount.MountPoint + h.Root })
                {
                    if (Directory.Exists(dir) && !h.Manager.Trees.Any(t => t.Mount == mount))
                    {
                        Directory.Delete(dir);
                    }
                }
            }
        }
    }
}
