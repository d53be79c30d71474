namespace PSContainers.CGroups;

/// <summary>Usage statistics in one hierarchy, parsed from its version's files (V1/V1Stats.cs, V2/V2Stats.cs).</summary>
internal interface IStatsReader
{
    /// <summary>Reads the usage statistics of the controllers this reader serves into <paramref name="s"/>.</summary>
    void ReadStats(string path, CGroupStats s, ISet<string> controllers);

    /// <summary>
    /// What every cgroup of the hierarchy reports with or without controllers (v2: CPU time and pressure; v1: nothing),
    /// filling only what the controllers left null.
    /// </summary>
    void ReadCore(string path, CGroupStats s);

    /// <summary>The OOM killer's kill count (v2 memory.events, v1 memory.oom_control); null without the file.</summary>
    long? OomKills(string path);

    /// <summary>The file whose "oom_kill" line <see cref="OomKills"/> reads (memory.events or memory.oom_control).</summary>
    string OomCounterFile { get; }
}
