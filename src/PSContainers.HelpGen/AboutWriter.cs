using System.Text;
using System.Text.RegularExpressions;

namespace PSContainers.HelpGen;

/// <summary>
/// An about topic's markdown as the plain text Get-Help shows, laid out as platyPS v1's TextRenderer
/// lays it out: "TOPIC" and the topic name, section headings at the margin, level-3 headings in capitals
/// and every paragraph and code line indented by four spaces, text wrapped at 80 columns.
/// </summary>
public static partial class AboutWriter
{
    private const string Indent = "    ";
    private const int Width = 80;

    public static string Render(MarkdownFile md)
    {
        var blocks = md.Blocks;
        if (blocks.Count == 0 || blocks[0] is not { Kind: BlockKind.Heading, Level: 1 })
        {
            throw md.Error(blocks.Count == 0 ? 1 : blocks[0].Line, "an about topic starts with its name as a '# about_Name' heading");
        }

        var sb = new StringBuilder();
        sb.Append("TOPIC\n");
        int start = 1;
        if (blocks.Count > 1 && blocks[1] is { Kind: BlockKind.Heading, Level: 2 } second && second.Text.StartsWith("about", StringComparison.OrdinalIgnoreCase))
        {
            // platyPS's template: "# Topic title" then "## about_Name"; platyPS writes the name in lower case.
            sb.Append(Indent).Append(second.Text.ToLowerInvariant()).Append("\n\n");
            start = 2;
        }
        else
        {
            // The PowerShell-Docs layout: "# about_Name" then "## SHORT DESCRIPTION".
            sb.Append(Indent).Append(blocks[0].Text).Append("\n\n");
        }

        foreach (Block block in blocks.Skip(start))
        {
            switch (block.Kind)
            {
                case BlockKind.Heading when block.Level == 1:
                    sb.Append(block.Text.ToUpperInvariant()).Append('\n');
                    break;
                case BlockKind.Heading when block.Level == 2:
                    sb.Append(block.Text).Append('\n');
                    break;
                case BlockKind.Heading:
                    sb.Append(Indent).Append(block.Text.ToUpperInvariant()).Append('\n');
                    break;
                case BlockKind.Code:
                    foreach (string line in block.Lines)
                    {
                        sb.Append((Indent + line).TrimEnd()).Append('\n');
                    }

                    sb.Append('\n');
                    break;
                default:
                    AppendParagraphs(sb, HelpText.Paragraphs(block.Lines, keepUris: false));
                    sb.Append('\n');
                    break;
            }
        }

        return Normalize(sb.ToString().TrimEnd('\n') + "\n");
    }

    private static void AppendParagraphs(StringBuilder sb, List<string> paragraphs)
    {
        bool previousWasItem = false;
        for (int i = 0; i < paragraphs.Count; i++)
        {
            string para = paragraphs[i];
            Match item = ListMarkerRegex().Match(para);
            if (i > 0 && !(item.Success && previousWasItem))
            {
                sb.Append('\n');
            }

            string lead = para[..(para.Length - para.TrimStart().Length)];
            string hanging = item.Success ? new string(' ', item.Length) : lead;
            Wrap(sb, Indent + lead, Indent + hanging, para.Trim());
            previousWasItem = item.Success;
        }
    }

    private static void Wrap(StringBuilder sb, string firstIndent, string nextIndent, string text)
    {
        var line = new StringBuilder(firstIndent);
        bool empty = true;
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > Width)
            {
                sb.Append(line).Append('\n');
                line.Clear().Append(nextIndent);
                empty = true;
            }

            if (!empty)
            {
                line.Append(' ');
            }

            line.Append(word);
            empty = false;
        }

        sb.Append(line).Append('\n');
    }

    /// <summary>As platyPS's RenderCleaner.FullNormalization: plain spaces, straight quotes, hyphens.</summary>
    public static string Normalize(string text)
    {
        text = text.Replace('\u00a0', ' ');
        text = SingleQuoteRegex().Replace(text, "'");
        text = DoubleQuoteRegex().Replace(text, "\"");
        return DashRegex().Replace(text, "-");
    }

    [GeneratedRegex(@"^\s*([-*]|\d+\.)\s")]
    private static partial Regex ListMarkerRegex();

    [GeneratedRegex("[\u2018\u2019\u201b]")]
    private static partial Regex SingleQuoteRegex();

    [GeneratedRegex("[\u201c\u201d\u201e\u201f]")]
    private static partial Regex DoubleQuoteRegex();

    [GeneratedRegex("[\u05be\u1806\u2010\u2011\u00ad\u2012\u2013\u2014\u2015\u2212]")]
    private static partial Regex DashRegex();
}
