using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace PSContainers;

/// <summary>
/// Import-Module does not read deps.json, so the architecture-specific Tmds.LibC that the engine
/// needs is resolved here, from runtimes/&lt;rid&gt;/ beside the module.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string ModuleDir = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;

    // Weak keys: a closed session's watcher stops itself, and then nothing here keeps the session alive.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<System.Management.Automation.Runspaces.Runspace, Events.ContainerWatcher> Watchers = new();

    public void OnImport()
    {
        AssemblyLoadContext.Default.Resolving -= Resolve;
        AssemblyLoadContext.Default.Resolving += Resolve;
        // Engine events (PSContainers.Exited, PSContainers.OomKilled) for the session importing the module.
        if (System.Management.Automation.Runspaces.Runspace.DefaultRunspace is { } runspace)
        {
            Watchers.GetValue(runspace, r => new Events.ContainerWatcher(r, TimeSpan.FromMilliseconds(250)));
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (System.Management.Automation.Runspaces.Runspace.DefaultRunspace is { } runspace && Watchers.TryGetValue(runspace, out var watcher))
        {
            Watchers.Remove(runspace);
            watcher.Dispose();
        }
    }

    internal static string RuntimeId => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        var other => throw new PlatformNotSupportedException($"PSContainers has no build for the {other} architecture."),
    };

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name != "Tmds.LibC")
        {
            return null;
        }
        string path = Path.Combine(ModuleDir, "runtimes", RuntimeId, "Tmds.LibC.dll");
        return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }
}
