using System.Diagnostics;
using System.Management.Automation;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Copy-ContainerItem: host files into a container (-ToContainer) or a container's files out to the host
/// (-FromContainer), the shape of Copy-Item -ToSession/-FromSession. Container paths are resolved in the container's
/// root and never leave it; links are copied as links.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "ContainerItem", DefaultParameterSetName = ToSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ContainerItem), ParameterSetName = new[] { ToSet })]
[OutputType(typeof(FileInfo), typeof(DirectoryInfo), ParameterSetName = new[] { FromSet })]
public sealed class CopyContainerItemCommand : PscCommandBase
{
    private const string ToSet = "ToContainer";
    private const string FromSet = "FromContainer";
    private readonly CancellationTokenSource _stop = new();

    /// <summary>What to copy: host paths (wildcards, relative to the current location) or container paths.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Where to: a container path (-ToContainer) or a host path (-FromContainer).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Destination { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ToSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string ToContainer { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = FromSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string FromContainer { get; set; } = "";

    /// <summary>Copies folders with everything in them.</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>Replaces existing files.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Owner of what is written into the container: a name or uid[:gid] from the container's own passwd/group.</summary>
    [Parameter(ParameterSetName = ToSet)]
    public string? User { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private ProgressRecord? _progress;
    private readonly Stopwatch _clock = new();
    private TimeSpan _lastShown;

    protected override void ProcessRecord()
    {
        string container = ParameterSetName == ToSet ? ToContainer : FromContainer;
        var sources = new List<string>();
        if (ParameterSetName == ToSet)
        {
            foreach (string p in Path)
            {
                try
                {
                    var resolved = GetResolvedProviderPathFromPSPath(p, out ProviderInfo provider);
                    if (provider.Name != "FileSystem")
                    {
                        WriteError(new ErrorRecord(new ArgumentException($"'{p}' is not a file system path."), "CopySourceNotFileSystem", ErrorCategory.InvalidArgument, p));
                        continue;
                    }
                    sources.AddRange(resolved);
                }
                catch (ItemNotFoundException e)
                {
                    WriteError(new ErrorRecord(e, "CopySourceNotFound", ErrorCategory.ObjectNotFound, p));
                }
            }
        }
        else
        {
            sources.AddRange(Path);
        }
        if (sources.Count == 0)
        {
            return;
        }
        string destination = ParameterSetName == ToSet ? Destination : GetUnresolvedProviderPathFromPSPath(Destination);
        bool Confirm(string source, string target) => ShouldProcess(
            ParameterSetName == ToSet ? $"'{source}' to '{target}' in container '{container}'" : $"'{source}' of container '{container}' to '{Destination}'", "Copy");
        void OnError(string source, PscException e) => WriteError(Errors.From(e, source));
        _clock.Restart();
        TryUnlessStopped(() =>
        {
            if (ParameterSetName == ToSet)
            {
                var written = Containers.CopyIn(container, sources, destination, Recurse, Force, User, Confirm, OnError, Progress, _stop.Token);
                if (PassThru)
                {
                    WriteObject(written, enumerateCollection: true);
                }
            }
            else
            {
                var written = Containers.CopyOut(container, sources, destination, Recurse, Force, Confirm, OnError, Progress, _stop.Token);
                if (PassThru)
                {
                    foreach (string path in written)
                    {
                        var info = new FileInfo(path);
                        WriteObject(info.Attributes.HasFlag(FileAttributes.Directory) && info.LinkTarget is null ? new DirectoryInfo(path) : info);
                    }
                }
            }
        }, container);
        if (_progress is not null)
        {
            _progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(_progress);
            _progress = null;
        }
    }

    /// <summary>Write-Progress once the copy has taken more than a moment, then at most four times a second.</summary>
    private void Progress(CopyProgress p)
    {
        TimeSpan now = _clock.Elapsed;
        if (now < TimeSpan.FromSeconds(1) || now - _lastShown < TimeSpan.FromMilliseconds(250))
        {
            return;
        }
        _lastShown = now;
        _progress ??= new ProgressRecord(20, "Copy-ContainerItem", "Copying");
        _progress.StatusDescription = $"{p.FilesDone} of {p.FilesTotal} items, {Mib(p.BytesDone)} of {Mib(p.BytesTotal)} MiB";
        _progress.CurrentOperation = p.Current;
        _progress.PercentComplete = p.BytesTotal > 0 ? (int)Math.Clamp(p.BytesDone * 100 / p.BytesTotal, 0, 100)
            : p.FilesTotal > 0 ? (int)Math.Clamp(p.FilesDone * 100 / p.FilesTotal, 0, 100) : -1;
        WriteProgress(_progress);
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    protected override void StopProcessing() => _stop.Cancel();
}
