using System.Globalization;
using System.Text;

namespace PSContainers.Containers;

/// <summary>
/// The NUL-separated key=value records psc-init reads, for a start (<see cref="Launcher.Config"/>) and for an exec
/// (<see cref="ContainerExec"/>); the records of the program itself are written once, here, for both.
/// </summary>
internal sealed class InitConfig
{
    private readonly StringBuilder _records = new();

    public InitConfig Add(string key, string value)
    {
        _records.Append(key).Append('=').Append(value).Append('\0');
        return this;
    }

    /// <summary>
    /// What the program gets: working directory, ids (none: it keeps init's, root or root of its user namespace),
    /// rlimits, no_new_privs, exactly this environment, and its argv.
    /// </summary>
    public InitConfig AddProcess(string cwd, (int Uid, int Gid, int[] Groups)? ids, IReadOnlyDictionary<string, RLimitValue> rlimits,
        IEnumerable<KeyValuePair<string, string>> environment, string file, IEnumerable<string> args)
    {
        Add("cwd", cwd);
        if (ids is { } id)
        {
            Add("uid", id.Uid.ToString(CultureInfo.InvariantCulture));
            Add("gid", id.Gid.ToString(CultureInfo.InvariantCulture));
            Add("groups", string.Join(',', id.Groups.Select(g => g.ToString(CultureInfo.InvariantCulture))));
        }
        foreach (var (name, value) in rlimits)
        {
            Add("rlimit", $"{name}:{Limit(value.Soft)}:{Limit(value.Hard)}");
        }
        Add("no_new_privs", "1");
        foreach (var (key, value) in environment)
        {
            Add("env", key + "=" + value);
        }
        Add("arg", file);
        foreach (string a in args)
        {
            Add("arg", a);
        }
        return this;
    }

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(_records.ToString());

    private static string Limit(long v) => v == -1 ? "unlimited" : v.ToString(CultureInfo.InvariantCulture);
}
