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
    }
}
