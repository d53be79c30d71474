using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.CGroups.V1;

/// <summary>The v1 freezer controller: freezer.state is written FROZEN or THAWED and read until it says so.</summary>
internal sealed class V1Freezer : IFreezer
{
    private const string File = "freezer.state";

    public V1Freezer(CGroupTree tree) => Tree = tree;

    public CGroupTree Tree { get; }

    public bool CanFreeze(string path) => Tree.Exists(path);

    /// <summary>From freezer.state; null where it is missing (outside the freezer hierarchy, or its root, which cannot be frozen).</summary>
    public bool? IsFrozen(string path) => Tree.TryRead(path, File) is string state ? state.Trim() == "FROZEN" : null;

    public void SetFrozen(string path, bool frozen, TimeSpan timeout, Action<string>? log)
    {
        string value = frozen ? "FROZEN" : "THAWED";
        Tree.Write(path, File, value);
        log?.Invoke($"wrote '{value}' to {Tree.FullPath(path, File)}");
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while ((Tree.TryRead(path, File) ?? "").Trim() != value)
        {
            if (sw.Elapsed > timeout)
            {
                throw new PscException("FreezeTimeout", ErrorKind.OperationTimeout,
                    $"'{path}' did not become {(frozen ? "frozen" : "thawed")} within {timeout.TotalSeconds:0.#} s ({Tree.FullPath(path, File)}).", path);
            }
            if (frozen)
            {
                Tree.TryWrite(path, File, value); // v1 may stay FREEZING; writing again retries
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    public void ThawIfFrozen(string path, Action<string>? log)
    {
        if ((Tree.TryRead(path, File) ?? "THAWED").Trim() != "THAWED" && Tree.TryWrite(path, File, "THAWED") == 0)
        {
            log?.Invoke($"wrote 'THAWED' to {Tree.FullPath(path, File)}");
        }
    }
}
