using System.Management.Automation;
using PSContainers.Containers;

namespace PSContainers.Commands;

/// <summary>
/// Publish-ContainerPort (Garden's NetIn): a host port answers for a port of a bridged container, on every address of
/// the host, on 127.0.0.1 and from other containers on the bridge. Host port 0 (the default) takes one from the pool.
/// </summary>
[Cmdlet(VerbsData.Publish, "ContainerPort", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PortMapping))]
public sealed class PublishContainerPortCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int ContainerPort { get; set; }

    /// <summary>0 (the default): the next free port of the pool.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    public int HostPort { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PortProtocol Protocol { get; set; } = PortProtocol.Tcp;

    protected override void ProcessRecord()
    {
        string host = HostPort == 0 ? "a host port from the pool" : $"host port {HostPort}";
        if (ShouldProcess(Name, $"Publish container port {ContainerPort}/{Protocol.ToString().ToLowerInvariant()} on {host}"))
        {
            Try(() => WriteObject(Containers.PublishPort(Name, ContainerPort, HostPort, Protocol)), Name);
        }
    }
}

/// <summary>
/// Unpublish-ContainerPort: the host port no longer answers for the container, and the kernel forgets the
/// connections it was tracking through it. A mapping from Get-Container's MappedPorts pipes in by property name.
/// </summary>
[Cmdlet(VerbsData.Unpublish, "ContainerPort", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PortMapping))]
public sealed class UnpublishContainerPortCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int HostPort { get; set; }

    /// <summary>Without it, both the TCP and the UDP mapping of the host port go.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PortProtocol? Protocol { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string which = HostPort + (Protocol is null ? "" : "/" + Protocol.ToString()!.ToLowerInvariant());
        if (!ShouldProcess(Name, $"Unpublish host port {which}"))
        {
            return;
        }
        Try(() =>
        {
            PortMapping[] gone = Containers.UnpublishPort(Name, HostPort, Protocol);
            if (PassThru)
            {
                WriteObject(gone, true);
            }
        }, Name);
    }
}

/// <summary>
/// Add-ContainerNetRule (Garden's NetOut): allows a bridged container to reach these networks (and ports, or ICMP
/// type) even where -DenyNetwork denies them; the newest rule is matched first.
/// </summary>
[Cmdlet(VerbsCommon.Add, "ContainerNetRule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerNetRule))]
public sealed class AddContainerNetRuleCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true)]
    public NetRuleProtocol Protocol { get; set; }

    /// <summary>CIDRs ("198.51.100.0/24", a lone address) or ranges ("198.51.100.1-198.51.100.9").</summary>
    [Parameter(Mandatory = true)]
    [AllowEmptyCollection]
    [AllowEmptyString]
    public string[] Network { get; set; } = Array.Empty<string>();

    /// <summary>Destination ports or ranges ("80", "8000-8080"); needs -Protocol Tcp or Udp.</summary>
    [Parameter]
    [AllowEmptyString]
    public string[]? Port { get; set; }

    /// <summary>The ICMP type allowed (8 = echo request); needs -Protocol Icmp.</summary>
    [Parameter]
    public int? IcmpType { get; set; }

    /// <summary>Each new connection the rule lets through goes to the kernel log.</summary>
    [Parameter]
    public SwitchParameter Log { get; set; }

    protected override void ProcessRecord()
    {
        string what = $"{Protocol} to {string.Join(",", Network)}"
            + (Port is { Length: > 0 } ? " port " + string.Join(",", Port) : "")
            + (IcmpType is int t ? $" type {t}" : "") + (Log ? " (logged)" : "");
        if (ShouldProcess(Name, $"Allow egress: {what}"))
        {
            Try(() => WriteObject(Containers.AddNetRule(Name, Protocol, Network, Port, IcmpType, Log)), Name);
        }
    }
}

/// <summary>Get-ContainerNetRule: the egress rules of bridged containers, newest (first matched) first.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerNetRule")]
[OutputType(typeof(ContainerNetRule))]
public sealed class GetContainerNetRuleCommand : PscCommandBase
{
    /// <summary>Without it: every bridged container's rules.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string[]? Name { get; set; }

    [Parameter]
    public int? Id { get; set; }

    protected override void ProcessRecord()
    {
        var targets = Name is null
            ? Containers.List((n, e) => WriteWarning($"Container '{n}' is damaged: {e.Message}"))
            : ResolveContainers(Name, null);
        var literal = new HashSet<string>(Name?.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)) ?? Array.Empty<string>(), StringComparer.Ordinal);
        foreach (Container c in targets.ToList())
        {
            // A pattern (or no name) passes over containers without a bridge; a name given outright is told why not.
            if (c.Network != ContainerNetwork.Bridge && !literal.Contains(c.Name))
            {
                continue;
            }
            Try(() =>
            {
                var rules = Containers.NetRules(c.Name).Where(r => Id is null || r.Id == Id).ToArray();
                if (rules.Length == 0 && Id is int id && literal.Contains(c.Name))
                {
                    throw new Native.PscException("NetRuleNotFound", Native.ErrorKind.ObjectNotFound, $"Container '{c.Name}' has no egress rule {id}.", id);
                }
                WriteObject(rules, true);
            }, c.Name);
        }
    }
}

/// <summary>Remove-ContainerNetRule: a rule goes (its container's chain is rewritten in one batch); what it allowed is denied again.</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerNetRule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerNetRule))]
public sealed class RemoveContainerNetRuleCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int Id { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Remove egress rule {Id}"))
        {
            return;
        }
        Try(() =>
        {
            ContainerNetRule rule = Containers.RemoveNetRule(Name, Id);
            if (PassThru)
            {
                WriteObject(rule with { ContainerName = Name });
            }
        }, Name);
    }
}

/// <summary>
/// Set-ContainerBandwidth: a new rate (and burst) for what a bridged container sends and receives, on a container of
/// any state; -Unlimited takes the limit away.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ContainerBandwidth", DefaultParameterSetName = "Limit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Container))]
public sealed class SetContainerBandwidthCommand : PscCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [AllowEmptyString]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Bytes per second, each way (10MB works).</summary>
    [Parameter(ParameterSetName = "Limit", Mandatory = true, Position = 1)]
    public long BandwidthLimit { get; set; }

    /// <summary>Bytes that may pass at once above the rate (default: a tenth of a second's worth, at least 64 KB).</summary>
    [Parameter(ParameterSetName = "Limit")]
    public long? BandwidthBurst { get; set; }

    [Parameter(ParameterSetName = "Unlimited", Mandatory = true)]
    public SwitchParameter Unlimited { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (Container target in ResolveContainers(Name, null).ToList())
        {
            string action = Unlimited
                ? "Remove the bandwidth limit"
                : $"Limit bandwidth to {BandwidthLimit} bytes/s each way" + (BandwidthBurst is long b ? $", burst {b} bytes" : "");
            if (!ShouldProcess(target.Name, action))
            {
                continue;
            }
            Try(() =>
            {
                Containers.SetBandwidth(target.Name, Unlimited ? null : BandwidthLimit, Unlimited ? null : BandwidthBurst);
                if (PassThru)
                {
                    WriteObject(Containers.Get(target.Name));
                }
            }, target.Name);
        }
    }
}
