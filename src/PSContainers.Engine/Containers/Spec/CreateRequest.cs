using PSContainers.CGroups;

namespace PSContainers.Containers;

public sealed partial class ContainerManager
{
    /// <summary>What New-Container takes; resolved and validated into a <see cref="ContainerSpec"/> by <see cref="SpecResolver"/>.</summary>
    public sealed record Request
    {
        public string Name { get; init; } = "";
        public string? Group { get; init; }
        public string FilePath { get; init; } = "";

        /// <summary>No program (FilePath and ArgumentList empty): a standing sandbox for Start-ContainerProcess.</summary>
        public bool Sandbox { get; init; }
        public string[] ArgumentList { get; init; } = Array.Empty<string>();
        public ContainerIsolation Isolation { get; init; } = ContainerIsolation.Default;
        public string? Hostname { get; init; }
        public string? WorkingDirectory { get; init; }
        public IDictionary<string, string>? Environment { get; init; }
        public string? User { get; init; }
        public string? RootPath { get; init; }

        /// <summary>An image in the store: the root is a copy-on-write overlay of it (exclusive with RootPath).</summary>
        public string? Image { get; init; }
        public long? DiskLimit { get; init; }
        public long? InodeLimit { get; init; }
        public IDictionary<string, object?>? ResourceLimits { get; init; }
        public IDictionary<string, string>? Properties { get; init; }
        public CGroupLimits Limits { get; init; } = new();
        public bool KeepCGroup { get; init; }

        /// <summary>Null: Host, or Private when Isolation has Network.</summary>
        public ContainerNetwork? Network { get; init; }

        /// <summary>"8080:80", "5353:53/udp", "0:443" (host port from the pool).</summary>
        public string[]? PublishPort { get; init; }

        /// <summary>Networks the container may not reach (Garden's deny_networks); CIDRs or ranges.</summary>
        public string[]? DenyNetwork { get; init; }

        /// <summary>Bytes per second, each direction.</summary>
        public long? BandwidthLimit { get; init; }

        public long? BandwidthBurst { get; init; }
    }
}
