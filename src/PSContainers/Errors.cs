using System.Management.Automation;
using PSContainers.Native;

namespace PSContainers;

/// <summary>The one place engine failures become ErrorRecords: stable id, category from the errno kind, the target.</summary>
internal static class Errors
{
    public static ErrorCategory Category(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        ErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        ErrorKind.ResourceExists => ErrorCategory.ResourceExists,
        ErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        ErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        ErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
        ErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        ErrorKind.InvalidData => ErrorCategory.InvalidData,
        _ => ErrorCategory.NotSpecified,
    };

    public static ErrorRecord From(PscException e, object? target = null) =>
        new(e, e.ErrorId, Category(e.Kind), e.Target ?? target);

    /// <summary>A line a container's program wrote to stderr, as PowerShell shows a native command's stderr.</summary>
    public static ErrorRecord FromStderr(string line) =>
        new(new RemoteException(line), "ContainerStderr", ErrorCategory.FromStdErr, line);

    /// <summary>Unexpected I/O failures still become records with the path in the message.</summary>
    public static ErrorRecord From(Exception e, string errorId, object? target) => e switch
    {
        PscException p => From(p, target),
        UnauthorizedAccessException => new ErrorRecord(e, errorId, ErrorCategory.PermissionDenied, target),
        FileNotFoundException or DirectoryNotFoundException => new ErrorRecord(e, errorId, ErrorCategory.ObjectNotFound, target),
        _ => new ErrorRecord(e, errorId, ErrorCategory.NotSpecified, target),
    };
}
