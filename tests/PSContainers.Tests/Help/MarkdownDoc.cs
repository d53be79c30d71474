using System.Text.RegularExpressions;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>
/// What a test expects from a platyPS cmdlet doc, read straight from the markdown with a few line
/// rules (independently of src/PSContainers.HelpGen, so the tests check the generator, not itself).
/// </summary>
public sealed partial class MarkdownDoc
{
    public sealed record Parameter(string Name, string Required, string Position, string PipelineInput);

    public sealed record Example(string Title, IReadOnlyList<string> CodeBlocks);

    private MarkdownDoc(string file) => File = file;

    public string File { get; }

    public string Name { get; private set; } = string.Empty;

    public string Synopsis { get; private set; } = string.Empty;

    public List<Parameter> Parameters { get; } = [];

    public List<Example> Examples { get; } = [];

    public static string DocsDir => Path.Combine(Repo.Root, "docs", "en-US");

    /// <summary>The cmdlet docs: docs/en-US/*.md with a '## SYNTAX' section.</summary>
    public static IEnumerable<string> CmdletDocFiles() =>
        Directory.EnumerateFiles(DocsDir, "*.md")
            .Where(f => System.IO.File.ReadAllLines(f).Any(l => l.TrimEnd() == "## SYNTAX"))
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> CmdletDocs()
    {
        var data = new TheoryData<string>();
        foreach (string f in CmdletDocFiles())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    public static MarkdownDoc Load(string fileName)
    {
        var doc = new MarkdownDoc(Path.Combine(DocsDir, fileName));
        string[] lines = System.IO.File.ReadAllText(doc.File).Replace("\r\n", "\n").Split('\n');
        string section = string.Empty;
        var synopsis = new List<string>();
        string? parameter = null;
        List<string>? code = null;
        bool inFence = false;
        bool yamlSeen = false;
        foreach (string line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (!inFence)
                {
                    inFence = true;
                    code = [];
                    continue;
                }

                inFence = false;
                string text = string.Join("\n", code!).Trim('\n');
                if (section == "EXAMPLES" && doc.Examples.Count > 0)
                {
                    ((List<string>)doc.Examples[^1].CodeBlocks).Add(text);
                }
                else if (section == "PARAMETERS" && parameter is not null && !yamlSeen && text.Contains("Parameter Sets:", StringComparison.Ordinal))
                {
                    yamlSeen = true;
                    string Get(string key) => Regex.Match(text, "^" + Regex.Escape(key) + @":[ \t]*(.*)$", RegexOptions.Multiline).Groups[1].Value.Trim();
                    doc.Parameters.Add(new Parameter(parameter, Get("Required").ToLowerInvariant(), Get("Position").ToLowerInvariant(), Get("Accept pipeline input")));
                }

                continue;
            }

            if (inFence)
            {
                code!.Add(line.TrimEnd());
                continue;
            }

            if (line.StartsWith("# ", StringComparison.Ordinal) && doc.Name.Length == 0)
            {
                doc.Name = line[2..].Trim();
            }
            else if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                section = line[3..].Trim();
            }
            else if (line.StartsWith("### ", StringComparison.Ordinal) && section == "EXAMPLES")
            {
                doc.Examples.Add(new Example(line[4..].Trim(), new List<string>()));
            }
            else if (line.StartsWith("### -", StringComparison.Ordinal) && section == "PARAMETERS")
            {
                parameter = line[5..].Trim();
                yamlSeen = false;
            }
            else if (section == "SYNOPSIS" && line.Trim().Length > 0)
            {
                synopsis.Add(line.Trim());
            }
        }

        doc.Synopsis = string.Join(" ", synopsis);
        return doc;
    }

    /// <summary>Whitespace runs as one space, for comparing text that Get-Help or the generator rewrapped.</summary>
    public static string Squash(string s) => SpaceRegex().Replace(s, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex SpaceRegex();
}
