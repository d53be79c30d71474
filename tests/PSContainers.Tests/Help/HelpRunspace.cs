using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>One fresh runspace with the built module imported, shared by the help tests (Get-Help only reads).</summary>
public sealed class HelpRunspace : IDisposable
{
    private readonly PowerShell _ps;

    public HelpRunspace()
    {
        _ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        _ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop");
        _ps.Invoke();
        _ps.Commands.Clear();
    }

    /// <summary>Runs a script; fails the test on any error.</summary>
    public List<PSObject> Run(string script)
    {
        lock (_ps)
        {
            _ps.Commands.Clear();
            _ps.Streams.ClearStreams();
            _ps.AddScript(script);
            var result = _ps.Invoke().ToList();
            Assert.False(_ps.HadErrors, $"{script}\n" + string.Join("\n", _ps.Streams.Error.Select(e => e.ToString())));
            return result;
        }
    }

    public List<string> Strings(string script) => Run(script).Select(o => o?.ToString() ?? string.Empty).ToList();

    public void Dispose() => _ps.Dispose();
}
