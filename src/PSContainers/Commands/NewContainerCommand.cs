using System.Collections;
using System.Management.Automation;
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

    /// <summary>Without it (and without -ScriptBlock) the container is a sandbox: Start-ContainerProcess runs its processes.</summary>
    [Parameter(ParameterSetName = "FilePath", Position = 0)]
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

    /// <summary>An image in the store: the root is a copy-on-write overlay of it, with a writable layer of the container's own.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string? Image { get; set; }

    /// <summary>Bytes the writable layer may hold (at least 1 MiB); needs -Image.</summary>
    [Parameter]
    public long? DiskLimit { get; set; }

    /// <summary>Files, folders and links the writable layer may hold; needs -DiskLimit.</summary>
    [Parameter]
    public long? InodeLimit { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ResourceLimitCompleter))]
    public Hashtable? ResourceLimit { get; set; }

    [Parameter]
    public Hashtable? Property { get; set; }

    [Parameter]
    public SwitchParameter KeepCGroup { get; set; }

    /// <summary>Host (default), None, Private (loopback only) or Bridge (an address on the module's bridge, NAT, published ports).</summary>
    [Parameter]
    public ContainerNetwork? Network { get; set; }

    /// <summary>"hostPort:containerPort[/tcp|/udp]"; host port 0 takes one from the pool. Needs -Network Bridge.</summary>
    [Parameter]
    public string[]? PublishPort { get; set; }

    /// <summary>Networks the container may not reach (CIDRs or ranges); Add-ContainerNetRule allows exceptions. Needs -Network Bridge.</summary>
    [Parameter]
    public string[]? DenyNetwork { get; set; }

    /// <summary>Bytes per second, each way. Needs -Network Bridge.</summary>
    [Parameter]
    public long? BandwidthLimit { get; set; }

    /// <summary>Bytes that may pass at once above the rate (default: a tenth of a second's worth, at least 64 KB).</summary>
    [Parameter]
    public long? BandwidthBurst { get; set; }

    protected override void ProcessRecord()
    {
        bool sandbox = ScriptBlock is null && !MyInvocation.BoundParameters.ContainsKey(nameof(FilePath));
        string shown = ScriptBlock is null ? $"{FilePath} {string.Join(' ', ArgumentList)}".TrimEnd() : "a script block in pwsh";
        if (!ShouldProcess(Name, sandbox ? "Create a sandbox container (no program of its own)" : $"Create container running {shown}"))
        {
            return; // with -WhatIf nothing is checked, as nothing is created
        }
        string file = FilePath;
        string[] args = ArgumentList;
        string? root = RootPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(RootPath);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ScriptBlock is not null)
        {
            // The PowerShell running this session, found from $PSHOME (the process may be dotnet, under the tool shim).
            string? psHome = SessionState.PSVariable.GetValue("PSHOME") as string;
            PowerShellProgram? program = null;
            if (!Try(() => program = PowerShellProgram.For(ScriptBlock.ToString(), psHome, root), Name) || program is null)
            {
                return;
            }
            (file, args) = (program.FilePath, program.ArgumentList);
            foreach (var (key, value) in program.Environment)
            {
                environment[key] = value;
            }
        }
        else if (file.Length > 0 && !file.StartsWith('/') && file.Contains('/'))
        {
            // A relative path means the current PowerShell location, as for any file parameter.
            file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(file);
        }
        foreach (DictionaryEntry e in Environment ?? new Hashtable())
        {
            environment[e.Key.ToString() ?? ""] = e.Value?.ToString() ?? ""; // the caller's entries win
        }
        var request = new ContainerManager.Request
        {
            Name = Name,
            Group = Group,
            FilePath = file,
            ArgumentList = args,
            Sandbox = sandbox,
            Isolation = Isolation.Aggregate(ContainerIsolation.None, (a, b) => a | b),
            Hostname = Hostname,
            WorkingDirectory = WorkingDirectory,
            Environment = environment,
            User = User,
            RootPath = root,
            Image = Image,
            DiskLimit = DiskLimit,
            InodeLimit = InodeLimit,
            ResourceLimits = ResourceLimit?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value),
            Properties = Property?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? ""),
            Limits = Limits,
            KeepCGroup = KeepCGroup,
            Network = Network,
            PublishPort = PublishPort,
            DenyNetwork = DenyNetwork,
            BandwidthLimit = BandwidthLimit,
            BandwidthBurst = BandwidthBurst,
        };
        Try(() => WriteObject(Containers.Create(request)), Name);
    }
}
