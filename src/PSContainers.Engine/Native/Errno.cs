namespace PSContainers.Native;

/// <summary>The errno values the engine reasons about, with their symbolic names for error ids.</summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9, ECHILD = 10,
        EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20,
        EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, EFBIG = 27, ENOSPC = 28, EROFS = 30, ERANGE = 34,
        ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, EOPNOTSUPP = 95, ETIMEDOUT = 110;

    private static readonly Dictionary<int, string> Names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR", [EIO] = "EIO",
        [E2BIG] = "E2BIG", [EBADF] = "EBADF", [ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
        [EACCES] = "EACCES", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST", [EXDEV] = "EXDEV", [ENODEV] = "ENODEV",
        [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR", [EINVAL] = "EINVAL", [ENFILE] = "ENFILE", [EMFILE] = "EMFILE",
        [EFBIG] = "EFBIG", [ENOSPC] = "ENOSPC", [EROFS] = "EROFS", [ERANGE] = "ERANGE",
        [ENAMETOOLONG] = "ENAMETOOLONG", [ENOSYS] = "ENOSYS", [ENOTEMPTY] = "ENOTEMPTY", [ELOOP] = "ELOOP",
        [EOPNOTSUPP] = "EOPNOTSUPP", [ETIMEDOUT] = "ETIMEDOUT",
    };

    public static string Name(int errno) => Names.TryGetValue(errno, out var n) ? n : "E" + errno;

    /// <summary>The C library's description of an errno (strerror).</summary>
    public static string Describe(int errno) => new System.ComponentModel.Win32Exception(errno).Message;

    /// <summary>What kind of failure an errno is, for the cmdlets to turn into an ErrorCategory.</summary>
    public static ErrorKind Kind(int errno) => errno switch
    {
        EPERM or EACCES or EROFS => ErrorKind.PermissionDenied,
        ENOENT or ESRCH or ENODEV => ErrorKind.ObjectNotFound,
        EINVAL or ERANGE or ENAMETOOLONG or ELOOP or ENOTDIR or EISDIR or EXDEV => ErrorKind.InvalidArgument,
        EBUSY or EAGAIN or ENOTEMPTY => ErrorKind.ResourceBusy,
        EEXIST => ErrorKind.ResourceExists,
        ENOSPC or ENOMEM or EMFILE or ENFILE or EFBIG => ErrorKind.LimitsExceeded,
        ENOSYS or EOPNOTSUPP => ErrorKind.NotImplemented,
        ETIMEDOUT => ErrorKind.OperationTimeout,
        _ => ErrorKind.NotSpecified,
    };
}

/// <summary>Failure kinds the engine reports; the module maps each to one PowerShell ErrorCategory.</summary>
public enum ErrorKind
{
    NotSpecified,
    InvalidArgument,
    ObjectNotFound,
    PermissionDenied,
    ResourceBusy,
    ResourceExists,
    LimitsExceeded,
    NotImplemented,
    OperationTimeout,
    InvalidOperation,

    /// <summary>Input that is damaged or of a foreign kind (an archive that is not one, truncated, or with unsafe entries).</summary>
    InvalidData,
}
