using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Shared plumbing of every cmdlet: one cgroup manager (and container manager over it) per invocation, opened on
/// first use and closed on dispose; every cgroupfs write and signal reported through Write-Verbose; engine errors
/// turned into ErrorRecords.
/// </summary>
public abstract class PscCommandBase : PSCmdlet, IDisposable
{
    private CGroupManager? _manager;
    private ContainerManager? _containers;

    /// <summary>The depot and container operations, sharing <see cref="Manager"/>.</summary>
    protected ContainerManager Containers => _containers ??= new ContainerManager(Depot.FromEnvironment(), Manager);

    /// <summary>
    /// Containers named by -Name (wildcards allowed: no match for a pattern is fine, for a literal name it is
    /// ContainerNotFound) or given as objects.
    /// </summary>
    protected IEnumerable<Container> ResolveContainers(string[]? names, Container? input)
    {
        if (input is not null)
        {
            yield return input;
            yield break;
        }
        foreach (string name in names ?? Array.Empty<string>())
        {
            if (WildcardPattern.ContainsWildcardCharacters(name))
            {
                var wc = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                foreach (Container c in Containers.List((n, e) => WriteWarning($"Container '{n}': {e.Message}")).Where(c => wc.IsMatch(c.Name)))
                {
                    yield return c;
                }
                continue;
            }
            Container? found = null;
            Try(() => found = Containers.Get(name), name);
            if (found is not null)
            {
                yield return found;
            }
        }
    }

    /// <summary>The host's hierarchy with the project's root.</summary>
    protected CGroupManager Manager
    {
        get
        {
            if (_manager is null)
            {
                try
                {
                    _manager = CGroupManager.OpenHost();
                }
                catch (PscException e)
                {
                    ThrowTerminatingError(Errors.From(e));
                }
                _manager!.Log = WriteVerbose;
            }
            return _manager;
        }
    }

    /// <summary>Runs one unit of work; a failure is written as a non-terminating error and the pipeline goes on.</summary>
    protected bool Try(Action action, object? target = null)
    {
        try
        {
            action();
            return true;
        }
        catch (PscException e)
        {
            WriteError(Errors.From(e, target));
            return false;
        }
        catch (IOException e)
        {
            WriteError(Errors.From(e, "CGroupIO", target));
            return false;
        }
        catch (UnauthorizedAccessException e)
        {
            WriteError(Errors.From(e, "CGroupIO", target));
            return false;
        }
    }

    /// <summary>
    /// <see cref="Try"/> for work that Ctrl+C (StopProcessing) cancels through its token: the cancellation ends it
    /// quietly. False when it was cancelled, so a cmdlet going through several targets stops there.
    /// </summary>
    protected bool TryUnlessStopped(Action action, object? target)
    {
        try
        {
            Try(action, target);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private bool _yesToAll;
    private bool _noToAll;

    /// <summary>
    /// ShouldProcess for an action of ConfirmImpact High in a cmdlet whose own impact is lower (Remove -Force kills
    /// processes): the cmdlet attribute cannot change per call, so when ShouldProcess has not asked already, this asks
    /// as a High-impact cmdlet would: when $ConfirmPreference is High or lower and -Confirm was not given.
    /// -Confirm:$false, $ConfirmPreference = 'None' and -WhatIf work as for any High-impact cmdlet; a host that cannot
    /// prompt (pwsh -NonInteractive) fails the call, so scripts pass -Confirm:$false.
    /// </summary>
    protected bool ShouldProcessHighImpact(string target, string action)
    {
        if (!ShouldProcess(target, action))
        {
            return false;
        }
        if (MyInvocation.BoundParameters.ContainsKey("Confirm"))
        {
            return true; // -Confirm asked already; -Confirm:$false asks nothing
        }
        ConfirmImpact preference = LanguagePrimitives.TryConvertTo(SessionState.PSVariable.GetValue("ConfirmPreference"), out ConfirmImpact p)
            ? p : ConfirmImpact.High;
        ConfirmImpact own = GetType().GetCustomAttributes(typeof(CmdletAttribute), false).OfType<CmdletAttribute>().First().ConfirmImpact;
        if (preference == ConfirmImpact.None || own >= preference)
        {
            return true; // nothing to ask, or ShouldProcess asked already
        }
        return ShouldContinue($"Are you sure you want to perform this action?\nPerforming the operation \"{action}\" on target \"{target}\".",
            "Confirm (high impact)", ref _yesToAll, ref _noToAll);
    }

    /// <summary>Resolves a user path; a bad one is written as an error and null returned.</summary>
    protected string? ResolvePath(string path)
    {
        string? resolved = null;
        Try(() => resolved = Manager.Resolve(path), path);
        return resolved;
    }

    /// <summary>
    /// Runs an engine call that may wait (for a container to end, for a busy cgroup to empty) on a worker thread and,
    /// on the pipeline thread, reports it through Write-Progress every quarter second and passes on what the engine
    /// logs (its cgroupfs writes and signals) as Write-Verbose, so nothing is written from another thread. Ctrl+C
    /// (StopProcessing) reaches the call through its token, and the call is waited for (up to 5 s) before this returns,
    /// so it never runs on after the cmdlet has closed its cgroup descriptors; exceptions come back unwrapped.
    /// </summary>
    protected T WithProgress<T>(Func<T> work, ProgressRecord progress, TimeSpan? limit)
    {
        string waiting = progress.StatusDescription;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Action<string>? previous = _manager?.Log;
        CGroupManager manager = Manager;
        manager.Log = log.Enqueue;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool shown = false;
        Task<T>? task = null;
        try
        {
            task = Task.Run(work);
            while (!task.Wait(TimeSpan.FromMilliseconds(250)))
            {
                Flush(log);
                progress.StatusDescription = limit is TimeSpan l
                    ? $"{waiting}: {clock.Elapsed.TotalSeconds:0} s of at most {l.TotalSeconds:0.#} s"
                    : $"{waiting}: {clock.Elapsed.TotalSeconds:0} s";
                progress.PercentComplete = limit is TimeSpan t && t > TimeSpan.Zero ? (int)Math.Clamp(clock.Elapsed / t * 100, 0, 100) : -1;
                WriteProgress(progress);
                shown = true;
            }
            Flush(log);
            return task.GetAwaiter().GetResult();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            Flush(log);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException!).Throw();
            throw;
        }
        finally
        {
            // Stopped (Ctrl+C) while the work runs: its token was cancelled by StopProcessing, so it ends at its next
            // wait; let it, before the cmdlet is disposed and closes the descriptors the work is using.
            if (task is { IsCompleted: false })
            {
                try
                {
                    task.Wait(TimeSpan.FromSeconds(5));
                }
                catch (AggregateException)
                {
                }
            }
            manager.Log = previous ?? WriteVerbose;
            if (shown)
            {
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
            }
        }
    }

    private void Flush(System.Collections.Concurrent.ConcurrentQueue<string> log)
    {
        while (log.TryDequeue(out string? line))
        {
            WriteVerbose(line);
        }
    }

    public void Dispose()
    {
        _containers = null;
        _manager?.Dispose();
        _manager = null;
        GC.SuppressFinalize(this);
    }
}

/// <summary>The limit parameters shared by New-CGroup, Set-CGroupLimit and New-Container.</summary>
public abstract class CGroupLimitCommandBase : PscCommandBase
{
    /// <summary>Bytes of memory; -1 removes the limit. 256MB works.</summary>
    [Parameter]
    public long? MemoryLimit { get; set; }

    /// <summary>Bytes of memory plus swap (as docker/runc count it); -1 removes the limit.</summary>
    [Parameter]
    public long? MemorySwapLimit { get; set; }

    /// <summary>CPUs, e.g. 1.5; -1 removes the limit.</summary>
    [Parameter]
    public double? CpuLimit { get; set; }

    /// <summary>Relative CPU weight 1–10000; -1 restores the kernel's default (v2 weight 100, v1 1024 shares).</summary>
    [Parameter]
    public int? CpuWeight { get; set; }

    /// <summary>CPUs the cgroup may run on, e.g. "0-1,3".</summary>
    [Parameter]
    public string? CpuSet { get; set; }

    /// <summary>Maximum number of processes and threads; -1 removes the limit.</summary>
    [Parameter]
    public long? PidsLimit { get; set; }

    protected CGroupLimits Limits => new()
    {
        MemoryLimit = MemoryLimit,
        MemorySwapLimit = MemorySwapLimit,
        CpuLimit = CpuLimit,
        CpuWeight = CpuWeight,
        CpuSet = CpuSet,
        PidsLimit = PidsLimit,
    };

    protected static string Describe(IEnumerable<CGroupWrite> writes) =>
        string.Join("; ", writes.Select(w => $"{w.File}: {w.OldValue ?? "(unset)"} -> {w.NewValue}"));
}
