using System.Collections;
using System.Management.Automation;
using PSContainers.Containers;

namespace PSContainers.Commands;

/// <summary>
/// What Invoke-ContainerCommand and Start-ContainerProcess share: the program (-FilePath) and how it runs
/// (-Environment, -WorkingDirectory, -User, -ResourceLimit), made into a <see cref="ContainerExecRequest"/>.
/// </summary>
public abstract class ContainerExecCommandBase : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0)]
    [AllowEmptyString]
    public string FilePath { get; set; } = "";

    [Parameter]
    public Hashtable? Environment { get; set; }

    [Parameter]
    public string? WorkingDirectory { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? User { get; set; }

    /// <summary>rlimits by name, as New-Container -ResourceLimit: a number, 'unlimited', or 'soft:hard'.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ResourceLimitCompleter))]
    public Hashtable? ResourceLimit { get; set; }

    /// <summary>The request for <paramref name="name"/>'s container, with these parameters and <paramref name="arguments"/>.</summary>
    private protected ContainerExecRequest Request(string name, string[]? arguments) =>
        ExecRequests.From(name, FilePath, arguments, Environment, WorkingDirectory, User, ResourceLimit);
}

/// <summary>The one conversion of exec-like cmdlets' parameters (hashtables among them) into a <see cref="ContainerExecRequest"/>.</summary>
internal static class ExecRequests
{
    public static ContainerExecRequest From(string name, string filePath, string[]? arguments, Hashtable? environment,
        string? workingDirectory, string? user, Hashtable? resourceLimit) => new()
    {
        Name = name,
        FilePath = filePath,
        ArgumentList = arguments ?? Array.Empty<string>(),
        Environment = environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? ""),
        WorkingDirectory = workingDirectory,
        User = user,
        ResourceLimits = resourceLimit?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value),
    };
}
