using System.Globalization;
using System.Management.Automation.Host;
using System.Reflection;

namespace PSContainers.Shell;

/// <summary>
/// The PSHost of the shell. The engine calls <see cref="SetShouldExit"/> when a script runs
/// `exit N` at top level; the session reads <see cref="ShouldExit"/> and <see cref="ExitCode"/>.
/// </summary>
public sealed class ShellHost : PSHost
{
    private readonly ShellHostUserInterface _ui;
    private readonly object _exitLock = new();

    public ShellHost(ShellHostUserInterface ui)
    {
        _ui = ui;
    }

    public override string Name => "PSContainers.Shell";

    public override Version Version { get; } =
        typeof(ShellHost).Assembly.GetName().Version ?? new Version(0, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;

    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;

    /// <summary>True once a script ran `exit` (or the session decided to end).</summary>
    public bool ShouldExit { get; private set; }

    /// <summary>The code given to the last <see cref="SetShouldExit"/>.</summary>
    public int ExitCode { get; private set; }

    public override void SetShouldExit(int exitCode)
    {
        lock (_exitLock)
        {
            ShouldExit = true;
            ExitCode = exitCode;
        }
    }

    /// <summary>Clears the exit request (used after `exit` inside a profile, which pwsh also ignores when it continues).</summary>
    internal void ResetShouldExit()
    {
        lock (_exitLock)
        {
            ShouldExit = false;
            ExitCode = 0;
        }
    }

    public override void EnterNestedPrompt() =>
        throw new NotSupportedException("Nested prompts are not supported by this shell.");

    public override void ExitNestedPrompt() =>
        throw new NotSupportedException("Nested prompts are not supported by this shell.");

    public override void NotifyBeginApplication()
    {
        // A native command is about to use the console: take down the progress line first.
        _ui.ClearProgress();
    }

    public override void NotifyEndApplication()
    {
    }

    /// <summary>The shell's own version, from the assembly's informational version.</summary>
    public static string ShellVersion
    {
        get
        {
            string? v = typeof(ShellHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            if (string.IsNullOrEmpty(v))
            {
                return typeof(ShellHost).Assembly.GetName().Version?.ToString() ?? "0.0.0";
            }

            int plus = v.IndexOf('+');
            return plus > 0 ? v.Substring(0, plus) : v;
        }
    }

    /// <summary>The version of the PowerShell engine (System.Management.Automation) in use.</summary>
    public static string EngineVersion
    {
        get
        {
            string? v = typeof(System.Management.Automation.PowerShell).Assembly
                .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            if (string.IsNullOrEmpty(v))
            {
                return typeof(System.Management.Automation.PowerShell).Assembly.GetName().Version?.ToString() ?? "?";
            }

            int plus = v.IndexOf('+');
            v = plus > 0 ? v.Substring(0, plus) : v;
            int space = v.IndexOf(' ');
            return space > 0 ? v.Substring(0, space) : v;
        }
    }
}
