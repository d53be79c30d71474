namespace PSContainers.CGroups;

/// <summary>A write the engine intends to make: which tree, which cgroup, which file, what value.</summary>
internal sealed record PlannedWrite(CGroupTree Tree, string Path, string File, string Value);

/// <summary>
/// Limits in one hierarchy: turning them into (file, value) writes and reading them back. v1 and v2 name and order
/// the files differently (V1/V1Limits.cs, V2/V2Limits.cs); on a hybrid host each controller is served by whichever
/// hierarchy carries it.
/// </summary>
internal interface ILimitDriver
{
    CGroupTree Tree { get; }

    /// <summary>The writes for the controllers this driver serves, in the order the kernel needs them.</summary>
    IEnumerable<PlannedWrite> Plan(string path, CGroupLimits limits, ISet<string> controllers);

    /// <summary>Reads limits and usage of the controllers this driver serves into <paramref name="cg"/>.</summary>
    void Read(string path, CGroup cg, ISet<string> controllers);

    /// <summary>True when a subtree of this hierarchy can be handed to a user who is not root (v2; v1 cannot be delegated safely).</summary>
    bool CanBeDelegated { get; }

    /// <summary>
    /// Why <paramref name="controller"/> does not serve <paramref name="path"/>, for the error message: v2 says where it
    /// stops on the way down; null when the hierarchy cannot say more than that it is not there.
    /// </summary>
    string? WhereUnavailable(string path, string controller);
}
