using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.Containers;

namespace PSContainers;

/// <summary>Completes container names from the depot.</summary>
public sealed class ContainerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        return Depot.FromEnvironment().Names()
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n))
            .ToArray();
    }
}

/// <summary>Completes group names: the groups of the containers in the depot.</summary>
public sealed class ContainerGroupCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        var depot = Depot.FromEnvironment();
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string name in depot.Names())
        {
            try
            {
                if (depot.ReadJson<ContainerSpec>(name, "spec.json")?.Group is string g)
                {
                    groups.Add(g);
                }
            }
            catch (Native.PscException)
            {
            }
        }
        return groups.Where(g => g.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(g => new CompletionResult(g, g, CompletionResultType.ParameterValue, g)).ToArray();
    }
}
