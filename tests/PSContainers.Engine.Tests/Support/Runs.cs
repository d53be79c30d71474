namespace PSContainers.Engine.Tests.Support;

/// <summary>
/// Five runs of one scenario in one test run (issue 6): a promise about races, faults or hostile workloads that
/// holds only most of the time is not kept. Use with [SkippableTheory, MemberData(nameof(Runs.Five), MemberType = typeof(Runs))].
/// </summary>
public static class Runs
{
    public static TheoryData<int> Five => new() { 1, 2, 3, 4, 5 };
}
