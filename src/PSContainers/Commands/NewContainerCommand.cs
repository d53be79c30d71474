using System.Collections;
using System.Management.Automation;
using System.Text;
using PSContainers.Containers;

namespace PSContainers.Commands;

/// <summary>
/// New-Container: a container in the depot with its cgroup and limits, not yet running (Start-Container runs it).
/// Limits apply before the first instruction runs. Nothing is left behind when any input is bad.
/// </summary>
[Cmdlet(VerbsCommon.New, "Container", DefaultParameterSetName = "FilePath", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class NewContainerCommand : CGroupLimitCommandBase
{
    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(ParameterSetName = "FilePath", Mandatory = true, Position = 0)]
    [AllowEmptyString]
    public string FilePath { get; set; } = "";

    [Parameter(ParameterSetName = "FilePath", Position = 1)]
    [Alias("Args")]
    public string[] ArgumentList { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = "ScriptBlock", Mandatory = true)]
    public ScriptBlock? ScriptBlock { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ContainerGroupCompleter))]
    public string? Group { get; set; }

    [Parameter]
    public ContainerIsolation[] Isolation { get; set; } = { ContainerIsolation.Pid, ContainerIsolation.Mount, ContainerIsolation.Uts, ContainerIsolation.Ipc };

    [Parameter]
    public string? Hostname { get; set; }

    [Parameter]
    public string? WorkingDirectory { get; set; }

    [Parameter]
    public Hashtable? Environment { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? User { get; set; }

    [Parameter]
    public string? RootPath { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ResourceLimitCompleter))]
    public Hashtable? ResourceLimit { get; set; }

    [Parameter]
    public Hashtable? Property { get; set; }

    [Parameter]
    public SwitchParameter KeepCGroup { get; set; }

    protected override void ProcessRecord()
    {
        string file = FilePath;
        string[] args = ArgumentList;
        if (ScriptBlock is not null)
        {
            (file, args) = PowerShellFor(ScriptBlock);
            if (file.Length == 0)
            {
                return;
            }
        }
        else if (file.Length > 0 && !file.StartsWith('/') && file.Contains('/'))
        {
            // A relative path means the current PowerShell location, as for any file parameter.
            file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(file);
        }
        var isolation = Isolation.Aggregate(ContainerIsolation.None, (a, b) => a | b);
        var request = new ContainerManager.Request
        {
            Name = Name,
            Group = Group,
            FilePath = file,
            ArgumentList = args,
            Isolation = isolation,
            Hostname = Hostname,
            WorkingDirectory = WorkingDirectory,
            Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? ""),
            User = User,
            RootPath = RootPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(RootPath),
            ResourceLimits = ResourceLimit?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value),
            Properties = Property?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? ""),
            Limits = Limits,
            KeepCGroup = KeepCGroup,
        };
        if (!ShouldProcess(Name, $"Create container running {file} {string.Join(' ', args)}".TrimEnd()))
        {
            return;
        }
        Try(() => WriteObject(Containers.Create(request)), Name);
    }

    /// <summary>The PowerShell to run a script block in: this very host (pwsh or pscsh), else the project's pscsh.</summary>
    private (string File, string[] Args) PowerShellFor(ScriptBlock block)
    {
        string? self = System.Environment.ProcessPath;
        string? host = self is not null && Path.GetFileName(self) is "pwsh" or "pscsh" ? self : null;
        if (host is null)
        {
            string moduleDir = Path.GetDirectoryName(typeof(NewContainerCommand).Assembly.Location) ?? "";
            string shell = Path.GetFullPath(Path.Combine(moduleDir, "..", "..", "shell", "pscsh"));
            host = File.Exists(shell) ? shell : null;
        }
        if (host is null)
        {
            WriteError(new ErrorRecord(new InvalidOperationException("-ScriptBlock needs pwsh or the project's pscsh to run the block in; neither was found."),
                "NoPowerShellForScriptBlock", ErrorCategory.ObjectNotFound, block));
            return ("", Array.Empty<string>());
        }
        string encoded = Convert.ToBase64String(Encoding.Unicode.GetBytes(block.ToString()));
        return (host, new[] { "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded });
    }
}
