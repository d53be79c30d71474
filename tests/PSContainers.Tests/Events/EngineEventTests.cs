using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Events;

/// <summary>The process environment (depot, cgroup root) is shared by every runspace in this process.</summary>
[CollectionDefinition("ProcessEnvironment", DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
}

/// <summary>PSContainers.Exited and PSContainers.OomKilled reach a subscribed session as engine events.</summary>
[Collection("ProcessEnvironment")]
public class EngineEventTests
{
    [SkippableFact]
    public void ExitedAndOomKilledArriveAsEngineEvents()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        string depot = Path.Combine(Path.GetTempPath(), "psc-ev-depot-" + Guid.NewGuid().ToString("N")[..8]);
        string root = "psc-xunit-ev-" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", depot);
        Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", root);
        using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        try
        {
            ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop").Invoke();
            ps.Commands.Clear();
            ps.Runspace.Events.SubscribeEvent(null, null, "PSContainers.Exited", null, (ScriptBlock?)null, false, false);
            ps.Runspace.Events.SubscribeEvent(null, null, "PSContainers.OomKilled", null, (ScriptBlock?)null, false, false);
            Thread.Sleep(600); // the watcher's baseline
            ps.AddScript("New-Container -Name ev1 /bin/sh -ArgumentList '-c', 'sleep 1; exit 7' | Start-Container; " +
                "New-Container -Name ev2 /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 32MB | Start-Container");
            ps.Invoke();
            Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));
            ps.Commands.Clear();

            var deadline = DateTime.UtcNow.AddSeconds(20);
            PSEventArgs? exited = null, oom = null;
            while ((exited is null || oom is null) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
                // The engine moves generated events into its queue between pipelines, as Wait-Event's loop does.
                ps.Commands.Clear();
                ps.AddScript("$null").Invoke();
                var received = ps.Runspace.Events.ReceivedEvents.ToList();
                exited ??= received.FirstOrDefault(e => e.SourceIdentifier == "PSContainers.Exited" && Name(e) == "ev1");
                oom ??= received.FirstOrDefault(e => e.SourceIdentifier == "PSContainers.OomKilled" && Name(e) == "ev2");
            }
            Assert.NotNull(exited);
            Assert.Equal(7, ((dynamic)exited!.MessageData.BaseObject).ExitCode);
            Assert.NotNull(oom);
            Assert.True((bool)((dynamic)oom!.MessageData.BaseObject).OomKilled);
        }
        finally
        {
            ps.Commands.Clear();
            ps.AddScript($"Get-Container | Remove-Container -Force -Confirm:$false; Remove-CGroup -Path /{root} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue");
            ps.Invoke();
            Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", null);
            Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", null);
            if (Directory.Exists(depot))
            {
                Directory.Delete(depot, true);
            }
        }
    }

    [SkippableFact]
    public void StartedProcessExitedAndErrorArriveAsEngineEvents()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        string depot = Path.Combine(Path.GetTempPath(), "psc-ev-depot-" + Guid.NewGuid().ToString("N")[..8]);
        string root = "psc-xunit-ev-" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", depot);
        Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", root);
        using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        try
        {
            ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop").Invoke();
            ps.Commands.Clear();
            foreach (string id in new[] { "PSContainers.Started", "PSContainers.ProcessExited", "PSContainers.Error" })
            {
                ps.Runspace.Events.SubscribeEvent(null, null, id, null, (ScriptBlock?)null, false, false);
            }
            Thread.Sleep(600); // the watcher's baseline
            // A sandbox with a process that exits 9, and a container whose init cannot fork its program (a pids limit of 1).
            ps.AddScript($"New-Container -Name box | Start-Container; Start-ContainerProcess -Name box /bin/sh -ArgumentList '-c', 'sleep 0.3; exit 9' | Out-Null; " +
                "New-Container -Name broken /bin/true -PidsLimit 1 | Out-Null; Start-Container -Name broken -ErrorAction SilentlyContinue");
            ps.Invoke();
            ps.Commands.Clear();

            var deadline = DateTime.UtcNow.AddSeconds(20);
            PSEventArgs? started = null, exited = null, error = null;
            while ((started is null || exited is null || error is null) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
                ps.Commands.Clear();
                ps.AddScript("$null").Invoke();
                var received = ps.Runspace.Events.ReceivedEvents.ToList();
                started ??= received.FirstOrDefault(e => e.SourceIdentifier == "PSContainers.Started" && Name(e) == "box");
                exited ??= received.FirstOrDefault(e => e.SourceIdentifier == "PSContainers.ProcessExited");
                error ??= received.FirstOrDefault(e => e.SourceIdentifier == "PSContainers.Error" && Name(e) == "broken");
            }
            string all = string.Join(", ", ps.Runspace.Events.ReceivedEvents.Select(e => $"{e.SourceIdentifier} {e.MessageData}"));
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
        finally
        {
            ps.Commands.Clear();
            ps.AddScript($"Get-Container | Remove-Container -Force -Confirm:$false; Remove-CGroup -Path /{root} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue");
            ps.Invoke();
            Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", null);
            Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", null);
            if (Directory.Exists(depot))
            {
                Directory.Delete(depot, true);
            }
        }
    }

    private static string? Name(PSEventArgs e) => (e.MessageData?.BaseObject as dynamic)?.Name;
}
