using System.Management.Automation;

namespace PSContainers.Commands;

/// <summary>
/// The overall progress of a cmdlet that acts on several containers or cgroups, as one parent record: "'web' (3 of 5)"
/// with a percentage when the count is known (several names, or a pattern, in one call), "'web' (number 3)" when they
/// arrive one by one through the pipeline. Nothing is shown for a single item; the per-item waits (Stop, Wait,
/// Remove) become its children. Completed when the pipeline ends.
/// </summary>
internal sealed class PipelineProgress
{
    private readonly Cmdlet _cmdlet;
    private readonly int _activityId;
    private readonly string _activity;
    private int _done;
    private bool _shown;

    public PipelineProgress(Cmdlet cmdlet, int activityId, string activity)
    {
        _cmdlet = cmdlet;
        _activityId = activityId;
        _activity = activity;
    }

    /// <summary>The id per-item records name as their ParentActivityId once the overall record is shown; -1 before.</summary>
    public int ParentId => _shown ? _activityId : -1;

    /// <summary>
    /// Reports that work on <paramref name="item"/> begins. <paramref name="total"/> is the count when the whole input
    /// is known (no pipeline input), else null.
    /// </summary>
    public void Next(string item, int? total)
    {
        _done++;
        bool several = total is > 1 || total is null && _done > 1;
        if (!several)
        {
            return;
        }
        // A new record each time: a host may keep the ones it was given.
        _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, total is int t ? $"'{item}' ({_done} of {t})" : $"'{item}' (number {_done})")
        {
            PercentComplete = total is int n ? (int)Math.Clamp((_done - 1) * 100L / n, 0, 100) : -1,
        });
        _shown = true;
    }

    /// <summary>Gives a per-item record its parent, when the overall one is shown.</summary>
    public ProgressRecord Child(ProgressRecord child)
    {
        child.ParentActivityId = ParentId;
        return child;
    }

    public void Complete()
    {
        if (!_shown)
        {
            return;
        }
        _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, $"{_done} done") { PercentComplete = 100, RecordType = ProgressRecordType.Completed });
        _shown = false;
    }
}
