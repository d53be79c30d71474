using System.Management.Automation;
using PSContainers.CGroups;
using PSContainers.Containers;
using PSContainers.Native;

namespace PSContainers.Events;

/// <summary>
/// A started container as a PowerShell job (Start-Container -AsJob): Receive-Job gives its stdout as output and its
/// stderr as errors; Stop-Job stops the container; the job Fails (with the reason as an error) when the container is
/// OOM-killed or exits non-zero.
/// </summary>
public sealed class ContainerJob : Job
{
    private readonly string _container;
    private readonly Depot _depot;
    private readonly string _cgroupRoot;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();

    internal ContainerJob(string command, string container, Depot depot, string cgroupRoot)
        : base(command, container)
    {
        _container = container;
        _depot = depot;
        _cgroupRoot = cgroupRoot;
        PSJobTypeName = "ContainerJob";
    }

    public override string StatusMessage => _container;

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;

    public override string Location => _container;

    /// <summary>The container this job follows.</summary>
    public string ContainerName => _container;

    private ContainerManager Open() => new(_depot, new CGroupManager(CGroupHierarchy.Current(), _cgroupRoot));

    internal void Begin()
    {
        SetJobState(JobState.Running);
        var thread = new Thread(Follow) { IsBackground = true, Name = "PSContainers job " + _container };
        thread.Start();
    }

    private void Follow()
    {
        try
        {
            using var manager = Open();
            Container? c = manager.Follow(_container, Emit, _stop.Token);
            lock (_gate)
            {
                if (c is null || _stop.IsCancellationRequested)
                {
                    return; // Stop-Job ended it: StopJob sets the state
                }
                Output.Add(new PSObject(c));
                if (c.OomKilled || c.ExitCode != 0)
                {
                    string reason = c.OomKilled ? $"Container '{_container}' was killed by the OOM killer."
                        : c.ExitCode is int code ? $"Container '{_container}' exited with code {code}."
                        : $"Container '{_container}' ended without an exit record (its init was killed).";
                    Error.Add(new ErrorRecord(new InvalidOperationException(reason), c.OomKilled ? "ContainerOomKilled" : "ContainerExitedNonZero", ErrorCategory.OperationStopped, c));
                    SetJobState(JobState.Failed);
                }
                else
                {
                    SetJobState(JobState.Completed);
                }
            }
        }
        catch (Exception e) when (e is PscException or IOException or UnauthorizedAccessException)
        {
            Error.Add(new ErrorRecord(e, "ContainerJobFailed", ErrorCategory.NotSpecified, _container));
            SetJobState(JobState.Failed);
        }
    }

    private void Emit(LogStream stream, string line)
    {
        if (stream == LogStream.Stdout)
        {
            Output.Add(new PSObject(line));
        }
        else
        {
            Error.Add(Errors.FromStderr(line));
        }
    }

    /// <summary>Stop-Job: stops the container (SIGTERM, SIGKILL after 10 s) and ends the job as Stopped.</summary>
    public override void StopJob()
    {
        lock (_gate)
        {
            if (IsFinished(JobStateInfo.State))
            {
                return;
            }
            _stop.Cancel();
        }
        try
        {
            using var manager = Open();
            manager.Stop(_container, TimeSpan.FromSeconds(10), force: false);
        }
        catch (PscException e)
        {
            Error.Add(new ErrorRecord(e, e.ErrorId, ErrorCategory.NotSpecified, _container));
        }
        // Set here, not by the follower thread, so Stop-Job returns with the job already Stopped.
        SetJobState(JobState.Stopped);
    }

    private static bool IsFinished(JobState s) => s is JobState.Completed or JobState.Failed or JobState.Stopped;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
        }
        base.Dispose(disposing);
    }
}
