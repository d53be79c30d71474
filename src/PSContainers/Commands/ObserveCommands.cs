using System.Management.Automation;
using PSContainers.Containers;

namespace PSContainers.Commands;

/// <summary>Suspend-Container: freezes the whole cgroup (cgroup.freeze or the v1 freezer) and waits for the kernel; State becomes Paused.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "Container", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class SuspendContainerCommand : ContainerTargetCommandBase
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() =>
        ForEachTarget(_ => "Freeze every process of the container", t => Containers.Suspend(t.Name), PassThru);
}

/// <summary>Resume-Container: thaws a paused container and waits for the kernel; State becomes Running.</summary>
[Cmdlet(VerbsLifecycle.Resume, "Container", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class ResumeContainerCommand : ContainerTargetCommandBase
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() =>
        ForEachTarget(_ => "Thaw every process of the container", t => Containers.Resume(t.Name), PassThru);
}

/// <summary>Set-ContainerProperty: user key/value metadata kept in the depot (Garden's properties).</summary>
[Cmdlet(VerbsCommon.Set, "ContainerProperty", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class SetContainerPropertyCommand : ContainerTargetCommandBase
{
    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(ContainerPropertyKeyCompleter))]
    public string Key { get; set; } = "";

    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    public string Value { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() =>
        ForEachTarget(t => $"Set property '{Key}': {(t.Properties.TryGetValue(Key, out string? v) ? $"'{v}'" : "(unset)")} -> '{Value}'", t => Containers.SetProperty(t.Name, Key, Value), PassThru);
}

/// <summary>Remove-ContainerProperty: removes one user property from the depot.</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerProperty", DefaultParameterSetName = "Name", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class RemoveContainerPropertyCommand : ContainerTargetCommandBase
{
    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(ContainerPropertyKeyCompleter))]
    public string Key { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() =>
        ForEachTarget(_ => $"Remove property '{Key}'", t => Containers.SetProperty(t.Name, Key, null), PassThru);
}

/// <summary>Get-ContainerEvent: the event logs of containers (created, started, exited, stopped, oom-killed, paused, resumed…).</summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
public sealed class GetContainerEventCommand : PscCommandBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter]
    public DateTime? Since { get; set; }

    protected override void ProcessRecord()
    {
        var containers = Name is null
            ? Containers.List((n, e) => WriteWarning($"Container '{n}' is damaged: {e.Message}"))
            : ResolveContainers(Name, null);
        var since = Since?.ToUniversalTime();
        var events = containers.SelectMany(c => Containers.Events(c.Name)).Where(e => since is null || e.Time >= since).OrderBy(e => e.Time);
        foreach (ContainerEvent e in events)
        {
            WriteObject(e);
        }
    }
}
