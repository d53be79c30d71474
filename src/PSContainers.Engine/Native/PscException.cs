namespace PSContainers.Native;

/// <summary>
/// Every failure the engine reports: a stable error id ("CGroupWrite,EBUSY"), a kind, and the offending
/// target (path, file, value) in the message. The module turns these into ErrorRecords in one place.
/// </summary>
public class PscException : Exception
{
    public PscException(string errorId, ErrorKind kind, string message, object? target = null, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
        Errno = errno;
    }

    /// <summary>Stable id, e.g. "CGroupWrite,EBUSY" or "InvalidCGroupPath".</summary>
    public string ErrorId { get; }

    public ErrorKind Kind { get; }

    /// <summary>The offending object: a path, a value or a pid.</summary>
    public object? Target { get; }

    /// <summary>The errno behind the failure, or 0 when it is a validation failure.</summary>
    public int Errno { get; }

    /// <summary>A failed system call on a file: id "&lt;operation&gt;,&lt;ERRNO&gt;", kind from the errno.</summary>
    public static PscException FromErrno(string operation, int errno, string file, string? value = null, string? hint = null)
    {
        string verb = operation switch
        {
            "CGroupWrite" => "Writing",
            "CGroupRead" => "Reading",
            "CGroupCreate" => "Creating",
            "CGroupRemove" => "Removing",
            "CGroupMove" => "Moving process",
            "CGroupOpen" => "Opening",
            _ => operation,
        };
        string what = value is null ? file : operation == "CGroupMove" ? $"{value} into {file}" : $"'{value}' to {file}";
        string message = $"{verb} {what} failed: {Native.Errno.Describe(errno)} ({Native.Errno.Name(errno)}).";
        if (hint is not null)
        {
            message += " " + hint;
        }
        return new PscException($"{operation},{Native.Errno.Name(errno)}", Native.Errno.Kind(errno), message, value ?? (object)file, errno);
    }

    public static PscException Invalid(string errorId, string message, object? target) =>
        new(errorId, ErrorKind.InvalidArgument, message, target);
}
