using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Enter-Container: an interactive process on a pty inside the container, joined to this terminal (raw mode, its size
/// followed, Ctrl+C to the container's foreground process) until it ends ($LASTEXITCODE its exit code) or Ctrl+P Ctrl+Q
/// detaches; with -ProcessId, joins a running -Tty process instead. The terminal is served by psc-init --attach, a
/// child of this session that inherits its terminal, as a native command would.
/// </summary>
[Cmdlet(VerbsCommon.Enter, "Container", DefaultParameterSetName = "New")]
[OutputType(typeof(void))]
public sealed class EnterContainerCommand : PscCommandBase
{
    private const int Detached = 3;

    private Process? _client;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    /// <summary>The interactive program; /bin/sh by default.</summary>
    [Parameter(ParameterSetName = "New", Position = 1)]
    public string FilePath { get; set; } = "/bin/sh";

    [Parameter(ParameterSetName = "New", Position = 2)]
    [Alias("Args")]
    [AllowEmptyCollection]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = "New")]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? User { get; set; }

    [Parameter(ParameterSetName = "New")]
    public string? WorkingDirectory { get; set; }

    [Parameter(ParameterSetName = "New")]
    public Hashtable? Environment { get; set; }

    /// <summary>A running process started with Start-ContainerProcess -Tty, to attach to.</summary>
    [Parameter(ParameterSetName = "Attach", Mandatory = true)]
    [Alias("Id")]
    public string ProcessId { get; set; } = "";

    protected override void ProcessRecord()
    {
        // Everything is checked before anything starts, and before the terminal: bad input gets its own error anywhere.
        ContainerExecRequest? request = null;
        if (ParameterSetName == "New")
        {
            request = ExecRequests.From(Name, FilePath, ArgumentList, Environment, WorkingDirectory, User, resourceLimit: null);
            var env = new Dictionary<string, string>(request.Environment ?? new Dictionary<string, string>());
            env.TryAdd("TERM", System.Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm");
            var (cols, rows) = TerminalSize();
            request = request with { Environment = env, Tty = true, Width = cols, Height = rows, AttachNext = true };
            if (!Try(() => ContainerExec.Prepare(Containers, request), Name))
            {
                return;
            }
        }
        else if (!Try(() => Containers.AttachTarget(Name, ProcessId), ProcessId))
        {
            return;
        }
        if (Console.IsInputRedirected || Console.IsOutputRedirected)
        {
            string which = Console.IsInputRedirected ? "input" : "output";
            WriteError(Errors.From(new PscException("NoTerminal", ErrorKind.InvalidOperation,
                $"Enter-Container needs a terminal, but this session's {which} is redirected. Without one, use Invoke-ContainerCommand -Name {Name}, or Start-ContainerProcess -Tty and later Enter-Container -ProcessId from a terminal.", Name), Name));
            return;
        }
        string id = ProcessId;
        if (request is not null)
        {
            ContainerProcess? started = null;
            if (!Try(() => started = Containers.StartProcess(request), Name) || started is null)
            {
                return;
            }
            id = started.Id;
        }
        string? dir = null;
        if (!Try(() => dir = Containers.AttachTarget(Name, id, justStarted: ParameterSetName == "New"), id) || dir is null)
        {
            return;
        }
        int rc = Attach(dir);
        if (rc == Detached)
        {
            WriteWarning($"Detached from process {id} of '{Name}'; it goes on running. Enter-Container -Name {Name} -ProcessId {id} attaches again.");
            return;
        }
        if (rc != 0)
        {
            WriteError(Errors.From(new PscException("AttachFailed", ErrorKind.NotSpecified, $"Could not attach to process {id} of '{Name}' (psc-init --attach ended with {rc}).", id), id));
            return;
        }
        Try(() =>
        {
            ContainerProcess p = Containers.WaitProcess(Name, id, TimeSpan.FromSeconds(10), CancellationToken.None);
            int code = p.ExitCode ?? 0;
            SessionState.PSVariable.Set("global:LASTEXITCODE", code);
            if (code != 0)
            {
                NativeStatus.Failed(this, $"Program '{p.FilePath}' in container '{Name}' ended with exit code {code}.", code);
            }
        }, id);
    }

    /// <summary>This terminal's columns and rows (80 x 24 when the host cannot tell).</summary>
    private static (int Cols, int Rows) TerminalSize()
    {
        try
        {
            return (Math.Clamp(Console.WindowWidth, 1, 9999), Math.Clamp(Console.WindowHeight, 1, 9999));
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException)
        {
            return (80, 24);
        }
    }

    /// <summary>Runs psc-init --attach on this terminal until the process ends or the user detaches; returns its exit code.</summary>
    private int Attach(string dir)
    {
        var psi = new ProcessStartInfo(ContainerManager.InitPath) { UseShellExecute = false };
        psi.ArgumentList.Add("--attach");
        psi.ArgumentList.Add(dir);
        using Process client = Process.Start(psi) ?? throw new InvalidOperationException("psc-init did not start");
        _client = client;
        client.WaitForExit();
        _client = null;
        return client.ExitCode;
    }

    /// <summary>The pipeline is stopped: the terminal leaves the process, which goes on.</summary>
    protected override void StopProcessing()
    {
        try
        {
            _client?.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
