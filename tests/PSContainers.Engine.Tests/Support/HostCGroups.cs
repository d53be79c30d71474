using System.Diagnostics;
using PSContainers.CGroups;

namespace PSContainers.Engine.Tests.Support;

/// <summary>
/// A manager on the real host with a project root of its own (/psc-xunit-&lt;random&gt;), removed with every
/// process in it on dispose, even when the test failed. Tests that need root skip with a reason otherwise.
/// </summary>
public sealed class HostCGroups : IDisposable
{
    private readonly List<Process> _processes = new();

    public HostCGroups()
    {
        Skip.IfNot(Environment.UserName == "root" || Tmds.Linux.LibC.geteuid() == 0, "needs root to create cgroups on the host");
        Root = "/psc-xunit-" + Guid.NewGuid().ToString("N")[..8];
        Manager = new CGroupManager(CGroupHierarchy.Detect(), Root);
    }

    public string Root { get; }

    public CGroupManager Manager { get; }

    public CGroupLayout Layout => Manager.Hierarchy.Layout;

    /// <summary>Starts a child process the test owns (killed on dispose).</summary>
    public Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    /// <summary>The v1 mount point of a controller, or null.</summary>
    public string? V1Mount(string controller) =>
        Manager.Hierarchy.V1Mounts.FirstOrDefault(m => m.Controllers.Contains(controller))?.MountPoint;

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
        try
        {
            if (Manager.Exists(Root))
            {
                Manager.Remove(Root, recurse: true, force: true, TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            Manager.Dispose();
        }
    }
}
