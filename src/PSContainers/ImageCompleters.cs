using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.Containers;

namespace PSContainers;

/// <summary>Completes image names from the store (Get-ContainerImage, Remove-ContainerImage, New-Container -Image).</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        return Completions.Matching(ImageStore.FromEnvironment().List().Select(i => i.Name), wordToComplete, StringComparison.OrdinalIgnoreCase);
    }
}
