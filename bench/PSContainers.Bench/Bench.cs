using System.Diagnostics;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Processes;

namespace PSContainers.Bench;

/// <summary>The measurements, in the order of issue 5. Each adds rows (and goal lines) to the report.</summary>
internal sealed class Bench
{
    private readonly Options _o;
    private readonly ContainerManager _m;
    private readonly string _tag;
    private static readonly CGroupLimits StartLimits = new() { MemoryLimit = 64L << 20, PidsLimit = 100 };

    public Bench(Options o, ContainerManager m, string tag)
    {
        _o = o;
        _m = m;
        _tag = tag;
    }

    private static long Now() => Stopwatch.GetTimestamp();

    // ---------------------------------------------------------------- 1. start latency, warm, same harness

    /// <summary>Runs a program from this process with stdout on a pipe; returns (start→exec, start→reaped) in ms.</summary>
    private static (double Exec, double Run) RunPeer(string file, IEnumerable<string> args, bool stamp)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = stamp };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        long t0 = Now();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        string output = stamp ? p.StandardOutput.ReadToEnd() : "";
        p.WaitForExit();
        long t1 = Now();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', psi.ArgumentList)} exited {p.ExitCode}");
        }
        double exec = stamp ? Stat.Ms(t0, long.Parse(output.Trim(), CultureInfo.InvariantCulture)) : double.NaN;
        return (exec, Stat.Ms(t0, t1));
    }

    private sealed record Peer(string Name, string File, string[] Args, bool Stamp);

    public void StartLatency()
    {
        string s = _o.Stamp;
        var peers = new List<Peer>
        {
            new("floor-dyn", _o.True, Array.Empty<string>(), false),
            new("floor", s, Array.Empty<string>(), true),
            new("unshare", "unshare", new[] { "--pid", "--fork", "--mount", "--uts", "--ipc", "--mount-proc", s }, true),
            new("bwrap", "bwrap", new[] { "--dev-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--proc", "/proc", s }, true),
        };
        if (_o.CgexecGroup is not null)
        {
            peers.Add(new("cgexec", "cgexec", new[] { "-g", "memory,pids:" + _o.CgexecGroup, s }, true));
        }
        if (_o.RuncBundle is not null)
        {
            peers.Add(new("runc", "runc", new[] { "run", "-b", _o.RuncBundle, _tag + "-runc" }, true));
        }
        var exec = peers.ToDictionary(p => p.Name, _ => new List<double>());
        var run = peers.ToDictionary(p => p.Name, _ => new List<double>());
        var pscStart = new List<double>();
        var pscExec = new List<double>();
        var pscToExit = new List<double>();
        var pscCreate = new List<double>();
        var pscRemove = new List<double>();
        var pscCycle = new List<double>();
        long rss0 = 0, managed0 = 0;
        int total = _o.Warmup + _o.Iterations;
        for (int i = 0; i < total && !Program.Cancelled; i++)
        {
            bool keep = i >= _o.Warmup;
            if (i == _o.Warmup)
            {
                (rss0, managed0) = SessionMemory();
            }
            // Interleaved: every tool once per round, so drift and noise hit all of them alike.
            foreach (Peer p in peers.ToList())
            {
                try
                {
                    var (e, r) = RunPeer(p.File, p.Args, p.Stamp);
                    if (keep)
                    {
                        exec[p.Name].Add(e);
                        run[p.Name].Add(r);
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or FormatException)
                {
                    // A peer that cannot run here is left out of the table, and the report says so.
                    Program.Note($"peer {p.Name} left out: {ex.Message}");
                    peers.Remove(p);
                    exec.Remove(p.Name);
                    run.Remove(p.Name);
                }
            }
            string name = $"s{i}";
            long c0 = Now();
            _m.Create(new ContainerManager.Request { Name = name, FilePath = s, Isolation = ContainerIsolation.Default, Limits = StartLimits });
            long t0 = Now();
            _m.Start(name);
            long t1 = Now();
            var c = _m.Wait(name, TimeSpan.FromSeconds(10), CancellationToken.None);
            long t2 = Now();
            long stamp = StampOf(name, c);
            _m.Remove(name, force: false);
            long t3 = Now();
            if (c.ExitCode != 0)
            {
                throw new InvalidOperationException($"container {name} exited {c.ExitCode}");
            }
            if (keep)
            {
                pscCreate.Add(Stat.Ms(c0, t0));
                pscStart.Add(Stat.Ms(t0, t1));
                pscToExit.Add(Stat.Ms(t0, t2));
                pscRemove.Add(Stat.Ms(t2, t3));
                pscCycle.Add(Stat.Ms(c0, t3));
                pscExec.Add(Stat.Ms(t0, stamp));
            }
        }
        var (rss1, managed1) = SessionMemory();
        foreach (Peer p in peers)
        {
            if (p.Stamp)
            {
                Program.Add(Stat.Row("exec", p.Name, exec[p.Name]));
            }
            Program.Add(Stat.Row("run", p.Name, run[p.Name]));
        }
        Program.Add(Stat.Row("exec", "PSContainers engine Start", pscExec, note: "Start() call -> program's first instruction"));
        Program.Add(Stat.Row("psc", "engine Create (New)", pscCreate));
        Program.Add(Stat.Row("psc", "engine Start (returns)", pscStart));
        Program.Add(Stat.Row("run", "PSContainers Start->exit seen", pscToExit, note: "Start + Wait"));
        Program.Add(Stat.Row("psc", "engine Remove", pscRemove));
        Program.Add(Stat.Row("run", "PSContainers New->Start->exit->Remove", pscCycle, note: "the whole cycle"));
        Program.Note($"Session memory over {_o.Iterations} engine create/start/wait/remove cycles: RSS {rss0 / 1024} -> {rss1 / 1024} kB, managed heap {managed0 / 1024} -> {managed1 / 1024} kB.");
        _startP50 = Stat.Median(pscExec.OrderBy(x => x).ToList());
        _cycleP50 = Stat.Median(pscCycle.OrderBy(x => x).ToList());
        StartGoals(exec, run);
    }

    private double _startP50, _cycleP50;

    private void StartGoals(Dictionary<string, List<double>> exec, Dictionary<string, List<double>> run)
    {
        double P50(Dictionary<string, List<double>> d, string k) => d.TryGetValue(k, out var l) && l.Count > 0 ? Stat.Median(l.OrderBy(x => x).ToList()) : double.NaN;
        double floor = P50(exec, "floor");
        string Met(bool b) => b ? "MET" : "NOT MET";
        Program.Goal($"1a start p50 within 2x floor: {_startP50:0.###} ms = {_startP50 / floor:0.##}x floor (exec, same harness) -> {Met(_startP50 <= 2 * floor)}");
        foreach (var (peer, factor) in new[] { ("unshare", 1.0), ("bwrap", 2.0), ("runc", 10.0) })
        {
            double e = P50(exec, peer), r = P50(run, peer);
            if (double.IsNaN(e))
            {
                continue;
            }
            string want = factor == 1.0 ? "faster than" : $">= {factor:0}x faster than";
            Program.Goal($"1b start {want} {peer}: start->exec {_startP50:0.###} vs {e:0.###} ms ({e / _startP50:0.##}x) -> {Met(e >= factor * _startP50)}; "
                + $"whole cycle {_cycleP50:0.###} vs {peer} run {r:0.###} ms ({r / _cycleP50:0.##}x) -> {Met(r >= factor * _cycleP50)}");
        }
    }

    // ---------------------------------------------------------------- 1c. a process into a running container

    /// <summary>
    /// From the call to the program's first instruction, in a running container: the engine's Invoke-ContainerCommand
    /// (ContainerExec.Run) and Start-ContainerProcess (a tracked process) in a sandbox, next to nsenter into the same
    /// sandbox's namespaces (it joins no cgroup), runc exec and podman exec into standing containers of their own.
    /// </summary>
    public void ExecLatency()
    {
        string s = _o.Stamp;
        string box = _tag + "-x";
        _m.Create(new ContainerManager.Request { Name = box, Sandbox = true, Isolation = ContainerIsolation.Default, Limits = StartLimits });
        Container c = _m.Start(box);
        try
        {
            var peers = new List<Peer>
            {
                new("nsenter", "nsenter", new[] { "-t", c.InitPid!.Value.ToString(CultureInfo.InvariantCulture), "-p", "-m", "-u", "-i", s }, true),
            };
            if (_o.RuncExec is not null)
            {
                peers.Add(new("runc exec", "runc", new[] { "exec", _o.RuncExec, "/stamp" }, true));
            }
            if (_o.PodmanExec is not null)
            {
                peers.Add(new("podman exec", "podman", new[] { "exec", _o.PodmanExec, "/stamp" }, true));
            }
            var exec = peers.ToDictionary(p => p.Name, _ => new List<double>());
            var invoke = new List<double>();
            var tracked = new List<double>();
            var trackedReturns = new List<double>();
            int total = _o.Warmup + _o.Iterations;
            void Invoke(bool keep)
            {
                string? line = null;
                long t0 = Now();
                int code = ContainerExec.Run(_m, box, s, null, null, null, null, l => line ??= l, _ => { }, CancellationToken.None);
                if (code != 0 || !long.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out long stamp))
                {
                    throw new InvalidOperationException($"exec in {box} exited {code}, printed '{line}'");
                }
                if (keep)
                {
                    invoke.Add(Stat.Ms(t0, stamp));
                }
            }
            void Track(bool keep)
            {
                long t1 = Now();
                ContainerProcess p0 = _m.StartProcess(new ContainerExecRequest { Name = box, FilePath = s });
                long t2 = Now();
                _m.WaitProcess(box, p0.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
                string printed = _m.ProcessOutput(box, p0.Id).ReadNew(final: true).Select(x => x.Line).FirstOrDefault() ?? "";
                if (!long.TryParse(printed, NumberStyles.Integer, CultureInfo.InvariantCulture, out long stamp2))
                {
                    throw new InvalidOperationException($"process {p0.Id} in {box} printed '{printed}'");
                }
                if (keep)
                {
                    tracked.Add(Stat.Ms(t1, stamp2));
                    trackedReturns.Add(Stat.Ms(t1, t2));
                }
            }
            void RunOne(Peer p, bool keep)
            {
                try
                {
                    var (e, _) = RunPeer(p.File, p.Args, p.Stamp);
                    if (keep && exec.ContainsKey(p.Name))
                    {
                        exec[p.Name].Add(e);
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or FormatException)
                {
                    Program.Note($"peer {p.Name} left out: {ex.Message}");
                    peers.Remove(p);
                    exec.Remove(p.Name);
                }
            }
            for (int i = 0; i < total && !Program.Cancelled; i++)
            {
                bool keep = i >= _o.Warmup;
                // Every tool once per round, and the order rotated each round: what one leaves running for a while after it
                // returns (podman's cleanup) slows whichever comes next, so that is each of them in turn.
                var round = peers.Select(p => (Action)(() => RunOne(p, keep))).Append(() => Invoke(keep)).Append(() => Track(keep)).ToList();
                for (int k = 0; k < round.Count; k++)
                {
                    round[(k + i) % round.Count]();
                }
            }
            foreach (Peer p in peers)
            {
                Program.Add(Stat.Row("exec-in", p.Name, exec[p.Name]));
            }
            Program.Add(Stat.Row("exec-in", "engine Invoke-ContainerCommand (ContainerExec.Run)", invoke, note: "call -> program's first instruction"));
            Program.Add(Stat.Row("exec-in", "engine Start-ContainerProcess (tracked)", tracked, note: "call -> program's first instruction"));
            Program.Add(Stat.Row("exec-in", "engine Start-ContainerProcess (returns)", trackedReturns));
            double P50(List<double> l) => Stat.Median(l.OrderBy(x => x).ToList());
            foreach (Peer p in peers)
            {
                double e = P50(exec[p.Name]);
                Program.Goal($"1c exec faster than {p.Name}: Invoke {P50(invoke):0.###} ms ({e / P50(invoke):0.##}x), Start-ContainerProcess {P50(tracked):0.###} ms ({e / P50(tracked):0.##}x) vs {e:0.###} ms "
                    + $"-> {(e > P50(invoke) && e > P50(tracked) ? "MET" : "NOT MET")}");
            }
        }
        finally
        {
            _m.Remove(box, force: true);
        }
    }

    private long StampOf(string name, Container c)
    {
        string text = string.Concat(_m.ProcessOutput(name, ContainerProcess.MainId).ReadNew(final: true)
            .Where(l => l.Stream == LogStream.Stdout).Select(l => l.Line)).Trim();
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns))
        {
            throw new InvalidOperationException($"container {name} (exit {c.ExitCode}) printed '{text}', not a timestamp");
        }
        return ns;
    }

    private static (long Rss, long Managed) SessionMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long rss = 0;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return (rss, GC.GetTotalMemory(false));
    }

    // ---------------------------------------------------------------- 3. cmdlet overhead

    private static Collection<PSObject> Invoke(Runspace rs, Action<PowerShell> build)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = rs;
        build(ps);
        var result = ps.Invoke();
        if (ps.HadErrors || ps.Streams.Error.Count > 0)
        {
            throw new InvalidOperationException("cmdlet failed: " + string.Join("; ", ps.Streams.Error.Select(e => e.ToString())));
        }
        return result;
    }

    public void CmdletOverhead(Runspace rs)
    {
        var engine = new List<double>();
        var cmdlet = new List<double>();
        var engineExec = new List<double>();
        var cmdletExec = new List<double>();
        var cmdletCycle = new List<double>();
        int n = _o.Warmup + Math.Max(_o.Iterations / 2, 1);
        for (int i = 0; i < n && !Program.Cancelled; i++)
        {
            bool keep = i >= _o.Warmup;
            foreach (bool viaCmdlet in new[] { false, true })
            {
                string name = $"c{i}{(viaCmdlet ? "p" : "e")}";
                _m.Create(new ContainerManager.Request { Name = name, FilePath = _o.Stamp, Limits = StartLimits });
                long t0 = Now();
                if (viaCmdlet)
                {
                    Invoke(rs, ps => ps.AddCommand("Start-Container").AddParameter("Name", name));
                }
                else
                {
                    _m.Start(name);
                }
                long t1 = Now();
                var c = _m.Wait(name, TimeSpan.FromSeconds(10), CancellationToken.None);
                long stamp = StampOf(name, c);
                _m.Remove(name, force: false);
                if (keep)
                {
                    (viaCmdlet ? cmdlet : engine).Add(Stat.Ms(t0, t1));
                    (viaCmdlet ? cmdletExec : engineExec).Add(Stat.Ms(t0, stamp));
                }
            }
            string cy = $"y{i}";
            long y0 = Now();
            Invoke(rs, ps => ps.AddScript("param($n, $p) $null = New-Container -Name $n -FilePath $p -MemoryLimit 64MB -PidsLimit 100 | Start-Container -Wait -PassThru; Remove-Container -Name $n")
                .AddParameter("n", cy).AddParameter("p", _o.Stamp));
            long y1 = Now();
            if (keep)
            {
                cmdletCycle.Add(Stat.Ms(y0, y1));
            }
        }
        Program.Add(Stat.Row("cmdlet", "engine Start() (returns)", engine));
        Program.Add(Stat.Row("cmdlet", "Start-Container (returns)", cmdlet, note: "warm runspace, one PowerShell per call"));
        Program.Add(Stat.Row("exec", "PSContainers Start-Container", cmdletExec, note: "cmdlet call -> program's first instruction"));
        Program.Add(Stat.Row("run", "PSContainers cmdlets New|Start -Wait; Remove", cmdletCycle, note: "one script per cycle, warm runspace"));
        double e50 = Stat.Median(engine.OrderBy(x => x).ToList()), c50 = Stat.Median(cmdlet.OrderBy(x => x).ToList());
        Program.Goal($"3  cmdlet vs engine Start < 1 ms apart: {c50:0.###} - {e50:0.###} = {c50 - e50:0.###} ms (p50, interleaved) -> {(c50 - e50 < 1 ? "MET" : "NOT MET")}");
    }

    // ---------------------------------------------------------------- 4. stop of 1000 processes

    public void Stop1000()
    {
        int procs = _o.StopProcs;
        int quarter = procs / 4, half = procs - 2 * quarter;
        // A quarter plain, a quarter ignoring SIGTERM, half double-forked into their own sessions (setsid).
        string script =
            $"i=0; while [ $i -lt {quarter} ]; do sleep 1000 & i=$((i+1)); done; " +
            $"i=0; while [ $i -lt {quarter} ]; do sh -c 'trap \"\" TERM; exec sleep 1000' & i=$((i+1)); done; " +
            $"i=0; while [ $i -lt {half} ]; do (setsid sleep 1000 &); i=$((i+1)); done; " +
            "trap '' TERM; exec sleep 1000";
        var v2 = StopRuns(script, procs, "k", kernelKill: true);
        // The same again with cgroup.kill switched off: the path a kernel without it (v1, or older than 5.14) takes.
        var v1 = StopRuns(script, procs, "f", kernelKill: false);
        if (v2 is null && v1 is null)
        {
            return;
        }
        double? floor = KernelKillFloor(script, procs);
        string Summary(StopResult r, string what)
        {
            double p50 = Stat.Median(r.Times.OrderBy(x => x).ToList()), max = r.Times.Max();
            string ratio = floor is double f ? $", {p50 / f:0.##}x the kernel floor" : "";
            return $"{what}: p50 {p50:0.#} ms, max {max:0.#} ms over {r.Times.Count} runs, {r.Survivors} survivors{ratio} -> {(max < 500 && r.Survivors == 0 ? "MET" : "NOT MET")}";
        }
        var parts = new List<string>();
        if (v2 is not null)
        {
            Program.Add(Stat.Row("stop", $"Stop -Force + Remove, {procs} procs", v2.Times,
                note: $"{v2.Survivors} of {v2.Counted} processes survived; {(v2.KernelKill ? "v2 cgroup.kill path" : "no cgroup.kill on this host: freeze -> SIGKILL each -> thaw")}"));
            parts.Add(Summary(v2, v2.KernelKill ? "v2 path (cgroup.kill)" : "default path (no cgroup.kill here)"));
        }
        if (v1 is not null)
        {
            Program.Add(Stat.Row("stop", $"Stop -Force + Remove, {procs} procs, v1 path (freeze -> SIGKILL each -> thaw)", v1.Times,
                note: $"{v1.Survivors} of {v1.Counted} processes survived; as without cgroup2 (no cgroup.kill, the v1 freezer); {v1.Detail}"));
            parts.Add(Summary(v1, "v1 path (freeze -> SIGKILL each -> thaw)"));
        }
        Program.Goal($"4  stop {procs} processes < 0.5 s, all gone, per path: {string.Join("; ", parts)}{(floor is double fl ? $"; the kernel alone needs {fl:0.#} ms for the same tree" : "")}");
    }

    private sealed record StopResult(List<double> Times, int Survivors, int Counted, bool KernelKill, string Detail);

    /// <summary>
    /// StopRuns times: a container running the script (procs processes), then Stop -Force and Remove until its cgroup
    /// is gone, timed; survivors are the pids seen before the stop that are still alive (same start time) after it.
    /// <paramref name="kernelKill"/> false runs them through a second manager over the same depot and cgroups, made with
    /// the v1 stop path (no cgroup.kill, the v1 freezer first), and counts its cgroup writes and signals from its log.
    /// </summary>
    private StopResult? StopRuns(string script, int procs, string prefix, bool kernelKill)
    {
        var times = new List<double>();
        int survivors = 0, counted = 0;
        bool kernelKillSeen = false;
        int freezeV2 = 0, freezeV1 = 0, sigkills = 0, cgroupKills = 0;
        Action<string>? log = _m.CGroups.Log;
        CGroupManager? v1Path = kernelKill ? null
            : new CGroupManager(_m.CGroups.Hierarchy, _m.CGroups.ProjectRoot, null, CGroupStopPath.AsV1);
        ContainerManager m = v1Path is null ? _m : new ContainerManager(_m.Depot, v1Path);
        CGroupManager cg = m.CGroups;
        try
        {
            if (!kernelKill)
            {
                cg.Log = line =>
                {
                    if (line.StartsWith("sent SIGKILL", StringComparison.Ordinal))
                    {
                        sigkills++;
                    }
                    else if (line.StartsWith("wrote '1' to ", StringComparison.Ordinal) && line.EndsWith("/cgroup.freeze", StringComparison.Ordinal))
                    {
                        freezeV2++;
                    }
                    else if (line.StartsWith("wrote 'FROZEN' to ", StringComparison.Ordinal))
                    {
                        freezeV1++;
                    }
                    else if (line.EndsWith("/cgroup.kill", StringComparison.Ordinal))
                    {
                        cgroupKills++;
                    }
                    log?.Invoke(line);
                };
            }
            for (int run = 0; run < _o.StopRuns && !Program.Cancelled; run++)
            {
                string name = $"{prefix}{run}";
                var c = m.Create(new ContainerManager.Request
                {
                    Name = name,
                    FilePath = "/bin/sh",
                    ArgumentList = new[] { "-c", script },
                    Limits = new CGroupLimits { MemoryLimit = 4L << 30, PidsLimit = procs + 200 },
                });
                m.Start(name);
                var sw = Stopwatch.StartNew();
                IReadOnlyList<int> pids;
                while (true)
                {
                    pids = cg.SubtreeProcessIds(c.CGroupPath);
                    // init + main + procs, and no shell of the spawning loop left
                    if (pids.Count >= procs + 2 && pids.Count(p => Comm(p) == "sh") == 0)
                    {
                        break;
                    }
                    if (sw.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new InvalidOperationException($"stop test: only {pids.Count} of {procs + 2} processes after 60 s");
                    }
                    Thread.Sleep(20);
                }
                kernelKillSeen |= cg.Unified is CGroupTree u && u.HasFile(c.CGroupPath, "cgroup.kill");
                var starts = pids.Select(p => (p, ProcStat.Read(p)?.StartTime)).ToList();
                long t0 = Now();
                m.Stop(name, TimeSpan.Zero, force: true);
                m.Remove(name, force: false);
                long t1 = Now();
                times.Add(Stat.Ms(t0, t1));
                counted += starts.Count;
                survivors += starts.Count(x => Alive(x.p, x.StartTime));
            }
        }
        finally
        {
            v1Path?.Dispose();
        }
        if (times.Count == 0)
        {
            return null;
        }
        string freezer = freezeV2 > 0 && freezeV1 > 0 ? "cgroup.freeze and freezer.state"
            : freezeV2 > 0 ? "cgroup.freeze (unified tree)" : freezeV1 > 0 ? "freezer.state (v1)" : "none";
        string detail = kernelKill ? "" : $"freezer: {freezer}, {(freezeV1 + freezeV2) / (double)times.Count:0.#} freezes and {sigkills / (double)times.Count:0} SIGKILLs sent per run, {cgroupKills} cgroup.kill writes";
        return new StopResult(times, survivors, counted, kernelKill && kernelKillSeen, detail);
    }

    /// <summary>
    /// The kernel's own floor for the same work: the same process tree started by a plain shell in a bare cgroup (no
    /// namespaces, no psc-init), then one write to cgroup.kill and the wait for "populated 0". No tool can stop the
    /// tree faster than this on the same machine.
    /// </summary>
    private double? KernelKillFloor(string script, int procs)
    {
        if (_m.CGroups.Unified is not CGroupTree unified || _m.CGroups.Hierarchy.Layout == CGroupLayout.V1)
        {
            return null;
        }
        var times = new List<double>();
        for (int run = 0; run < _o.StopRuns && !Program.Cancelled; run++)
        {
            string path = CGroupPath.Combine(_m.CGroups.ProjectRoot, $"kfloor{run}");
            _m.CGroups.Create(path);
            try
            {
                string procsFile = unified.FullPath(path, "cgroup.procs");
                using (var sh = Process.Start("/bin/sh", new[] { "-c", $"echo $$ > {procsFile}; ({script.Replace("exec sleep 1000", "sleep 1000")}) >/dev/null 2>&1 &" })!)
                {
                    sh.WaitForExit();
                }
                var sw = Stopwatch.StartNew();
                while (unified.Procs(path).Count < procs + 1 && sw.Elapsed < TimeSpan.FromSeconds(60))
                {
                    Thread.Sleep(20);
                }
                Thread.Sleep(200);
                long t0 = Now();
                File.WriteAllText(unified.FullPath(path, "cgroup.kill"), "1");
                unified.WaitUnpopulated(path, TimeSpan.FromSeconds(30));
                times.Add(Stat.Ms(t0, Now()));
            }
            finally
            {
                _m.CGroups.Remove(path, recurse: true, force: true);
            }
        }
        if (times.Count == 0)
        {
            return null;
        }
        Program.Add(Stat.Row("stop", $"kernel floor: cgroup.kill of the same {procs} procs", times, note: "plain sh in a bare v2 cgroup: write cgroup.kill, wait for populated 0"));
        return Stat.Median(times.OrderBy(x => x).ToList());
    }

    /// <summary>Still running: same pid and start time, and not a zombie (a dead init waits for the host's PID 1 to reap it).</summary>
    /// <summary>
    /// Still alive: same pid and start time, not a zombie, and not exiting. A killed process leaves its cgroup early in
    /// its exit (which is when the cgroup counts as empty) and shows PF_EXITING until it is a zombie microseconds later.
    /// </summary>
    private static bool Alive(int pid, ulong? startTime)
    {
        const uint PfExiting = 0x4;
        var st = ProcStat.Read(pid);
        return startTime is not null && st is not null && st.StartTime == startTime && st.State is not ('Z' or 'X') && (st.Flags & PfExiting) == 0;
    }

    private static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    // ---------------------------------------------------------------- 6. psc-init memory

    private static (long Pss, long Rss) Rollup(int pid)
    {
        long pss = -1, rss = -1;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 2 && f[0] == "Pss:")
                {
                    pss = long.Parse(f[1], CultureInfo.InvariantCulture);
                }
                else if (f.Length >= 2 && f[0] == "Rss:")
                {
                    rss = long.Parse(f[1], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return (pss, rss);
    }

    public void MemoryOfInit()
    {
        var pss = new List<double>();
        var rss = new List<double>();
        var names = Enumerable.Range(0, 5).Select(i => $"m{i}").ToList();
        foreach (string name in names)
        {
            _m.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/sleep", ArgumentList = new[] { "1000" }, Limits = StartLimits });
            _m.Start(name);
        }
        Thread.Sleep(200);
        foreach (string name in names)
        {
            var c = _m.Get(name);
            var (p, r) = Rollup(c.InitPid ?? 0);
            pss.Add(p);
            rss.Add(r);
        }
        foreach (string name in names)
        {
            _m.Remove(name, force: true);
        }
        Program.Add(Stat.Row("memory", "psc-init Pss (idle container)", pss, "kB", "smaps_rollup of the init, 5 idle containers alive at once"));
        Program.Add(Stat.Row("memory", "psc-init Rss (idle container)", rss, "kB"));
        double p50 = Stat.Median(pss.OrderBy(x => x).ToList());
        Program.Goal($"6  psc-init Pss <= 300 kB: {p50:0} kB -> {(p50 <= 300 ? "MET" : "NOT MET")}");
    }

    // ---------------------------------------------------------------- 5 + 7. stats and scale

    private static long MemAvailableKb()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>The p50 of each tenth of a sequence of timings ("a / b / …"): how one step's cost moves as the count grows.</summary>
    private static string Buckets(List<double> each)
    {
        int k = Math.Max(1, each.Count / 10);
        return string.Join(" / ", Enumerable.Range(0, (each.Count + k - 1) / k)
            .Select(i => Stat.Median(each.Skip(i * k).Take(k).OrderBy(x => x).ToList()).ToString("0.00", CultureInfo.InvariantCulture)));
    }

    public void Scale(Runspace? rs)
    {
        int n = _o.Scale;
        if (n <= 0)
        {
            return;
        }
        var names = Enumerable.Range(0, n).Select(i => $"i{i}").ToList();
        int mounts0 = File.ReadAllLines("/proc/self/mountinfo").Length;
        long avail0 = MemAvailableKb();
        var sw = Stopwatch.StartNew();
        foreach (string name in names)
        {
            _m.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/sleep", ArgumentList = new[] { "100000" }, Limits = StartLimits });
        }
        double create = sw.Elapsed.TotalMilliseconds;
        var eachStart = new List<double>(n);
        sw.Restart();
        foreach (string name in names)
        {
            long t0 = Now();
            _m.Start(name);
            eachStart.Add(Stat.Ms(t0, Now()));
        }
        double start = sw.Elapsed.TotalMilliseconds;
        Thread.Sleep(500);
        long avail1 = MemAvailableKb();
        var inits = names.Select(x => _m.Get(x)).Where(c => c.InitPid is not null).Select(c => (c.InitPid!.Value, ProcStat.Read(c.InitPid.Value)?.StartTime)).ToList();
        int running = _m.List().Count(c => c.State == ContainerState.Running);

        var listEngine = new List<double>();
        var listCmdlet = new List<double>();
        for (int k = 0; k < 3; k++)
        {
            sw.Restart();
            int count = _m.List().Count();
            listEngine.Add(sw.Elapsed.TotalMilliseconds);
            if (rs is not null)
            {
                sw.Restart();
                int seen = Invoke(rs, ps => ps.AddCommand("Get-Container")).Count;
                listCmdlet.Add(sw.Elapsed.TotalMilliseconds);
                if (seen != n)
                {
                    Program.Note($"Get-Container listed {seen} of {n} containers.");
                }
            }
        }

        // Stats: one container, many times; then all n at once (per container).
        var statsOneEngine = new List<double>();
        var statsOneCmdlet = new List<double>();
        string path0 = _m.Get(names[0]).CGroupPath;
        for (int k = 0; k < 200; k++)
        {
            long t0 = Now();
            _m.CGroups.ReadStats(path0);
            statsOneEngine.Add(Stat.Ms(t0, Now()));
        }
        if (rs is not null)
        {
            for (int k = 0; k < 50; k++)
            {
                long t0 = Now();
                Invoke(rs, ps => ps.AddCommand("Get-ContainerStats").AddParameter("Name", names[0]));
                statsOneCmdlet.Add(Stat.Ms(t0, Now()));
            }
        }
        var statsAllEngine = new List<double>();
        var statsAllCmdlet = new List<double>();
        var paths = names.Select(x => _m.Get(x).CGroupPath).ToList();
        for (int k = 0; k < 3; k++)
        {
            long t0 = Now();
            foreach (string p in paths)
            {
                _m.CGroups.ReadStats(p);
            }
            statsAllEngine.Add(Stat.Ms(t0, Now()) / n);
            if (rs is not null)
            {
                t0 = Now();
                int got = Invoke(rs, ps => ps.AddCommand("Get-ContainerStats")).Count;
                statsAllCmdlet.Add(Stat.Ms(t0, Now()) / n);
                if (got != n)
                {
                    Program.Note($"Get-ContainerStats returned {got} of {n}.");
                }
            }
        }

        var eachStop = new List<double>(n);
        sw.Restart();
        foreach (string name in names)
        {
            long t0 = Now();
            _m.Stop(name, TimeSpan.FromSeconds(10), force: false);
            eachStop.Add(Stat.Ms(t0, Now()));
        }
        double stop = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        foreach (string name in names)
        {
            _m.Remove(name, force: false);
        }
        double remove = sw.Elapsed.TotalMilliseconds;
        int leftCGroups = _m.CGroups.Exists(_m.CGroups.ProjectRoot) ? _m.CGroups.Descendants(_m.CGroups.ProjectRoot).Count() : 0;
        int leftProcs = inits.Count(x => Alive(x.Item1, x.StartTime));
        int mounts1 = File.ReadAllLines("/proc/self/mountinfo").Length;

        string sc = $"{n} idle";
        Program.Add(new Row("scale", $"create {sc} (engine, sequential)", n, create, double.NaN, "ms total", $"{create / n:0.###} ms each"));
        Program.Add(new Row("scale", $"start {sc} (engine, sequential)", n, start, double.NaN, "ms total", $"{start / n:0.###} ms each; {running} running"));
        Program.Add(Stat.Row("scale", $"list {sc}: engine List()", listEngine, "ms total"));
        if (listCmdlet.Count > 0)
        {
            Program.Add(Stat.Row("scale", $"list {sc}: Get-Container", listCmdlet, "ms total"));
        }
        Program.Add(new Row("scale", $"stop {sc} (SIGTERM, engine)", n, stop, double.NaN, "ms total", $"{stop / n:0.###} ms each"));
        Program.Add(new Row("scale", $"remove {sc} (engine)", n, remove, double.NaN, "ms total", $"{remove / n:0.###} ms each"));
        Program.Add(new Row("memory", "MemAvailable drop per idle container", n, (avail0 - avail1) / (double)n, double.NaN, "kB", "kernel + psc-init + sleep, noisy"));
        Program.Add(Stat.Row("stats", "1 container: engine ReadStats", statsOneEngine));
        if (statsOneCmdlet.Count > 0)
        {
            Program.Add(Stat.Row("stats", "1 container: Get-ContainerStats", statsOneCmdlet));
        }
        Program.Add(Stat.Row("stats", $"{n} containers: engine, per container", statsAllEngine));
        if (statsAllCmdlet.Count > 0)
        {
            Program.Add(Stat.Row("stats", $"{n} containers: Get-ContainerStats, per container", statsAllCmdlet));
        }
        Program.Note($"Scale: one start's p50 as more run: {Buckets(eachStart)}; one stop's p50 as fewer run: {Buckets(eachStop)} (ms, by tenths of {n}).");
        Program.Note($"Scale leftovers after remove: {leftCGroups} cgroups under the bench root, {leftProcs} init processes alive, mountinfo {mounts0} -> {mounts1} lines.");
        string Met(bool b) => b ? "MET" : "NOT MET";
        string scaled = n == 1000 ? "" : $" (run with {n}, not 1000: goal scaled linearly)";
        double f = n / 1000.0;
        Program.Goal($"7  scale {n}: create+start {(create + start) / 1000:0.##} s (goal <= {6 * f:0.##} s) -> {Met(create + start <= 6000 * f)}; "
            + $"list {Stat.Median(listCmdlet.Count > 0 ? listCmdlet.OrderBy(x => x).ToList() : listEngine.OrderBy(x => x).ToList()):0} ms (goal <= {500 * f:0} ms) -> {Met(Stat.Median((listCmdlet.Count > 0 ? listCmdlet : listEngine).OrderBy(x => x).ToList()) <= 500 * f)}; "
            + $"stop+remove {(stop + remove) / 1000:0.##} s (goal <= {3 * f:0.##} s) -> {Met(stop + remove <= 3000 * f)}; leaks: {leftCGroups} cgroups, {leftProcs} procs, mounts {mounts1 - mounts0:+0;-0;0}{scaled}");
        double statsPer = Stat.Median((statsAllCmdlet.Count > 0 ? statsAllCmdlet : statsAllEngine).OrderBy(x => x).ToList());
        double statsOne = Stat.Median((statsOneCmdlet.Count > 0 ? statsOneCmdlet : statsOneEngine).OrderBy(x => x).ToList());
        Program.Goal($"5  stats <= 0.3 ms per container: over {n} {statsPer:0.###} ms each -> {Met(statsPer <= 0.3)}; over 1 {statsOne:0.###} ms -> {Met(statsOne <= 0.3)} ({(statsAllCmdlet.Count > 0 ? "Get-ContainerStats" : "engine")})");
    }
}
