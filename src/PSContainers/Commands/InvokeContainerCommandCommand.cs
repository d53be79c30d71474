using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Invoke-ContainerCommand: runs one more program inside a running container (in its namespaces, cgroups and root,
/// seeing the container's init as pid 1). Its stdout lines are output, its stderr lines are errors, its exit code is
/// $LASTEXITCODE; Ctrl+C kills it. -AsJob returns a job instead.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", DefaultParameterSetName = "Name")]
[OutputType(typeof(string))]
[OutputType(typeof(ContainerCommandJob))]
public sealed class InvokeContainerCommandCommand : PscCommandBase
{
    private readonly CancellationTokenSource _stop = new();

    // Name is not positional: the first positional argument is always the program, also when containers are piped.
    [Parameter(ParameterSetName = "Name", Mandatory = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(ParameterSetName = "InputObject", Mandatory = true, ValueFromPipeline = true)]
    public Container? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 0)]
    [AllowEmptyString]
    public string FilePath { get; set; } = "";

    /// <summary>Also every argument left over, so `Invoke-ContainerCommand -Name web ls -l /` works (`--` before the program when an argument looks like one of ours).</summary>
    [Parameter(Position = 1, ValueFromRemainingArguments = true)]
    [Alias("Args")]
    [AllowEmptyCollection]
    [NativeArguments]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    [Parameter]
    public Hashtable? Environment { get; set; }

    [Parameter]
    public string? WorkingDirectory { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? User { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        string name = InputObject?.Name ?? Name;
        var request = new ContainerExecRequest
        {
            Name = name,
            FilePath = FilePath,
            ArgumentList = ArgumentList ?? Array.Empty<string>(),
            Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? ""),
            WorkingDirectory = WorkingDirectory,
            User = User,
        };
        PreparedExec? exec = null;
        if (!Try(() => exec = ContainerExec.Prepare(Containers, request), name) || exec is null)
        {
            return;
        }
        if (AsJob)
        {
            string command = $"Invoke-ContainerCommand -Name {name} {exec.FilePath} {string.Join(' ', exec.ArgumentList)}".TrimEnd();
            var job = new ContainerCommandJob(command, exec);
            JobRepository.Add(job);
            job.Start();
            WriteObject(job);
            return;
        }
        RunHere(exec, name);
    }

    /// <summary>
    /// The program runs on a worker thread; its lines are queued and written here, on the pipeline thread, until it
    /// ends. Whatever ends this early (Ctrl+C, a stopped pipeline, -ErrorAction Stop) kills the program first.
    /// </summary>
    private void RunHere(PreparedExec exec, string name)
    {
        using var queue = new BlockingCollection<(bool IsError, string Line)>();
        var task = Task.Run(() =>
        {
            try
            {
                return exec.Run(line => queue.Add((false, line)), line => queue.Add((true, line)), _stop.Token);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
        try
        {
            foreach (var (isError, line) in queue.GetConsumingEnumerable())
            {
                if (isError)
                {
                    WriteError(Errors.FromStderr(line));
                }
                else
                {
                    WriteObject(line);
                }
            }
        }
        finally
        {
            if (!task.IsCompleted)
            {
                _stop.Cancel();
            }
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        }
        try
        {
            SessionState.PSVariable.Set("LASTEXITCODE", task.GetAwaiter().GetResult());
        }
        catch (PscException e)
        {
            WriteError(Errors.From(e, name));
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}

/// <summary>
/// Arguments as a native command gets them: `ps -eo pid,args` parses `pid,args` as an array, which a native command
/// receives as the one argument "pid,args"; so does the program here. Elements of the list itself stay separate.
/// </summary>
internal sealed class NativeArgumentsAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject p ? p.BaseObject : inputData;
        if (value is string or not IEnumerable)
        {
            return inputData;
        }
        return ((IEnumerable)value).Cast<object?>().Select(Flat).ToArray();
    }

    private static string Flat(object? item)
    {
        object? value = item is PSObject p ? p.BaseObject : item;
        return value switch
        {
            null => "",
            string s => s,
            IEnumerable list => string.Join(",", list.Cast<object?>().Select(Flat)),
            _ => LanguagePrimitives.ConvertTo<string>(value),
        };
    }
}

/// <summary>
/// The job Invoke-ContainerCommand -AsJob returns: the program's stdout lines in Output, its stderr lines (and any
/// failure) in Error; Completed when it exits 0, Failed otherwise (<see cref="ExitCode"/> tells), Stopped by Stop-Job,
/// which kills the program.
/// </summary>
public sealed class ContainerCommandJob : Job
{
    private readonly PreparedExec _exec;
    private readonly CancellationTokenSource _stop = new();
    private Task? _task;

    internal ContainerCommandJob(string command, PreparedExec exec)
        : base(command, exec.ContainerName)
    {
        _exec = exec;
        PSJobTypeName = "ContainerCommandJob";
    }

    /// <summary>The container the program runs in.</summary>
    public string ContainerName => _exec.ContainerName;

    /// <summary>The program's exit code (128+n for signal n) once it has ended.</summary>
    public int? ExitCode { get; private set; }

    public override string StatusMessage => ExitCode is int code ? $"exit code {code}" : "";

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;

    public override string Location => ContainerName;

    internal void Start()
    {
        SetJobState(JobState.Running);
        _task = Task.Run(() =>
        {
            try
            {
                int code = _exec.Run(line => Output.Add(PSObject.AsPSObject(line)), line => Error.Add(Errors.FromStderr(line)), _stop.Token);
                ExitCode = code;
                SetJobState(code == 0 ? JobState.Completed : JobState.Failed);
            }
            catch (OperationCanceledException)
            {
                SetJobState(JobState.Stopped);
            }
            catch (PscException e)
            {
                Error.Add(Errors.From(e, ContainerName));
                SetJobState(JobState.Failed);
            }
            catch (Exception e)
            {
                Error.Add(new ErrorRecord(e, "ContainerCommandJob", ErrorCategory.NotSpecified, ContainerName));
                SetJobState(JobState.Failed);
            }
        });
    }

    /// <summary>Kills the program (and what is left of its session) and returns once it is gone.</summary>
    public override void StopJob()
    {
        _stop.Cancel();
        Finish();
    }

    private void Finish()
    {
        try
        {
            _task?.Wait(TimeSpan.FromSeconds(15));
        }
        catch (AggregateException)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Remove-Job -Force on a running job: nothing may outlive it.
            _stop.Cancel();
            Finish();
        }
        base.Dispose(disposing);
    }
}
