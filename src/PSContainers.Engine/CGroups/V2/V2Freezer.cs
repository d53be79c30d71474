using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.CGroups.V2;

/// <summary>The cgroup2 freezer: cgroup.freeze asks, the "frozen" line of cgroup.events says when it is done.</summary>
internal sealed class V2Freezer : IFreezer
{
    private const string File = "cgroup.freeze";

    public V2Freezer(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

    /// <summary>Every cgroup but the root has cgroup.freeze since Linux 5.2.</summary>
    public bool CanFreeze(string path) => path != "/" && Tree.HasFile(path, File);

    public bool? IsFrozen(string path) =>
        path != "/" && StatFiles.KeyValues(Tree.TryRead(path, "cgroup.events")).TryGetValue("frozen", out long f) ? f == 1 : null;

    public void SetFrozen(string path, bool frozen, TimeSpan timeout, Action<string>? log)
    {
        string value = frozen ? "1" : "0";
        Tree.Write(path, File, value);
        log?.Invoke($"wrote '{value}' to {Tree.FullPath(path, File)}");
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while (StatFiles.KeyValues(Tree.TryRead(path, "cgroup.events")).GetValueOrDefault("frozen") != (frozen ? 1 : 0))
        {
            if (sw.Elapsed > timeout)
            {
                throw new PscException("FreezeTimeout", ErrorKind.OperationTimeout,
                    $"'{path}' did not become {(frozen ? "frozen" : "thawed")} within {timeout.TotalSeconds:0.#} s ({Tree.FullPath(path, File)}).", path);
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    public void ThawIfFrozen(string path, Action<string>? log)
    {
        if ((Tree.TryRead(path, File) ?? "0").Trim() == "1" && Tree.TryWrite(path, File, "0") == 0)
        {
            log?.Invoke($"wrote '0' to {Tree.FullPath(path, File)}");
        }
    }
}
