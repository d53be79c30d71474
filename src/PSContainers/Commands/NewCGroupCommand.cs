using System.Management.Automation;
using PSContainers.CGroups;

namespace PSContainers.Commands;

/// <summary>
/// New-CGroup: creates a cgroup below the project's root in every hierarchy that serves it, with limits.
/// All or nothing: on any failure nothing is left behind.
/// </summary>
[Cmdlet(VerbsCommon.New, "CGroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CGroup))]
public sealed class NewCGroupCommand : CGroupLimitCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [AllowEmptyString]
    public string Path { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string? path = ResolvePath(Path);
        if (path is null)
        {
            return;
        }
        var limits = Limits;
        string what = limits.IsEmpty ? "Create cgroup" : $"Create cgroup with {limits}";
        if (!ShouldProcess(path, what))
        {
            return;
        }
        Try(() =>
        {
            CGroup cg = Manager.Create(path, limits);
            if (PassThru)
            {
                WriteObject(cg);
            }
        }, Path);
    }
}
