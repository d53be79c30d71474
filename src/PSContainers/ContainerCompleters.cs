using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.Containers;

namespace PSContainers;

/// <summary>What every completer does with its candidates: match the word typed (without its quotes) at their start.</summary>
internal static class Completions
{
    public static string Prefix(string? wordToComplete) => (wordToComplete ?? "").Trim('\'', '"');

    public static CompletionResult[] Matching(IEnumerable<string> candidates, string? wordToComplete, StringComparison comparison)
    {
        string prefix = Prefix(wordToComplete);
        return candidates.Where(c => c.StartsWith(prefix, comparison))
            .Select(c => new CompletionResult(c, c, CompletionResultType.ParameterValue, c)).ToArray();
    }
}

/// <summary>Completes container names from the depot.</summary>
public sealed class ContainerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        return Completions.Matching(Depot.FromEnvironment().Names(), wordToComplete, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Completes group names: the groups of the containers in the depot.</summary>
public sealed class ContainerGroupCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var groups = new SortedSet<string>(SpecReader.Readable(Depot.FromEnvironment(), _ => true).Select(s => s.Group).OfType<string>(), StringComparer.Ordinal);
        return Completions.Matching(groups, wordToComplete, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Completes property keys: those of the containers named by -Name (or of every container).</summary>
public sealed class ContainerPropertyKeyCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var depot = Depot.FromEnvironment();
        var names = fakeBoundParameters["Name"] switch
        {
            string s => new[] { s },
            object[] a => a.Select(o => o?.ToString() ?? "").ToArray(),
            _ => null,
        };
        var patterns = names?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var keys = new SortedSet<string>(SpecReader.Readable(depot, n => patterns is null || patterns.Any(p => p.IsMatch(n)))
            .SelectMany(s => s.Properties.Keys), StringComparer.Ordinal);
        return Completions.Matching(keys, wordToComplete, StringComparison.Ordinal);
    }
}

/// <summary>Completes user names from the host's /etc/passwd (the names New-Container and Invoke-ContainerCommand resolve).</summary>
public sealed class UserNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var users = File.ReadLines("/etc/passwd").Select(l => l.Split(':')[0]).Where(n => n.Length > 0 && !n.StartsWith('#'))
                .Distinct().Order(StringComparer.Ordinal);
            return Completions.Matching(users, wordToComplete, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>The specs of the depot's containers a completer looks at; a damaged or vanished one is passed over.</summary>
internal static class SpecReader
{
    public static IEnumerable<ContainerSpec> Readable(Depot depot, Func<string, bool> which)
    {
        foreach (string name in depot.Names().Where(which))
        {
            ContainerSpec? spec = null;
            try
            {
                spec = depot.ReadJson<ContainerSpec>(name, "spec.json");
            }
            catch (Native.PscException)
            {
            }
            if (spec is not null)
            {
                yield return spec;
            }
        }
    }
}

/// <summary>
/// Completes -ResourceLimit: PowerShell does not complete keys inside a hash table literal, so each rlimit name is
/// offered as a whole hash table holding this session's own soft:hard value, e.g. `@{ nofile = '1024:524288' }`,
/// ready to edit.
/// </summary>
public sealed class ResourceLimitCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = Completions.Prefix(wordToComplete);
        string[] limits = ReadOwnLimits();
        return RLimits.Names
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n =>
            {
                string value = limits[Array.IndexOf(RLimits.Names, n)];
                return new CompletionResult($"@{{ {n} = '{value}' }}", n, CompletionResultType.ParameterValue,
                    $"RLIMIT_{n.ToUpperInvariant()}; this session's soft:hard is {value}");
            })
            .ToArray();
    }

    /// <summary>This process's soft:hard per rlimit in <see cref="RLimits.Names"/> order, from /proc/self/limits.</summary>
    private static string[] ReadOwnLimits()
    {
        // /proc/self/limits lists the resources in RLIMIT_* number order; map those rows to the names.
        string[] byNumber = { "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime" };
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            string[] rows = File.ReadAllLines("/proc/self/limits");
            for (int i = 1; i < rows.Length && i - 1 < byNumber.Length; i++)
            {
                // "Max open files            1024                 524288               files"
                string[] cols = rows[i][26..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cols.Length >= 2)
                {
                    values[byNumber[i - 1]] = cols[0] == cols[1] ? cols[0] : $"{cols[0]}:{cols[1]}";
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            // Completion never throws at the user; names without a value are offered as 'unlimited'.
        }
        return RLimits.Names.Select(n => values.TryGetValue(n, out string? v) ? v : "unlimited").ToArray();
    }
}
