using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace PSContainers.Tests.Module;

/// <summary>
/// A runspace with the built module imported, over a depot and a cgroup root of the test's own (PSCONTAINERS_DEPOT,
/// PSCONTAINERS_CGROUP_ROOT); disposing removes every container and cgroup the test made, then the depot.
/// Tests deriving from it belong in the "ProcessEnvironment" collection: the variables are the process's.
/// </summary>
public abstract class ModuleSessionTest : IDisposable
{
    protected ModuleSessionTest(string tag)
    {
        DepotDir = Path.Combine(Path.GetTempPath(), $"psc-{tag}-depot-" + Guid.NewGuid().ToString("N")[..8]);
        Root = $"psc-xunit-{tag}-" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", DepotDir);
        Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", Root);
        Ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        Ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop");
        Ps.Invoke();
    }

    protected string DepotDir { get; }

    /// <summary>The test's cgroup root, without the leading '/'.</summary>
    protected string Root { get; }

    protected PowerShell Ps { get; }

    public void Dispose()
    {
        try
        {
            Run("Get-Container | Remove-Container -Force -Confirm:$false; " +
                $"if (Get-CGroup -Path /{Root} -ErrorAction SilentlyContinue) {{ Remove-CGroup -Path /{Root} -Recurse -Force -Confirm:$false }}", allowErrors: true);
        }
        finally
        {
            Ps.Dispose();
            Environment.SetEnvironmentVariable("PSCONTAINERS_DEPOT", null);
            Environment.SetEnvironmentVariable("PSCONTAINERS_CGROUP_ROOT", null);
            if (Directory.Exists(DepotDir))
            {
                Directory.Delete(DepotDir, true);
            }
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Runs a script in the session; any error fails the test unless <paramref name="allowErrors"/>.</summary>
    protected List<PSObject> Run(string script, bool allowErrors = false)
    {
        Ps.Commands.Clear();
        Ps.Streams.ClearStreams();
        Ps.AddScript(script);
        var result = Ps.Invoke().ToList();
        Assert.True(allowErrors || !Ps.HadErrors, script + "\n" + string.Join("\n", Ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return result;
    }
}
