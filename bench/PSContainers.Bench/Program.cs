// psc-bench: the PSContainers benchmark driver (bench/run.sh builds and runs it; see docs/performance.md).
//
// Everything is measured in this one warm process with the same clock (Stopwatch = CLOCK_MONOTONIC in ns on
// Linux, checked below), side by side with the peers (unshare, bwrap, cgexec, runc) started from the same
// harness (Process.Start), and merged with hyperfine's numbers for the peers and the cold start of real pwsh.
// It prints one table: median, p99 and ratios to the floor and to each peer. It asserts no time; it only reports.
//
// It makes its own depot directory and its own cgroup root (/psc-bench-<rand>) and removes both, with every
// container in them, in a finally block (and on Ctrl+C).
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;
using System.Text.Json;
using PSContainers.CGroups;
using PSContainers.Containers;

namespace PSContainers.Bench;

internal sealed record Row(string Group, string Name, int N, double P50, double P99, string Unit = "ms", string Note = "");

internal static class Program
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly List<Row> Rows = new();
    private static readonly List<string> Goals = new();
    private static readonly List<string> Notes = new();
    private static volatile bool _cancelled;

    private static int Main(string[] args)
    {
        var o = Options.Parse(args);
        if (Stopwatch.Frequency != 1_000_000_000)
        {
            Console.Error.WriteLine($"Stopwatch.Frequency is {Stopwatch.Frequency}, not 1e9: Stopwatch is not CLOCK_MONOTONIC ns here; start-to-exec cannot be compared.");
            return 2;
        }
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            _cancelled = true;
        };
        string tag = o.Tag ?? "psc-bench-" + Guid.NewGuid().ToString("N")[..8];
        string work = Path.Combine("/run", tag);
        string depotDir = Path.Combine(work, "depot");
        Directory.CreateDirectory(depotDir);
        string cgroupRoot = "/" + tag;
        // The module's cmdlets (in the runspace below) find the same depot and cgroup root through these.
        Environment.SetEnvironmentVariable(Depot.Variable, depotDir);
        Environment.SetEnvironmentVariable(CGroupPath.RootVariable, cgroupRoot);
        var manager = new ContainerManager(new Depot(depotDir), new CGroupManager(CGroupHierarchy.Detect(), cgroupRoot));
        Runspace? runspace = null;
        int rc = 0;
        try
        {
            var b = new Bench(o, manager, tag);
            if (o.Runs("start"))
            {
                b.StartLatency();
            }
            if (o.ModulePath is not null && !_cancelled && (o.Runs("cmdlet") || o.Runs("scale")))
            {
                runspace = OpenRunspace(o.ModulePath);
            }
            if (runspace is not null && !_cancelled && o.Runs("cmdlet"))
            {
                b.CmdletOverhead(runspace);
            }
            if (!_cancelled && o.Runs("exec"))
            {
                b.ExecLatency();
            }
            if (!_cancelled && o.Runs("stop"))
            {
                b.Stop1000();
            }
            if (!_cancelled && o.Runs("memory"))
            {
                b.MemoryOfInit();
            }
            if (!_cancelled && o.Runs("scale"))
            {
                b.Scale(runspace);
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"psc-bench failed: {e}");
            rc = 1;
        }
        finally
        {
            Cleanup(manager, work);
            runspace?.Dispose();
        }
        if (o.HyperfineDir is not null)
        {
            Hyperfine.Load(o.HyperfineDir, Rows);
        }
        string table = Report.Table(Rows, Goals, Notes, o);
        Console.WriteLine(table);
        if (o.MarkdownOut is not null)
        {
            File.WriteAllText(o.MarkdownOut, table);
        }
        return _cancelled ? 130 : rc;
    }

    internal static bool Cancelled => _cancelled;

    internal static void Add(Row r) => Rows.Add(r);

    internal static void Goal(string g) => Goals.Add(g);

    internal static void Note(string n) => Notes.Add(n);

    private static Runspace OpenRunspace(string psd1)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { psd1 });
        var rs = RunspaceFactory.CreateRunspace(iss);
        // As pwsh's console host opens its own: every invocation runs on the runspace's one thread. The
        // default makes a new thread per invocation, which cost each Start-Container ~1 ms more than a user's session
        // pays (a fresh thread's stack and caches) and made the cmdlet-vs-engine row measure thread creation.
        rs.ThreadOptions = PSThreadOptions.ReuseThread;
        rs.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = rs;
        ps.AddCommand("Get-Command").AddParameter("Module", "PSContainers");
        if (ps.Invoke().Count == 0)
        {
            throw new InvalidOperationException($"The module {psd1} did not import into the runspace.");
        }
        return rs;
    }

    /// <summary>Every container this run made, then its cgroup root, then its depot: even after a failure.</summary>
    private static void Cleanup(ContainerManager m, string work)
    {
        try
        {
            foreach (string name in m.Depot.Names())
            {
                try
                {
                    m.Remove(name, force: true);
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine($"cleanup: {name}: {e.Message}");
                }
            }
            if (m.CGroups.Exists(m.CGroups.ProjectRoot))
            {
                m.CGroups.Remove(m.CGroups.ProjectRoot, recurse: true, force: true, TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"cleanup: {e.Message}");
        }
        finally
        {
            m.Dispose();
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"cleanup: {work}: {e.Message}");
            }
        }
    }
}

internal sealed class Options
{
    public string Stamp { get; set; } = "";
    public string True { get; set; } = "/bin/true";
    public string? ModulePath { get; set; }
    public string? HyperfineDir { get; set; }
    public string? MarkdownOut { get; set; }
    public string? Tag { get; set; }
    public string? CgexecGroup { get; set; }
    public string? RuncBundle { get; set; }

    /// <summary>A running runc container (its /stamp) to `runc exec` into; a podman one to `podman exec` into.</summary>
    public string? RuncExec { get; set; }

    public string? PodmanExec { get; set; }
    public int Iterations { get; set; } = 200;
    public int Warmup { get; set; } = 20;
    public int PeerRuns { get; set; } = 100;
    public int StopRuns { get; set; } = 5;
    public int StopProcs { get; set; } = 1000;
    public int Scale { get; set; } = 1000;

    /// <summary>--only start,cmdlet,exec,stop,memory,scale: measure just these parts (default: all).</summary>
    public HashSet<string>? Only { get; set; }

    public bool Runs(string part) => Only is null || Only.Contains(part);

    public static Options Parse(string[] a)
    {
        var o = new Options();
        for (int i = 0; i < a.Length; i++)
        {
            string v = i + 1 < a.Length ? a[i + 1] : throw new ArgumentException($"{a[i]} needs a value");
            switch (a[i])
            {
                case "--stamp": o.Stamp = v; break;
                case "--true": o.True = v; break;
                case "--module": o.ModulePath = v; break;
                case "--hyperfine": o.HyperfineDir = v; break;
                case "--markdown": o.MarkdownOut = v; break;
                case "--tag": o.Tag = v; break;
                case "--cgexec-group": o.CgexecGroup = v; break;
                case "--runc-bundle": o.RuncBundle = v; break;
                case "--runc-exec": o.RuncExec = v; break;
                case "--podman-exec": o.PodmanExec = v; break;
                case "--iterations": o.Iterations = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--warmup": o.Warmup = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--peer-runs": o.PeerRuns = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--stop-runs": o.StopRuns = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--stop-procs": o.StopProcs = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--scale": o.Scale = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--only": o.Only = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(); break;
                default: throw new ArgumentException($"unknown option {a[i]}");
            }
            i++;
        }
        if (o.Stamp.Length == 0)
        {
            throw new ArgumentException("--stamp <static program printing CLOCK_MONOTONIC ns> is required");
        }
        return o;
    }
}

internal static class Stat
{
    public static double Pct(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }
        // Nearest rank: p99 of 100 samples is the 99th value, of 10 samples the 10th (the max).
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    public static double Median(IReadOnlyList<double> sorted) =>
        sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    public static Row Row(string group, string name, List<double> ms, string unit = "ms", string note = "")
    {
        var s = ms.OrderBy(x => x).ToList();
        return new Row(group, name, s.Count, Median(s), Pct(s, 99), unit, note);
    }

    public static double Ms(long fromTicks, long toTicks) => (toTicks - fromTicks) / 1e6;
}
