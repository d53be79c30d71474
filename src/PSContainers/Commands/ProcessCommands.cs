using System.Collections;
using System.Management.Automation;
using PSContainers.Containers;
using SignalNames = PSContainers.Containers.Signals;

namespace PSContainers.Commands;

/// <summary>
/// Start-ContainerProcess: one more process in a running container (a sandbox's, or beside a program), detached and
/// tracked in the depot by a psc-init of its own, so it outlives this session; returns the ContainerProcess.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ContainerProcess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerProcess))]
public sealed class StartContainerProcessCommand : ContainerExecCommandBase
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Position = 1)]
    [Alias("Args")]
    [AllowEmptyCollection]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    /// <summary>Runs the program on a pty allocated inside the container; Enter-Container -ProcessId attaches to it.</summary>
    [Parameter]
    public SwitchParameter Tty { get; set; }

    /// <summary>The pty's columns (with -Tty; 1 to 9999, default 80).</summary>
    [Parameter]
    public int? Width { get; set; }

    /// <summary>The pty's rows (with -Tty; 1 to 9999, default 24).</summary>
    [Parameter]
    public int? Height { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Start process {FilePath} {string.Join(' ', ArgumentList)}".TrimEnd()))
        {
            return;
        }
        ContainerExecRequest request = Request(Name, ArgumentList) with { Tty = Tty, Width = Width, Height = Height };
        Try(() => WriteObject(Containers.StartProcess(request)), Name);
    }
}

/// <summary>Get-ContainerProcess: the processes of containers: "main" (the container's program) and those started in it.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerProcess")]
[OutputType(typeof(ContainerProcess))]
public sealed class GetContainerProcessCommand : PscCommandBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string[]? Name { get; set; }

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string[]? Id { get; set; }

    /// <summary>Also the processes in the container's cgroup that the module did not start (Tracked false, no Id).</summary>
    [Parameter]
    public SwitchParameter IncludeUntracked { get; set; }

    protected override void ProcessRecord()
    {
        var containers = Name is null ? Containers.List((n, e) => WriteWarning($"Container '{n}' is damaged: {e.Message}")) : ResolveContainers(Name, null);
        foreach (Container c in containers.ToList())
        {
            if (Id is null)
            {
                Try(() => WriteObject(Containers.Processes(c.Name, IncludeUntracked), enumerateCollection: true), c.Name);
                continue;
            }
            foreach (string id in Id)
            {
                Try(() => WriteObject(Containers.GetProcess(c.Name, id)), id);
            }
        }
    }
}

/// <summary>Name and Id of one process, from parameters or piped ContainerProcess objects (by property name).</summary>
public abstract class ContainerProcessCommandBase : PscCommandBase
{
    private protected readonly CancellationTokenSource Stop = new();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string Id { get; set; } = "";

    protected override void StopProcessing() => Stop.Cancel();
}

/// <summary>Wait-ContainerProcess: waits until the process has ended and returns it with ExitCode and Signal.</summary>
[Cmdlet(VerbsLifecycle.Wait, "ContainerProcess")]
[OutputType(typeof(ContainerProcess))]
public sealed class WaitContainerProcessCommand : ContainerProcessCommandBase
{
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Timeout { get; set; }

    protected override void ProcessRecord()
    {
        TimeSpan? limit = Timeout is int t ? TimeSpan.FromSeconds(t) : null;
        TryUnlessStopped(() => WriteObject(WithProgress(() => Containers.WaitProcess(Name, Id, limit, Stop.Token),
            new ProgressRecord(4, $"Wait-ContainerProcess {Name} {Id}", "Waiting for the process to end"), limit)), Id);
    }
}

/// <summary>
/// Stop-ContainerProcess: -Signal delivers one signal as given; without it SIGTERM, up to -Timeout seconds, then SIGKILL
/// (-Force: SIGKILL at once). Process "main" without -Signal stops the container, as Stop-Container does.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "ContainerProcess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerProcess))]
public sealed class StopContainerProcessCommand : ContainerProcessCommandBase
{
    /// <summary>A name (USR1, SIGUSR1) or a number (10).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string? Signal { get; set; }

    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 10;

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        int? signal = null;
        if (Signal is not null && !Try(() => signal = SignalNames.Parse(Signal), Signal))
        {
            return;
        }
        string action = signal is int s ? $"Send {SignalNames.Name(s)}" : Force ? "Kill (SIGKILL)" : $"Stop (SIGTERM, SIGKILL after {Timeout} s)";
        if (!ShouldProcess($"process {Id} of container '{Name}'", action))
        {
            return;
        }
        TryUnlessStopped(() =>
        {
            ContainerProcess p = Containers.StopProcess(Name, Id, signal, TimeSpan.FromSeconds(Timeout), Force, Stop.Token);
            if (PassThru)
            {
                WriteObject(p);
            }
        }, Id);
    }
}

/// <summary>Completes signal names for -Signal.</summary>
public sealed class SignalCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completions.Matching(SignalNames.All, wordToComplete, StringComparison.OrdinalIgnoreCase);
}
