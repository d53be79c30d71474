using System.Management.Automation;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Events;

/// <summary>The process environment (depot, cgroup root) is shared by every runspace in this process.</summary>
[CollectionDefinition("ProcessEnvironment", DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
}

/// <summary>PSContainers.Exited and PSContainers.OomKilled reach a subscribed session as engine events.</summary>
[Collection("ProcessEnvironment")]
public class EngineEventTests : ModuleSessionTest
{
    public EngineEventTests()
        : base("ev")
    {
    }

    [SkippableFact]
    public void ExitedAndOomKilledArriveAsEngineEvents()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        Subscribe("PSContainers.Exited", "PSContainers.OomKilled");
        Run("New-Container -Name ev1 /bin/sh -ArgumentList '-c', 'sleep 1; exit 7' | Start-Container; " +
            "New-Container -Name ev2 /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 32MB | Start-Container");

        PSEventArgs?[] found = WaitFor(
            e => e.SourceIdentifier == "PSContainers.Exited" && Name(e) == "ev1",
            e => e.SourceIdentifier == "PSContainers.OomKilled" && Name(e) == "ev2");
        var (exited, oom) = (found[0], found[1]);
        Assert.NotNull(exited);
        Assert.Equal(7, ((dynamic)exited!.MessageData.BaseObject).ExitCode);
        Assert.NotNull(oom);
        Assert.True((bool)((dynamic)oom!.MessageData.BaseObject).OomKilled);
    }

    [SkippableFact]
    public void StartedProcessExitedAndErrorArriveAsEngineEvents()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        Subscribe("PSContainers.Started", "PSContainers.ProcessExited", "PSContainers.Error");
        // A sandbox with a process that exits 9, and a container whose init cannot fork its program (a pids limit of 1).
        Run("New-Container -Name box | Start-Container; Start-ContainerProcess -Name box /bin/sh -ArgumentList '-c', 'sleep 0.3; exit 9' | Out-Null; " +
            "New-Container -Name broken /bin/true -PidsLimit 1 | Out-Null; Start-Container -Name broken -ErrorAction SilentlyContinue", allowErrors: true);

        PSEventArgs?[] found = WaitFor(
            e => e.SourceIdentifier == "PSContainers.Started" && Name(e) == "box",
            e => e.SourceIdentifier == "PSContainers.ProcessExited",
            e => e.SourceIdentifier == "PSContainers.Error" && Name(e) == "broken");
        var (started, exited, error) = (found[0], found[1], found[2]);
        string all = string.Join(", ", Ps.Runspace.Events.ReceivedEvents.Select(e => $"{e.SourceIdentifier} {e.MessageData}"));
        Assert.True(started is not null, "no Started event for box; received: " + all);
        Assert.Equal("Running", ((dynamic)started!.MessageData.BaseObject).State.ToString());
        Assert.True(exited is not null, "no ProcessExited event; received: " + all);
        dynamic p = exited!.MessageData.BaseObject;
        Assert.Equal(("box", "1", 9, "Exited"), ((string)p.ContainerName, (string)p.Id, (int)p.ExitCode, p.State.ToString()));
        Assert.True(error is not null, "no Error event for broken; received: " + all);
        string details = ((dynamic)error!.MessageData.BaseObject).Details;
        Assert.StartsWith("error=ContainerSetup,EAGAIN ", details); // the reason is in the event log too
        Assert.Contains("fork failed", details);
    }

    /// <summary>Subscribes the session to these engine events, then gives the watcher time for its baseline.</summary>
    private void Subscribe(params string[] sourceIdentifiers)
    {
        foreach (string id in sourceIdentifiers)
        {
            Ps.Runspace.Events.SubscribeEvent(null, null, id, null, (ScriptBlock?)null, false, false);
        }
        Thread.Sleep(600); // the watcher's baseline
    }

    /// <summary>The first received event each condition matches, waited for up to 20 s; null where none came.</summary>
    private PSEventArgs?[] WaitFor(params Func<PSEventArgs, bool>[] conditions)
    {
        var found = new PSEventArgs?[conditions.Length];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (found.Any(f => f is null) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
            // The engine moves generated events into its queue between pipelines, as Wait-Event's loop does.
            Ps.Commands.Clear();
            Ps.AddScript("$null").Invoke();
            var received = Ps.Runspace.Events.ReceivedEvents.ToList();
            for (int i = 0; i < conditions.Length; i++)
            {
                found[i] ??= received.FirstOrDefault(conditions[i]);
            }
        }
        return found;
    }

    private static string? Name(PSEventArgs e) => (e.MessageData?.BaseObject as dynamic)?.Name;
}
