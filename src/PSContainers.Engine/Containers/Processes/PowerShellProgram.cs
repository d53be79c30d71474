using System.Runtime.InteropServices;
using System.Text;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// How a -ScriptBlock container runs its block: in the PowerShell that runs this session, found from its $PSHOME and
/// not from the process path (which is `dotnet` under `dotnet pwsh.dll` and under the .NET tool's shim). The order:
/// the apphost `$PSHOME/pwsh`; else `dotnet $PSHOME/pwsh.dll` with the dotnet of the running runtime; else a `pwsh` on
/// PATH. With a root, the program must be there inside the root (the same path, and the .NET runtime a
/// framework-dependent pwsh needs), else a `pwsh` on the root's own PATH; else <c>PowerShellNotInRoot</c>.
///
/// The container's environment is clean (PATH, HOME, HOSTNAME), so what pwsh needs is added: DOTNET_ROOT naming the
/// runtime of this session (a framework-dependent apphost finds it wherever .NET is installed), NO_COLOR=1 so the
/// block's output comes back as plain text lines, and POWERSHELL_TELEMETRY_OPTOUT when the session has it. The
/// caller's own -Environment entries win over these.
/// </summary>
public sealed record PowerShellProgram(string FilePath, string[] ArgumentList, IReadOnlyDictionary<string, string> Environment)
{
    private static readonly string[] RootPath = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

    /// <summary>The program that runs <paramref name="script"/> for a session whose $PSHOME is <paramref name="psHome"/>.</summary>
    public static PowerShellProgram For(string script, string? psHome, string? root) =>
        For(script, psHome, root, RuntimeEnvironment.GetRuntimeDirectory(), System.Environment.ProcessPath,
            System.Environment.GetEnvironmentVariable("PATH"), System.Environment.GetEnvironmentVariable("POWERSHELL_TELEMETRY_OPTOUT"));

    /// <summary>The same, with what the process would be asked for given (tests pass their own).</summary>
    internal static PowerShellProgram For(string script, string? psHome, string? root, string runtimeDirectory, string? processPath,
        string? path, string? telemetryOptOut)
    {
        string encoded = Convert.ToBase64String(Encoding.Unicode.GetBytes(script));
        string[] pwshArgs = { "-NoProfile", "-NonInteractive", "-OutputFormat", "Text", "-EncodedCommand", encoded };
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["NO_COLOR"] = "1" };
        if (!string.IsNullOrEmpty(telemetryOptOut))
        {
            env["POWERSHELL_TELEMETRY_OPTOUT"] = telemetryOptOut;
        }
        string? dotnetRoot = SharedRuntimeRoot(runtimeDirectory);
        string? home = string.IsNullOrEmpty(psHome) ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(psHome));
        string? apphost = home is null ? null : Path.Combine(home, "pwsh");
        string? dll = home is null ? null : Path.Combine(home, "pwsh.dll");
        string? muxer = processPath is not null && Path.GetFileName(processPath) == "dotnet" ? processPath
            : dotnetRoot is not null && File.Exists(Path.Combine(dotnetRoot, "dotnet")) ? Path.Combine(dotnetRoot, "dotnet") : null;
        string[] prefix = Array.Empty<string>();
        string? file = null;
        if (apphost is not null && File.Exists(apphost) && Sys.CanExecute(apphost))
        {
            file = apphost;
        }
        else if (dll is not null && muxer is not null && File.Exists(dll))
        {
            file = muxer;
            prefix = new[] { dll };
        }
        else
        {
            file = (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "pwsh"))
                .FirstOrDefault(p => File.Exists(p) && Sys.CanExecute(p));
        }
        if (file is null)
        {
            throw new PscException("NoPowerShellForScriptBlock", ErrorKind.ObjectNotFound,
                $"-ScriptBlock runs the block in pwsh, and none was found: $PSHOME ('{psHome}') has neither an executable pwsh nor a pwsh.dll " +
                "with a dotnet to run it, and PATH has no pwsh.", psHome);
        }
        if (dotnetRoot is not null)
        {
            env["DOTNET_ROOT"] = dotnetRoot;
        }
        if (root is not null && Directory.Exists(root))
        {
            string? missing = MissingInside(root, file, prefix, dotnetRoot);
            if (missing is not null)
            {
                // The root's own PowerShell, configured for the root: nothing of this session's runtime is passed.
                string? own = RootPath.Select(d => d + "/pwsh").FirstOrDefault(p => File.Exists(Inside(root, p)));
                if (own is null)
                {
                    throw new PscException("PowerShellNotInRoot", ErrorKind.ObjectNotFound,
                        $"-ScriptBlock runs the block in pwsh, which is not reachable inside the root '{root}': {missing} is not there, " +
                        $"and no pwsh is on the root's PATH ({string.Join(':', RootPath)}). Put PowerShell in the root (or bind-mount " +
                        $"{home ?? "$PSHOME"}{(dotnetRoot is null ? "" : " and " + dotnetRoot)} there), or run a program of the root with -FilePath.",
                        Inside(root, file));
                }
                env.Remove("DOTNET_ROOT");
                return new PowerShellProgram(own, pwshArgs, env);
            }
        }
        return new PowerShellProgram(file, prefix.Concat(pwshArgs).ToArray(), env);
    }

    /// <summary>
    /// The root of the shared .NET install the runtime was loaded from (&lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/),
    /// or null for a self-contained PowerShell, whose runtime is in $PSHOME itself.
    /// </summary>
    internal static string? SharedRuntimeRoot(string runtimeDirectory)
    {
        var version = new DirectoryInfo(Path.TrimEndingDirectorySeparator(runtimeDirectory));
        DirectoryInfo? framework = version.Parent, shared = framework?.Parent;
        return framework?.Name == "Microsoft.NETCore.App" && shared?.Name == "shared" && shared.Parent is not null ? shared.Parent.FullName : null;
    }

    /// <summary>What of the program the root lacks (its path as seen inside), or null when all of it is there.</summary>
    private static string? MissingInside(string root, string file, string[] prefix, string? dotnetRoot)
    {
        foreach (string needed in prefix.Prepend(file))
        {
            if (!File.Exists(Inside(root, needed)))
            {
                return $"'{needed}' (looked for {Inside(root, needed)})";
            }
        }
        if (dotnetRoot is not null && !Directory.Exists(Inside(root, Path.Combine(dotnetRoot, "host", "fxr"))))
        {
            return $"the .NET runtime at '{dotnetRoot}' (looked for {Inside(root, dotnetRoot)}/host/fxr)";
        }
        return null;
    }

    private static string Inside(string root, string path) => Path.Combine(root, path.TrimStart('/'));
}
