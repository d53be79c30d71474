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
[OutputType(typeof(byte[]))]
public sealed class InvokeContainerCommandCommand : ContainerExecCommandBase
{
    private readonly CancellationTokenSource _stop = new();

    // Name is not positional: the first positional argument is always the program, also when containers are piped.
    [Parameter(ParameterSetName = "Name", Mandatory = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(ParameterSetName = "InputObject", Mandatory = true, ValueFromPipeline = true)]
    public Container? InputObject { get; set; }

    /// <summary>Also every argument left over, so `Invoke-ContainerCommand -Name web ls -l /` works (`--` before the program when an argument looks like one of ours).</summary>
    [Parameter(Position = 1, ValueFromRemainingArguments = true)]
    [Alias("Args")]
    [AllowEmptyCollection]
    [NativeArguments]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>The program's stdout as the bytes it wrote (byte[] chunks), not as lines of text.</summary>
    [Parameter]
    public SwitchParameter AsByteStream { get; set; }

    /// <summary>
    /// Pipeline input, the program's stdin (with -Name): strings as lines, bytes and byte arrays as they are, other
    /// objects as their text; stdin is closed at the end of input. Without pipeline input stdin is /dev/null.
    /// </summary>
    [Parameter(ParameterSetName = "Name", ValueFromPipeline = true)]
    public PSObject? StandardInput { get; set; }

    private BlockingCollection<(bool IsError, object Item)>? _queue;
    private Task<int>? _running;
    private ExecInput? _input;
    private bool _stdinMode;
    private bool _failedBeforeStart;

    /// <summary>With -AsJob and pipeline input: the program, and the whole input gathered for the job's stdin.</summary>
    private PreparedExec? _jobExec;
    private List<byte[]>? _jobInput;

    protected override void BeginProcessing()
    {
        // With -Name and pipeline input, the whole input is the program's stdin, as for a native command in a
        // pipeline: the program starts now and takes each object as it comes. With -AsJob the input is gathered, and
        // one job starts at the end of input with all of it as its stdin.
        _stdinMode = ParameterSetName == "Name" && MyInvocation.ExpectingInput;
        if (!_stdinMode)
        {
            return;
        }
        PreparedExec? exec = null;
        if (!Try(() => exec = ContainerExec.Prepare(Containers, Request(Name, ArgumentList)), Name) || exec is null)
        {
            _stdinMode = false;
            _failedBeforeStart = true;
            return;
        }
        if (AsJob)
        {
            _jobExec = exec;
            _jobInput = new List<byte[]>();
            return;
        }
        _input = new ExecInput();
        Launch(exec, _input);
    }

    protected override void ProcessRecord()
    {
        if (_jobInput is not null)
        {
            _jobInput.AddRange(Chunks(StandardInput));
            return;
        }
        if (_stdinMode)
        {
            foreach (byte[] chunk in Chunks(StandardInput))
            {
                while (!_input!.TryAdd(chunk, TimeSpan.FromMilliseconds(20)))
                {
                    Drain(wait: false); // the program is not reading yet: show what it wrote meanwhile
                }
            }
            Drain(wait: false);
            return;
        }
        if (_failedBeforeStart)
        {
            return;
        }
        string name = InputObject?.Name ?? Name;
        PreparedExec? exec = null;
        if (!Try(() => exec = ContainerExec.Prepare(Containers, Request(name, ArgumentList)), name) || exec is null)
        {
            return;
        }
        if (AsJob)
        {
            StartJob(name, exec, null);
            return;
        }
        Launch(exec, null);
        Finish(name);
    }

    protected override void EndProcessing()
    {
        if (_jobInput is not null)
        {
            StartJob(Name, _jobExec!, _jobInput);
        }
        else if (_stdinMode)
        {
            _input!.Complete();
            Finish(Name);
        }
    }

    /// <summary>Adds a job running the program (with <paramref name="stdin"/> as its stdin, else /dev/null) and writes it.</summary>
    private void StartJob(string name, PreparedExec exec, IReadOnlyList<byte[]>? stdin)
    {
        string command = $"Invoke-ContainerCommand -Name {name} {exec.FilePath} {string.Join(' ', exec.ArgumentList)}".TrimEnd();
        var job = new ContainerCommandJob(command, exec, stdin);
        JobRepository.Add(job);
        job.Start();
        WriteObject(job);
    }

    /// <summary>One pipeline object as stdin bytes: a byte or byte[] as it is, a string as a line, anything else as its text.</summary>
    private static IEnumerable<byte[]> Chunks(PSObject? input)
    {
        object? value = input?.BaseObject;
        byte[] bytes = value switch
        {
            null => Array.Empty<byte>(),
            byte b => new[] { b },
            byte[] a => a,
            string str => System.Text.Encoding.UTF8.GetBytes(str + "\n"),
            _ => System.Text.Encoding.UTF8.GetBytes(LanguagePrimitives.ConvertTo<string>(input) + "\n"),
        };
        for (int i = 0; i < bytes.Length; i += ExecInput.MaxChunk)
        {
            yield return bytes[i..Math.Min(bytes.Length, i + ExecInput.MaxChunk)];
        }
    }

    /// <summary>Starts the program on a worker thread; its output is queued, and written on the pipeline thread by <see cref="Drain"/>.</summary>
    private void Launch(PreparedExec exec, ExecInput? input)
    {
        var queue = new BlockingCollection<(bool IsError, object Item)>();
        _queue = queue;
        Action<byte[]>? bytes = AsByteStream ? b => queue.Add((false, b)) : null;
        _running = Task.Run(() =>
        {
            try
            {
                return exec.Run(line => queue.Add((false, line)), line => queue.Add((true, line)), _stop.Token, input, bytes);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
    }

    /// <summary>Writes what the program wrote so far; with <paramref name="wait"/>, until it has ended.</summary>
    private void Drain(bool wait)
    {
        var queue = _queue!;
        while (wait ? queue.TryTake(out var item, Timeout.Infinite) : queue.TryTake(out item))
        {
            if (item.IsError)
            {
                WriteError(Errors.FromStderr((string)item.Item));
            }
            else
            {
                WriteObject(item.Item, enumerateCollection: false);
            }
        }
    }

    /// <summary>
    /// Writes the rest of the output until the program ends, then its exit code as $LASTEXITCODE and, when it is not 0,
    /// $? false (as a native command). Whatever ends this early (Ctrl+C, a stopped pipeline, -ErrorAction Stop) kills
    /// the program first.
    /// </summary>
    private void Finish(string name)
    {
        var task = _running!;
        try
        {
            Drain(wait: true);
        }
        finally
        {
            if (!task.IsCompleted)
            {
                _stop.Cancel();
            }
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
            _queue!.Dispose();
        }
        try
        {
            int code = task.GetAwaiter().GetResult();
            SessionState.PSVariable.Set("global:LASTEXITCODE", code); // where a native command sets it
            if (code != 0)
            {
                NativeStatus.Failed(this, $"Program '{FilePath}' in container '{name}' ended with exit code {code}.", code);
            }
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
    private readonly IReadOnlyList<byte[]>? _stdin;
    private readonly CancellationTokenSource _stop = new();
    private Task? _task;

    internal ContainerCommandJob(string command, PreparedExec exec, IReadOnlyList<byte[]>? stdin)
        : base(command, exec.ContainerName)
    {
        _exec = exec;
        _stdin = stdin;
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
                int code = Run();
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

    /// <summary>Runs the program to its end, its stdin fed from <see cref="_stdin"/> (bounded, so by a feeder of its own).</summary>
    private int Run()
    {
        if (_stdin is null)
        {
            return _exec.Run(line => Output.Add(PSObject.AsPSObject(line)), line => Error.Add(Errors.FromStderr(line)), _stop.Token);
        }
        var input = new ExecInput();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        Task feeder = Task.Run(() =>
        {
            foreach (byte[] chunk in _stdin)
            {
                while (!input.TryAdd(chunk, TimeSpan.FromMilliseconds(100)))
                {
                    if (done.IsCancellationRequested)
                    {
                        return; // the program never took it (it could not start, or the job was stopped)
                    }
                }
            }
            input.Complete();
        });
        try
        {
            return _exec.Run(line => Output.Add(PSObject.AsPSObject(line)), line => Error.Add(Errors.FromStderr(line)), _stop.Token, input, null);
        }
        finally
        {
            done.Cancel();
            feeder.Wait();
        }
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
