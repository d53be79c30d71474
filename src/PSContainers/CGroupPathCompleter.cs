using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.CGroups;

namespace PSContainers;

/// <summary>Completes cgroup paths from the live hierarchy: relative names below the root, or absolute paths.</summary>
public sealed class CGroupPathCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            using var manager = CGroupManager.OpenHost();
            string word = Completions.Prefix(wordToComplete);
            bool absolute = word.StartsWith('/');
            int slash = word.LastIndexOf('/');
            string dirPart = slash >= 0 ? word[..(slash + 1)] : "";
            string prefix = slash >= 0 ? word[(slash + 1)..] : word;
            string parent = absolute
                ? (dirPart.Length > 1 ? manager.Resolve(dirPart.TrimEnd('/')) : "/")
                : dirPart.Length == 0 ? manager.ProjectRoot : manager.Resolve(dirPart.TrimEnd('/'));
            foreach (string child in manager.ChildPaths(parent))
            {
                string name = child[(child.LastIndexOf('/') + 1)..];
                if (name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    string text = dirPart + name;
                    results.Add(new CompletionResult(text, text, CompletionResultType.ParameterValue, child));
                }
            }
        }
        catch (Exception e) when (e is Native.PscException or IOException or UnauthorizedAccessException)
        {
            // Completion never throws at the user.
        }
        return results;
    }
}

/// <summary>Completes controller names: those this host's hierarchies offer the project (v1 mounts, v2 cgroup.controllers).</summary>
public sealed class ControllerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            using var manager = CGroupManager.OpenHost();
            string prefix = Completions.Prefix(wordToComplete);
            return manager.ControllerTrees
                .Where(kv => kv.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new CompletionResult(kv.Key, kv.Key, CompletionResultType.ParameterValue, $"{kv.Key} (hierarchy: {kv.Value})"))
                .ToArray();
        }
        catch (Exception e) when (e is Native.PscException or IOException or UnauthorizedAccessException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
