using System.Text;
using System.Text.RegularExpressions;

namespace PSContainers.HelpGen;

/// <summary>A doc file that does not follow the platyPS schema, with the line to look at.</summary>
public sealed class HelpSchemaException(string file, int line, string message) : Exception(message)
{
    public string File { get; } = file;

    public int Line { get; } = line;

    /// <summary>The canonical MSBuild error format, so Exec turns it into a build error that names the place.</summary>
    public string ToMSBuildError() => $"{File}({Line}): error PSCHELP: {Message}";
}

public enum BlockKind
{
    Heading,
    Code,
    Text,
}

/// <summary>
/// One block of a platyPS markdown file, as platyPS v1's parser sees it: a heading, a fenced code
/// block, or the text between them (platyPS keeps everything between two headings or code blocks,
/// blank lines included, as one paragraph node).
/// </summary>
public sealed record Block(BlockKind Kind, int Line, int Level, string Text, string Language, IReadOnlyList<string> Lines)
{
    public string Describe() => Kind switch
    {
        BlockKind.Heading => $"heading '{new string('#', Level)} {Text}'",
        BlockKind.Code => Language.Length > 0 ? $"```{Language} code block" : "code block",
        _ => $"text '{Shorten(Lines.First(l => l.Trim().Length > 0).Trim())}'",
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}

/// <summary>A markdown file split into its yaml front matter and blocks, with line numbers.</summary>
public sealed partial class MarkdownFile
{
    private MarkdownFile(string path) => Path = path;

    public string Path { get; }

    /// <summary>The front matter (between the leading '---' lines): key → (value, line). Empty values are "".</summary>
    public Dictionary<string, (string Value, int Line)> FrontMatter { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<Block> Blocks { get; } = [];

    public HelpSchemaException Error(int line, string message) => new(Path, line, message);

    public static MarkdownFile Read(string path) => Parse(path, File.ReadAllText(path));

    public static MarkdownFile Parse(string path, string content)
    {
        var md = new MarkdownFile(path);
        // As platyPS: one kind of line ending, and the en dash read as a hyphen.
        string[] lines = content.Replace("\r\n", "\n").Replace('\r', '\n').Replace('\u2013', '-').Split('\n');
        int i = 0;
        while (i < lines.Length && lines[i].Trim().Length == 0)
        {
            i++;
        }

        if (i < lines.Length && lines[i].TrimEnd() == "---")
        {
            int start = i++;
            for (; i < lines.Length && lines[i].TrimEnd() != "---"; i++)
            {
                if (lines[i].Trim().Length == 0)
                {
                    continue;
                }

                int colon = lines[i].IndexOf(':');
                if (colon <= 0)
                {
                    throw md.Error(i + 1, $"front matter: expected 'key: value', found '{lines[i].Trim()}'");
                }

                md.FrontMatter[lines[i][..colon].Trim()] = (lines[i][(colon + 1)..].Trim(), i + 1);
            }

            if (i == lines.Length)
            {
                throw md.Error(start + 1, "the front matter opened here is not closed by a '---' line");
            }

            i++;
        }

        var text = new List<string>();
        int textLine = 0;
        void FlushText()
        {
            if (text.Any(l => l.Trim().Length > 0))
            {
                md.Blocks.Add(new Block(BlockKind.Text, textLine, 0, string.Empty, string.Empty, TrimBlankEnds(text)));
            }

            text.Clear();
        }

        for (; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                FlushText();
                string language = line[3..].Trim();
                if (!WordRegex().IsMatch(language))
                {
                    throw md.Error(i + 1, $"a code fence takes one word after ``` (a language), found '{language}'");
                }

                int start = i++;
                var code = new List<string>();
                for (; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
                {
                    code.Add(lines[i].TrimEnd());
                }

                if (i == lines.Length)
                {
                    throw md.Error(start + 1, "the code block opened here is not closed by a ``` line");
                }

                if (lines[i].Trim() != "```")
                {
                    throw md.Error(i + 1, $"a closing code fence must be ``` alone on its line, found '{lines[i].Trim()}'");
                }

                var body = TrimBlankEnds(code);
                md.Blocks.Add(new Block(BlockKind.Code, start + 1, 0, string.Join('\n', body), language, body));
                continue;
            }

            Match heading = HeadingRegex().Match(line);
            if (heading.Success)
            {
                FlushText();
                md.Blocks.Add(new Block(BlockKind.Heading, i + 1, heading.Groups[1].Length, heading.Groups[2].Value.Trim(), string.Empty, [line]));
                continue;
            }

            // platyPS also reads "Title\n=====" (level 1) and "Title\n-----" (level 2) as headings.
            if (line.Trim().Length > 0 && i + 1 < lines.Length && UnderlineRegex().IsMatch(lines[i + 1]))
            {
                FlushText();
                int level = lines[i + 1].TrimStart()[0] == '=' ? 1 : 2;
                md.Blocks.Add(new Block(BlockKind.Heading, i + 1, level, line.Trim(), string.Empty, [line, lines[i + 1]]));
                i++;
                continue;
            }

            if (text.Count == 0 || text.All(l => l.Trim().Length == 0))
            {
                textLine = i + 1;
            }

            text.Add(line.TrimEnd('\r'));
        }

        FlushText();
        return md;
    }

    private static List<string> TrimBlankEnds(List<string> lines)
    {
        int first = lines.FindIndex(l => l.Trim().Length > 0);
        int last = lines.FindLastIndex(l => l.Trim().Length > 0);
        return first < 0 ? [] : lines.GetRange(first, last - first + 1);
    }

    [GeneratedRegex(@"^\w*$")]
    private static partial Regex WordRegex();

    [GeneratedRegex(@"^(#+)[ ]*(.+?)[ ]*#*$")]
    private static partial Regex HeadingRegex();

    [GeneratedRegex(@"^(==+|--+)[ ]*$")]
    private static partial Regex UnderlineRegex();
}

/// <summary>
/// Markdown text to help text, the way platyPS v1 does it: soft line breaks become spaces and a blank
/// line starts a new paragraph; list items stay one paragraph each; [text](uri) becomes "text (uri)";
/// emphasis markers and backslash escapes are removed; `code` keeps its backticks.
/// </summary>
public static partial class HelpText
{
    /// <summary>The paragraphs of a text block, each one line of help text.</summary>
    public static List<string> Paragraphs(IReadOnlyList<string> lines, bool keepUris = true)
    {
        var result = new List<string>();
        StringBuilder? current = null;
        bool inList = false;
        void Flush()
        {
            if (current is not null)
            {
                result.Add(Inline(current.ToString(), keepUris));
            }

            current = null;
        }

        foreach (string raw in lines)
        {
            string line = raw.TrimEnd();
            if (line.Length == 0)
            {
                Flush();
                inList = false;
            }
            else if (ListItemRegex().IsMatch(line))
            {
                Flush();
                current = new StringBuilder(line);
                inList = true;
            }
            else if (inList && char.IsWhiteSpace(line[0]))
            {
                // The continuation of a wrapped list item.
                current!.Append(' ').Append(line.Trim());
            }
            else
            {
                if (inList)
                {
                    Flush();
                    inList = false;
                }

                if (current is null)
                {
                    current = new StringBuilder(line);
                }
                else
                {
                    current.Append(' ').Append(line.Trim());
                }

                if (raw.EndsWith("  ", StringComparison.Ordinal))
                {
                    Flush(); // a markdown hard line break
                }
            }
        }

        Flush();
        return result;
    }

    /// <summary>Inline markdown to plain help text; inline code spans are left as they are.</summary>
    public static string Inline(string text, bool keepUris = true)
    {
        var sb = new StringBuilder();
        foreach (Match m in CodeSpanRegex().Matches(text))
        {
            sb.Append(m.Groups["code"].Success ? m.Value : InlineOutsideCode(m.Value, keepUris));
        }

        return sb.ToString();
    }

    private static string InlineOutsideCode(string text, bool keepUris)
    {
        text = LinkRegex().Replace(text, m =>
        {
            string label = m.Groups[1].Value;
            string uri = m.Groups[2].Value.Trim();
            return keepUris && uri.Length > 0 ? $"{label} ({uri})" : label;
        });
        text = BoldRegex().Replace(text, m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        text = ItalicRegex().Replace(text, m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        return EscapeRegex().Replace(text, "$1");
    }

    [GeneratedRegex(@"^\s*([-*]|\d+\.)\s")]
    private static partial Regex ListItemRegex();

    [GeneratedRegex(@"(?<code>`+[^`]*?`+)|[^`]+|`")]
    private static partial Regex CodeSpanRegex();

    [GeneratedRegex(@"\[([^\]]+)\]\(([^)\s]*)\)")]
    private static partial Regex LinkRegex();

    [GeneratedRegex(@"\*\*(.+?)\*\*|(?<![a-zA-Z0-9])__(.+?)__(?![a-zA-Z0-9])")]
    private static partial Regex BoldRegex();

    [GeneratedRegex(@"(?<![\\*])\*(?![\s*])(.+?)(?<![\s\\])\*|(?<![a-zA-Z0-9\\])_(.+?)_(?![a-zA-Z0-9])")]
    private static partial Regex ItalicRegex();

    [GeneratedRegex(@"\\([\[\]()`<>_*\\])")]
    private static partial Regex EscapeRegex();
}
