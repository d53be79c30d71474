using System.Management.Automation;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Import-ContainerImage: a root filesystem (a folder, a tar archive plain/gzip/zstd/xz, an OCI image layout or OCI
/// archive) into the image store, all or nothing. The import runs on a worker thread; the pipeline thread shows its
/// progress (bytes and entries) and Ctrl+C cancels it, leaving no image and no staging folder.
/// </summary>
[Cmdlet(VerbsData.Import, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerImage))]
public sealed class ImportContainerImageCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private readonly CancellationTokenSource _stop = new();

    protected override void StopProcessing() => _stop.Cancel();

    protected override void ProcessRecord()
    {
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess($"{path} as image '{Name}'", "Import the root filesystem"))
        {
            return;
        }
        ImageImportProgress? latest = null;
        var progress = new Latest(p => Volatile.Write(ref latest, p));
        var record = new ProgressRecord(12, $"Import-ContainerImage {Name}", "Reading " + path);
        var store = ImageStore.FromEnvironment();
        bool shown = false;
        var task = Task.Run(() => store.Import(path, Name, progress, _stop.Token));
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Task.WhenAny(task, Task.Delay(200)).GetAwaiter().GetResult() != task)
            {
                if (Volatile.Read(ref latest) is { } p && clock.ElapsedMilliseconds >= 400)
                {
                    record.StatusDescription = $"{p.BytesDone / 1048576.0:0.0} of {p.BytesTotal / 1048576.0:0.0} MiB read, {p.Files}{(p.FilesTotal is long t ? $" of {t}" : "")} entries made";
                    record.PercentComplete = p.BytesTotal > 0 ? (int)Math.Clamp(p.BytesDone * 100 / p.BytesTotal, 0, 100) : -1;
                    WriteProgress(record);
                    shown = true;
                }
            }
            ContainerImage image = task.GetAwaiter().GetResult();
            WriteVerbose($"Imported '{image.Name}' from {image.Source}: {image.Size} bytes, {image.Layers} layer(s).");
            if (PassThru)
            {
                WriteObject(image);
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the import removed its staging folder before it ended.
        }
        catch (PscException e)
        {
            WriteError(Errors.From(e, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(Errors.From(e, "ImageImportFailed", path));
        }
        finally
        {
            if (!task.IsCompleted)
            {
                // Stopped while waiting: let the import see the cancellation and clean up.
                Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60))).GetAwaiter().GetResult();
            }
            if (shown)
            {
                record.RecordType = ProgressRecordType.Completed;
                WriteProgress(record);
            }
        }
    }

    private sealed class Latest(Action<ImageImportProgress> report) : IProgress<ImageImportProgress>
    {
        public void Report(ImageImportProgress value) => report(value);
    }
}

/// <summary>Get-ContainerImage: the images in the store, by name (wildcards allowed; a literal name that is missing is an error).</summary>
[Cmdlet(VerbsCommon.Get, "ContainerImage")]
[OutputType(typeof(ContainerImage))]
public sealed class GetContainerImageCommand : PscCommandBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    private IReadOnlyList<ContainerImage>? _images;

    protected override void ProcessRecord()
    {
        var store = ImageStore.FromEnvironment();
        if (_images is null)
        {
            Try(() => store.Sweep(), store.StagingPath);
            _images = store.List();
        }
        if (Name is null)
        {
            WriteObject(_images, enumerateCollection: true);
            return;
        }
        foreach (string name in Name)
        {
            if (WildcardPattern.ContainsWildcardCharacters(name))
            {
                var wc = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                WriteObject(_images.Where(i => wc.IsMatch(i.Name)), enumerateCollection: true);
                continue;
            }
            Try(() => WriteObject(store.Get(name)), name);
        }
    }
}

/// <summary>
/// Remove-ContainerImage: removes images from the store, refused (ImageInUse) while a container in the depot uses
/// the image. Wildcards allowed.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerImageCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    [AllowEmptyString]
    public string[] Name { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (string pattern in Name)
        {
            IEnumerable<string> names = new[] { pattern };
            if (WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                var wc = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
                names = Containers.Store.List().Select(i => i.Name).Where(wc.IsMatch).ToList();
            }
            foreach (string name in names)
            {
                if (ShouldProcess(name, "Remove the image"))
                {
                    Try(() => Containers.RemoveImage(name), name);
                }
            }
        }
    }
}
