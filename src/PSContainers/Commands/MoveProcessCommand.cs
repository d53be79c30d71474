using System.Management.Automation;
using PSContainers.CGroups;

namespace PSContainers.Commands;

/// <summary>
/// Move-Process: moves processes into a cgroup below the project's root, in every hierarchy, or into a running
/// container's cgroups (-Container). Id binds by property name (Id, ProcessId, Pid, ProcessIds), so process objects
/// and cgroups pipe in.
/// </summary>
[Cmdlet(VerbsCommon.Move, "Process", SupportsShouldProcess = true, DefaultParameterSetName = "Path", ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CGroup))]
public sealed class MoveProcessCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ProcessId", "Pid", "ProcessIds")]
    [AllowEmptyCollection]
    public int[] Id { get; set; } = Array.Empty<int>();

    [Parameter(ParameterSetName = "Path", Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [AllowEmptyString]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = "CGroup", Mandatory = true)]
    public CGroup? CGroup { get; set; }

    /// <summary>A running container: the process joins its cgroups (the seeds' migrate_process).</summary>
    [Parameter(ParameterSetName = "Container", Mandatory = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string? Container { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private string? _destination;
    private bool _moved;

    protected override void BeginProcessing()
    {
        if (Container is not null)
        {
            // Checked once here, so a container that cannot take processes is one error and nothing moves.
            Try(() => _destination = Containers.MoveTarget(Container), Container);
            return;
        }
        _destination = CGroup is not null ? CGroup.Path : ResolvePath(Path);
    }

    protected override void ProcessRecord()
    {
        if (_destination is null)
        {
            return;
        }
        foreach (int pid in Id)
        {
            if (!ShouldProcess($"process {pid}", $"Move into cgroup '{_destination}'"))
            {
                continue;
            }
            // Into a container through the engine's move, which checks again that it is still running.
            _moved |= Container is not null
                ? Try(() => Containers.MoveProcess(pid, Container), pid)
                : Try(() => Manager.MoveProcess(pid, _destination), pid);
        }
    }

    protected override void EndProcessing()
    {
        if (PassThru && _moved && _destination is not null)
        {
            Try(() => WriteObject(Manager.Get(_destination)), _destination);
        }
    }
}
