using System.Management.Automation;
using System.Reflection;

namespace PSContainers.Commands;

/// <summary>
/// What a native command does when its program exits non-zero: `$?` becomes false, without an error record; with
/// $PSNativeCommandUseErrorActionPreference set to $true, an error (NativeCommandExitException's id
/// ProgramExitedWithNonZeroCode) under -ErrorAction. PowerShell has no public call to set `$?` alone: the same
/// internal flag the native command processor sets is set through reflection, and where a future PowerShell moves it,
/// a non-terminating error is written instead, so `$?` is false all the same.
/// </summary>
internal static class NativeStatus
{
    private const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    public static void Failed(PSCmdlet cmdlet, string message, int exitCode)
    {
        bool asError = LanguagePrimitives.IsTrue(cmdlet.SessionState.PSVariable.GetValue("PSNativeCommandUseErrorActionPreference", false));
        if (!asError && MarkFailed(cmdlet))
        {
            return;
        }
        cmdlet.WriteError(new ErrorRecord(new InvalidOperationException(message), "ProgramExitedWithNonZeroCode", ErrorCategory.NotSpecified, exitCode));
    }

    private static bool MarkFailed(Cmdlet cmdlet)
    {
        try
        {
            object? runtime = cmdlet.CommandRuntime;
            object? pipeline = runtime?.GetType().GetProperty("PipelineProcessor", Any)?.GetValue(runtime);
            PropertyInfo? failed = pipeline?.GetType().GetProperty("ExecutionFailed", Any);
            if (failed is null || !failed.CanWrite)
            {
                return false;
            }
            failed.SetValue(pipeline, true);
            return true;
        }
        catch (Exception e) when (e is TargetInvocationException or MemberAccessException or ArgumentException)
        {
            return false;
        }
    }
}
