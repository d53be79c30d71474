using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace PSContainers;

/// <summary>
/// Import-Module does not read deps.json, so what differs per architecture is picked here, by
/// <see cref="RuntimeInformation.ProcessArchitecture"/>, from runtimes/&lt;rid&gt;/ beside the module: Tmds.LibC,
/// and in the Gallery package (build.ps1 -Task Package), which ships psc-init for linux-x64 and linux-arm64
/// under runtimes/&lt;rid&gt;/ (the engine finds the one for its architecture there), its executable bit. The folder a
/// build lays out (out/PSContainers/&lt;version&gt;/) has the machine's own psc-init beside the engine.
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
        UsePackagedInit();
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

    /// <summary>
    /// A package has no psc-init at its top, only one per architecture under runtimes/&lt;rid&gt;/, where the engine
    /// finds it. A package manager unpacks a .nupkg as a plain zip and NuGet packs files without their Unix modes, so
    /// psc-init arrives without its executable bit (as after Install-PSResource): it is given back when the file is
    /// ours to change; otherwise the first start reports that psc-init cannot run.
    /// </summary>
    internal static void UsePackagedInit()
    {
        string rid = RuntimeInformation.ProcessArchitecture switch { Architecture.X64 => "linux-x64", Architecture.Arm64 => "linux-arm64", _ => "" };
        string besideEngine = Path.Combine(ModuleDir, "psc-init");
        string packaged = Path.Combine(ModuleDir, "runtimes", rid, "psc-init");
        if (File.Exists(besideEngine) || rid.Length == 0 || !File.Exists(packaged))
        {
            return;
        }
        try
        {
            var mode = File.GetUnixFileMode(packaged);
            const UnixFileMode exec = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & exec) != exec)
            {
                File.SetUnixFileMode(packaged, mode | exec);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or foreign install: the start reports it.
        }
    }
}
