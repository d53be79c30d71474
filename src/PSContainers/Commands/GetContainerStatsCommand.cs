using System.Management.Automation;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Get-ContainerStats: usage samples of containers (or any cgroups with -CGroupPath). One sample by default;
/// -Count N or -Watch (until Ctrl+C) stream one object per container every -Interval, with CpuPercent between samples.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerStats", DefaultParameterSetName = "Name")]
[OutputType(typeof(ContainerStats))]
public sealed class GetContainerStatsCommand : PscCommandBase
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(string Name, string Path, ContainerSpec? Spec)> _targets = new();

    [Parameter(ParameterSetName = "Name", Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = "InputObject", Mandatory = true, ValueFromPipeline = true)]
    public Container? InputObject { get; set; }

    [Parameter(ParameterSetName = "CGroupPath", Mandatory = true)]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    public string[] CGroupPath { get; set; } = Array.Empty<string>();

    /// <summary>Time between samples: a TimeSpan ('00:00:02'), or a number of seconds (2, 0.5).</summary>
    [Parameter]
    [SecondsToTimeSpan]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    [Parameter]
    public SwitchParameter Watch { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "CGroupPath")
        {
            foreach (string p in CGroupPath)
            {
                string? path = ResolvePath(p);
                if (path is not null)
                {
                    _targets.Add((path, path, null));
                }
            }
            return;
        }
        // Every container: only the specs are read (name and cgroup); the state of each does not matter here.
        var containers = Name is null && InputObject is null
            ? Containers.Specs((n, e) => WriteWarning($"Container '{n}' is damaged: {e.Message}"))
            : ResolveContainers(Name, InputObject).Select(c => c.Spec);
        foreach (var spec in containers)
        {
            if (spec.CGroupPath.Length == 0 && Name is null && InputObject is null)
            {
                WriteVerbose($"Container '{spec.Name}' has no cgroup of its own (rootless, without limits); skipped.");
                continue;
            }
            Try(() => _targets.Add((spec.Name, ContainerManager.CGroupOf(spec), spec)), spec.Name);
        }
    }

    protected override void EndProcessing()
    {
        if (Interval <= TimeSpan.Zero)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Interval), Interval, "The interval must be positive."),
                "InvalidInterval", ErrorCategory.InvalidArgument, Interval));
        }
        var previous = new Dictionary<string, ContainerStats>();
        var live = new List<(string Name, string Path, ContainerSpec? Spec)>(_targets);
        for (int sample = 0; Watch || sample < Count; sample++)
        {
            if (sample > 0 && _stop.Token.WaitHandle.WaitOne(Interval))
            {
                return;
            }
            foreach (var target in live.ToList())
            {
                bool ok = Try(() =>
                {
                    if (!Manager.Exists(target.Path))
                    {
                        throw new PscException(ParameterSetName == "CGroupPath" ? "CGroupNotFound" : "ContainerGone", ErrorKind.ObjectNotFound,
                            previous.ContainsKey(target.Path)
                                ? $"'{target.Name}' is gone: its cgroup {target.Path} no longer exists."
                                : $"The cgroup {target.Path} of '{target.Name}' does not exist.", target.Name);
                    }
                    var layer = target.Spec is null ? null : ContainerManager.LayerUsage(target.Spec);
                    var network = target.Spec is null ? null : Containers.NetworkUsage(target.Spec);
                    var stats = new ContainerStats(target.Name, Manager.ReadStats(target.Path), previous.GetValueOrDefault(target.Path), layer, network);
                    previous[target.Path] = stats;
                    WriteObject(stats);
                }, target.Name);
                if (!ok)
                {
                    live.Remove(target);
                }
            }
            if (live.Count == 0)
            {
                return;
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>Reads a bare number as seconds, so -Interval 2 means two seconds, not two ticks.</summary>
public sealed class SecondsToTimeSpanAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            int or long or short or byte or double or float or decimal => TimeSpan.FromSeconds(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
            _ => inputData,
        };
    }
}
