using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace PSContainers.HelpGen;

/// <summary>
/// Writes MAML the way platyPS v1's MamlRenderer does (the same elements, attributes and values),
/// which is the layout of PowerShell's own *.dll-Help.xml files that Get-Help reads.
/// </summary>
public static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    public static readonly XNamespace MSHelp = "http://msdn.microsoft.com/mshelp";

    public static string Render(IEnumerable<CommandDoc> commands)
    {
        var document = new XDocument(
            new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"), commands.Select(CommandElement)));

        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NamespaceHandling = NamespaceHandling.OmitDuplicates,
        };
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, settings))
        {
            document.Save(writer);
        }

        return Normalize(Encoding.UTF8.GetString(stream.ToArray())) + "\n";
    }

    private static XElement CommandElement(CommandDoc c)
    {
        string verb = c.Name.Split('-')[0];
        string noun = c.Name[Math.Min(verb.Length + 1, c.Name.Length)..];
        return new XElement(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MSHelp),
            new XElement(Command + "details",
                new XElement(Command + "name", c.Name),
                new XElement(Command + "verb", verb),
                new XElement(Command + "noun", noun),
                new XElement(Maml + "description", Paras(c.Synopsis))),
            new XElement(Maml + "description", Paras(c.Description)),
            new XElement(Command + "syntax", c.Syntax.Select(s => new XElement(Command + "syntaxItem",
                new XElement(Maml + "name", c.Name),
                s.Parameters.Select(p => Parameter(p.Parameter, p.Metadata, isSyntax: true))))),
            new XElement(Command + "parameters", c.Parameters.Select(p => Parameter(p, p.Metadata[0], isSyntax: false))),
            new XElement(Command + "inputTypes", c.Inputs.Select(t => new XElement(Command + "inputType",
                new XElement(Dev + "type", new XElement(Maml + "name", t.TypeName)),
                new XElement(Maml + "description", Paras(t.Description))))),
            new XElement(Command + "returnValues", c.Outputs.Select(t => new XElement(Command + "returnValue",
                new XElement(Dev + "type", new XElement(Maml + "name", t.TypeName)),
                new XElement(Maml + "description", Paras(t.Description))))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paras(c.Notes))),
            new XElement(Command + "examples", c.Examples.Select(e => new XElement(Command + "example",
                new XElement(Maml + "title", PadExampleTitle(e.Title)),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", Paras(e.Remarks))))),
            new XElement(Command + "relatedLinks", c.Links.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text),
                new XElement(Maml + "uri", l.Uri)))));
    }

    private static XElement Parameter(ParameterDoc p, ParameterMetadata m, bool isSyntax)
    {
        string type = m.Type is null ? string.Empty : m.IsSwitch ? "SwitchParameter" : m.Type;
        return new XElement(Command + "parameter",
            new XAttribute("required", m.Required),
            new XAttribute("variableLength", true),
            new XAttribute("globbing", m.Globbing),
            new XAttribute("pipelineInput", m.PipelineInput),
            new XAttribute("position", m.Position.ToLowerInvariant()),
            new XAttribute("aliases", m.Aliases.Count > 0 ? string.Join(", ", m.Aliases) : "none"),
            new XElement(Maml + "name", p.Name),
            new XElement(Maml + "description", Paras(p.Description)),
            isSyntax && m.AcceptedValues.Count > 0
                ? new XElement(Command + "parameterValueGroup", m.AcceptedValues.Select(v => new XElement(Command + "parameterValue",
                    new XAttribute("required", "false"), new XAttribute(Command + "variableLength", "false"), v)))
                : null,
            // In the syntax a switch shows as [-Name], without a value.
            !isSyntax || !m.IsSwitch
                ? new XElement(Command + "parameterValue", new XAttribute("required", !m.IsSwitch), new XAttribute("variableLength", false), type)
                : null,
            new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue",
                m.IsSwitch && (string.IsNullOrEmpty(m.DefaultValue) || m.DefaultValue == "None") ? "False" : m.DefaultValue ?? "None"));
    }

    private static IEnumerable<XElement> Paras(IEnumerable<string> paragraphs) =>
        paragraphs.Select(p => new XElement(Maml + "para", p));

    /// <summary>platyPS pads example titles with dashes to 64 characters: "---------- Example 1: ... ----------".</summary>
    public static string PadExampleTitle(string title)
    {
        if (string.IsNullOrWhiteSpace(title) || title.Length >= 62)
        {
            return title;
        }

        int pad = (64 - title.Length - 2) / 2;
        return new string('-', pad) + " " + title + " " + new string('-', pad);
    }

    /// <summary>As platyPS's RenderCleaner: non-breaking spaces become spaces.</summary>
    public static string Normalize(string text) => text.Replace('\u00a0', ' ');
}
