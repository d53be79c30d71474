using System.Management.Automation;
using PSContainers.Containers;

namespace PSContainers.Commands;

/// <summary>Name (wildcards) or InputObject: the way every container cmdlet picks its containers.</summary>
public abstract class ContainerTargetCommandBase : PscCommandBase
{
    [Parameter(ParameterSetName = "Name", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = "InputObject", Mandatory = true, ValueFromPipeline = true)]
    public Container? InputObject { get; set; }

    private PipelineProgress? _overall;

    protected IEnumerable<Container> Targets() => ResolveContainers(Name, InputObject);

    /// <summary>The overall progress over several containers (Start, Stop, Wait, Remove).</summary>
    private protected PipelineProgress Overall => _overall ??= new PipelineProgress(this, 10, MyInvocation.MyCommand.Name);

    /// <summary>The number of containers in the whole call when it is known: the targets of one call without pipeline input.</summary>
    protected int? KnownTotal(int count) => MyInvocation.ExpectingInput ? null : count;

    protected override void EndProcessing() => _overall?.Complete();

    /// <summary>For each target: ShouldProcess with its action text, the engine call, and the result with -PassThru.</summary>
    protected void ForEachTarget(Func<Container, string> action, Func<Container, Container> operation, bool passThru)
    {
        foreach (Container target in Targets().ToList())
        {
            if (ShouldProcess(target.Name, action(target)))
            {
                Try(() =>
                {
                    Container c = operation(target);
                    if (passThru)
                    {
                        WriteObject(c);
                    }
                }, target.Name);
            }
        }
    }
}

/// <summary>Get-Container: every container in the depot (found again from any session), or those named.</summary>
[Cmdlet(VerbsCommon.Get, "Container")]
[OutputType(typeof(Container))]
public sealed class GetContainerCommand : PscCommandBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (Name is null)
        {
            foreach (Container c in Containers.List((n, e) => WriteWarning($"Container '{n}' is damaged: {e.Message}")))
            {
                WriteObject(c);
            }
            return;
        }
        foreach (Container c in ResolveContainers(Name, null))
        {
            WriteObject(c);
        }
    }
}

/// <summary>Start-Container: runs created containers; -Wait streams stdout to output and stderr to errors until it ends.</summary>
[Cmdlet(VerbsLifecycle.Start, "Container", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container), typeof(string), typeof(Events.ContainerJob))]
public sealed class StartContainerCommand : ContainerTargetCommandBase
{
    private readonly CancellationTokenSource _stop = new();

    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Returns a job per container: Receive-Job streams its output, Stop-Job stops it.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        // A literal name goes straight to the engine, which looks the container up under its lock anyway (and reports
        // ContainerNotFound the same way): one depot read less on the start path.
        var names = InputObject is null && Name.All(n => !WildcardPattern.ContainsWildcardCharacters(n))
            ? Name
            : Targets().Select(t => t.Name).ToArray();
        foreach (string name in names)
        {
            if (!ShouldProcess(name, "Start container"))
            {
                continue;
            }
            Overall.Next(name, KnownTotal(names.Length));
            Container? started = null;
            if (!Try(() => started = Containers.Start(name), name) || started is null)
            {
                continue;
            }
            Container target = started;
            if (AsJob)
            {
                var job = new Events.ContainerJob(MyInvocation.Line, target.Name, Containers.Depot, Manager.ProjectRoot);
                JobRepository.Add(job);
                job.Begin();
                WriteObject(job);
                continue;
            }
            if (Wait)
            {
                Container? ended = null;
                if (!Try(() => ended = Containers.Follow(target.Name, Emit, _stop.Token), target.Name))
                {
                    continue;
                }
                if (ended is null)
                {
                    return; // Ctrl+C
                }
                started = ended;
                SessionState.PSVariable.Set("LASTEXITCODE", ended.ExitCode ?? 0);
            }
            if (PassThru)
            {
                WriteObject(started);
            }
        }
    }

    private void Emit(LogStream stream, string line)
    {
        if (stream == LogStream.Stdout)
        {
            WriteObject(line);
        }
        else
        {
            WriteError(Errors.FromStderr(line));
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>
/// Stop-Container: SIGTERM to the main process, then after -Timeout seconds (default 10, as Garden) SIGKILL to every
/// process in the cgroup until it is empty; -Force kills at once.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Container))]
public sealed class StopContainerCommand : ContainerTargetCommandBase
{
    private readonly CancellationTokenSource _stop = new();

    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 10;

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var targets = Targets().ToList();
        foreach (Container target in targets)
        {
            if (!ShouldProcess(target.Name, Force ? "Kill every process of the container" : $"Stop container (SIGTERM, SIGKILL after {Timeout} s)"))
            {
                continue;
            }
            Overall.Next(target.Name, KnownTotal(targets.Count));
            var progress = Overall.Child(new ProgressRecord(1, $"Stop-Container {target.Name}", "Stopping"));
            bool carryOn = TryUnlessStopped(() =>
            {
                Container c = Containers.Stop(target.Name, TimeSpan.FromSeconds(Timeout), Force, (status, fraction) =>
                {
                    progress.StatusDescription = status;
                    progress.PercentComplete = (int)Math.Clamp(fraction * 100, 0, 100);
                    WriteProgress(progress);
                }, _stop.Token);
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
                if (PassThru)
                {
                    WriteObject(c);
                }
            }, target.Name);
            if (!carryOn)
            {
                return;
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>Wait-Container: waits until each container's main process has ended; returns it with ExitCode and Signal.</summary>
[Cmdlet(VerbsLifecycle.Wait, "Container", DefaultParameterSetName = "Name")]
[OutputType(typeof(Container))]
public sealed class WaitContainerCommand : ContainerTargetCommandBase
{
    private readonly CancellationTokenSource _stop = new();

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Timeout { get; set; }

    protected override void ProcessRecord()
    {
        var targets = Targets().ToList();
        foreach (Container target in targets)
        {
            TimeSpan? limit = Timeout is int t ? TimeSpan.FromSeconds(t) : null;
            Overall.Next(target.Name, KnownTotal(targets.Count));
            if (!TryUnlessStopped(() => WriteObject(WithProgress(() => Containers.Wait(target.Name, limit, _stop.Token),
                Overall.Child(new ProgressRecord(2, $"Wait-Container {target.Name}", "Waiting for the container to end")), limit)), target.Name))
            {
                return;
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>
/// Remove-Container: removes the cgroup (unless -KeepCGroup was given at creation) and the depot entry. -Force stops a
/// running container first (every process killed) and is confirmed as a High-impact action.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Container", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerCommand : ContainerTargetCommandBase
{
    private const string ForceAction = "Kill every process of the container, then remove its cgroup and depot entry";

    private readonly CancellationTokenSource _stop = new();

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (InputObject is null && Force)
        {
            // -Force also removes entries too damaged to read, which ResolveContainers cannot return.
            var names = new List<string>();
            foreach (string name in Name)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name) && Containers.Depot.Exists(name))
                {
                    names.Add(name);
                    continue;
                }
                names.AddRange(ResolveContainers(new[] { name }, null).Select(c => c.Name));
            }
            foreach (string name in names)
            {
                Remove(name, names.Count);
            }
            return;
        }
        var targets = Targets().ToList();
        foreach (Container target in targets)
        {
            Remove(target.Name, targets.Count);
        }
    }

    private void Remove(string name, int count)
    {
        if (Force ? !ShouldProcessHighImpact(name, ForceAction) : !ShouldProcess(name, "Remove the container's cgroup and depot entry"))
        {
            return;
        }
        Overall.Next(name, KnownTotal(count));
        // Ctrl+C: the entry stays (the container is listed and can be removed again)
        TryUnlessStopped(() => WithProgress(() => { Containers.Remove(name, Force, _stop.Token); return true; },
            Overall.Child(new ProgressRecord(3, $"Remove-Container {name}", Force ? "Stopping and removing" : "Removing")), null), name);
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>Get-ContainerLog: the lines a process of the container (its main program by default) wrote to stdout and stderr, in the order written.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog", DefaultParameterSetName = "Name")]
[OutputType(typeof(string))]
public sealed class GetContainerLogCommand : ContainerTargetCommandBase
{
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Tail { get; set; }

    [Parameter]
    public LogStream Stream { get; set; } = LogStream.All;

    /// <summary>A process started with Start-ContainerProcess (its Id), or "main" (the default): the container's program.</summary>
    [Parameter]
    [AllowEmptyString]
    public string? ProcessId { get; set; }

    /// <summary>After what was written so far (the last -Tail lines), each new line as it is written, until the process ends.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    private readonly CancellationTokenSource _stop = new();

    protected override void ProcessRecord()
    {
        foreach (Container target in Targets().ToList())
        {
            Try(() =>
            {
                if (Follow)
                {
                    Containers.FollowProcess(target.Name, ProcessId ?? ContainerProcess.MainId, Stream, Tail, (_, line) => WriteObject(line), _stop.Token);
                    return;
                }
                var lines = Tailed(Containers.ProcessOutput(target.Name, ProcessId ?? ContainerProcess.MainId).ReadNew(final: true)
                    .Where(l => Stream == LogStream.All || l.Stream == Stream).ToList());
                foreach (var (_, line) in lines)
                {
                    WriteObject(line);
                }
            }, target.Name);
        }
    }

    private IEnumerable<(LogStream, string)> Tailed(List<(LogStream, string)> lines) =>
        Tail is int n ? lines.Skip(Math.Max(0, lines.Count - n)) : lines;

    protected override void StopProcessing() => _stop.Cancel();
}
