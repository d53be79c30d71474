using System.Management.Automation;
using PSContainers.CGroups;

namespace PSContainers.Commands;

/// <summary>
/// Set-CGroupLimit: changes limits of a cgroup below the project's root. All or nothing: if the kernel refuses one
/// value, the values already written are put back. -WhatIf names every file with its old and new value.
/// </summary>
[Cmdlet(VerbsCommon.Set, "CGroupLimit", SupportsShouldProcess = true, DefaultParameterSetName = "Path", ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CGroup))]
public sealed class SetCGroupLimitCommand : CGroupLimitCommandBase
{
    [Parameter(ParameterSetName = "Path", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [AllowEmptyString]
    [Alias("CGroupPath")]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = "InputObject", Mandatory = true, ValueFromPipeline = true)]
    public CGroup? InputObject { get; set; }

    /// <summary>A container: its cgroup's limits change live, while it runs.</summary>
    [Parameter(ParameterSetName = "Container", Mandatory = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string? Container { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string? path = InputObject is not null ? InputObject.Path : Container is null ? ResolvePath(Path) : null;
        if (Container is not null)
        {
            Try(() => path = Containers.CGroupOf(Container), Container);
        }
        if (path is null)
        {
            return;
        }
        var limits = Limits;
        if (limits.IsEmpty)
        {
            WriteError(new ErrorRecord(new ArgumentException("Give at least one limit: -MemoryLimit, -MemorySwapLimit, -CpuLimit, -CpuWeight, -CpuSet or -PidsLimit."),
                "NoLimitGiven", ErrorCategory.InvalidArgument, path));
            return;
        }
        Try(() =>
        {
            var plan = Manager.PlanLimits(path, limits);
            string description = $"Set limits on '{path}': {Describe(plan)}";
            if (!ShouldProcess(description, description + "?", "Set-CGroupLimit"))
            {
                return;
            }
            Manager.SetLimits(path, limits);
            if (PassThru)
            {
                WriteObject(Manager.Get(path));
            }
        }, path);
    }
}
