using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainers.Containers;

namespace PSContainers;

/// <summary>
/// Completes New-Container -Image with the names of the complete images in the store ($PSCONTAINERS_STORE, else
/// the default). Stands in until an image completer shared by the image cmdlets replaces it.
/// </summary>
public sealed class NewContainerImageCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completions.Matching(ImageStore.FromEnvironment().List().Select(i => i.Name), wordToComplete, StringComparison.Ordinal);
}
