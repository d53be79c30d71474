using System.Text.RegularExpressions;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>Container and group names: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}, so they are safe as file and cgroup names.</summary>
public static partial class ContainerName
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    private static partial Regex Valid();

    public static bool IsValid(string? name) => name is not null && Valid().IsMatch(name);

    public static void Check(string? name, string what = "container name", string errorId = "InvalidContainerName")
    {
        if (!IsValid(name))
        {
            string shown = (name ?? "").Replace("\0", "\\0").Replace("\n", "\\n");
            throw PscException.Invalid(errorId,
                $"'{shown}' is not a valid {what}: use 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit.", shown);
        }
    }
}
