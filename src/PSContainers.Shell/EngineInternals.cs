using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace PSContainers.Shell;

/// <summary>
/// The two engine switches pwsh's console host uses that System.Management.Automation does not
/// make public. Both are reached by reflection and degrade gracefully when a future engine
/// renames them (the shell then falls back to a less exact behaviour, see the callers).
/// </summary>
internal static class EngineInternals
{
    private const BindingFlags Members = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

    private static readonly PropertyInfo? s_runspaceExecutionContext =
        typeof(Runspace).GetProperty("ExecutionContext", Members);

    private static readonly PropertyInfo? s_writeStream =
        typeof(PSObject).GetProperty("WriteStream", Members);

    /// <summary>
    /// ExecutionContext.ScriptCommandProcessorShouldRethrowExit: when set, the next script file
    /// that runs lets `exit N` propagate to the pipeline, which then calls the host's
    /// SetShouldExit(N) - what `pwsh -File` does so that `exit N` becomes the process exit code.
    /// </summary>
    public static bool TrySetScriptExitRethrow(Runspace runspace, bool value)
    {
        try
        {
            object? context = s_runspaceExecutionContext?.GetValue(runspace);
            PropertyInfo? property = context?.GetType().GetProperty("ScriptCommandProcessorShouldRethrowExit", Members);
            if (context is null || property is null || property.PropertyType != typeof(bool) || !property.CanWrite)
            {
                return false;
            }

            property.SetValue(context, value);
            return true;
        }
        catch (Exception e) when (e is TargetInvocationException or MemberAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// PSObject.WriteStream = Error: Out-Default then renders the object (an ErrorRecord) with
    /// the error view and writes it through the host's WriteErrorLine, as for a merged error.
    /// </summary>
    public static bool TryMarkAsErrorStream(PSObject obj)
    {
        try
        {
            if (s_writeStream is null || !s_writeStream.CanWrite || !s_writeStream.PropertyType.IsEnum)
            {
                return false;
            }

            object error = Enum.Parse(s_writeStream.PropertyType, "Error");
            s_writeStream.SetValue(obj, error);
            return true;
        }
        catch (Exception e) when (e is TargetInvocationException or MemberAccessException or ArgumentException)
        {
            return false;
        }
    }
}
