using System.Management.Automation;
using PSContainers.CGroups;

namespace PSContainers.Commands;

/// <summary>
/// Move-Process: moves processes into a cgroup below the project's root, in every hierarchy. Id binds by property
/// name (Id, ProcessId, Pid, ProcessIds), so process objects and cgroups pipe in.
/// </summary>
[Cmdlet(VerbsCommon.Move, "Process", SupportsShouldProcess = true, DefaultParameterSetName = "Path", ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CGroup))]
public sealed class MoveProcessCommand : CGroupCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ProcessId", "Pid", "ProcessIds")]
    public int[] Id { get; set; } = Array.Empty<int>();

    [Parameter(ParameterSetName = "Path", Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [AllowEmptyString]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = "CGroup", Mandatory = true)]
    public CGroup? CGroup { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private string? _destination;

    protected override void BeginProcessing()
    {
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
            Try(() => Manager.MoveProcess(pid, _destination), pid);
        }
    }

    protected override void EndProcessing()
    {
        if (PassThru && _destination is not null)
        {
            Try(() => WriteObject(Manager.Get(_destination)), _destination);
        }
    }
}
