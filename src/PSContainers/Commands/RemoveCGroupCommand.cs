using System.Management.Automation;

namespace PSContainers.Commands;

/// <summary>
/// Remove-CGroup: removes cgroups below the project's root from every hierarchy. -Recurse removes child cgroups
/// first; -Force kills the processes first (cgroup.kill, else freeze → SIGKILL each → thaw) and is confirmed as a
/// High-impact action. A cgroup that stays busy is retried with backoff for -TimeoutSec seconds, then reported.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CGroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveCGroupCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [AllowEmptyString]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter Recurse { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    [ValidateRange(0, 3600)]
    public int TimeoutSec { get; set; } = 5;

    private readonly CancellationTokenSource _stop = new();
    private PipelineProgress? _progress;

    private PipelineProgress Overall => _progress ??= new PipelineProgress(this, 11, "Remove-CGroup");

    protected override void EndProcessing() => _progress?.Complete();

    protected override void StopProcessing() => _stop.Cancel();

    protected override void ProcessRecord()
    {
        foreach (string p in Path)
        {
            string? path = ResolvePath(p);
            if (path is null)
            {
                continue;
            }
            string tree = Recurse ? "the cgroup and its children" : "the cgroup";
            if (Force ? !ShouldProcessHighImpact(path, $"Kill every process in {tree}, then remove it from every hierarchy")
                      : !ShouldProcess(path, $"Remove {tree} from every hierarchy"))
            {
                continue;
            }
            Overall.Next(path, MyInvocation.ExpectingInput ? null : Path.Length);
            // A busy cgroup is retried for up to -TimeoutSec: that wait shows as progress, and Ctrl+C ends it.
            if (!TryUnlessStopped(() => WithProgress(() => { Manager.Remove(path, Recurse, Force, TimeSpan.FromSeconds(TimeoutSec), _stop.Token); return true; },
                Overall.Child(new ProgressRecord(4, $"Remove-CGroup {path}", Force ? "Killing its processes and removing it" : "Removing it (retried while busy)")), TimeSpan.FromSeconds(TimeoutSec)), p))
            {
                return;
            }
        }
    }
}
