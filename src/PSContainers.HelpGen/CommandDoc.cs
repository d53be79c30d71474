namespace PSContainers.HelpGen;

/// <summary>One yaml block of a parameter: its metadata in the parameter sets it names.</summary>
public sealed class ParameterMetadata
{
    public string? Type { get; set; }

    public List<string> Sets { get; } = [];

    public List<string> Aliases { get; } = [];

    public List<string> AcceptedValues { get; } = [];

    public bool Required { get; set; }

    public string Position { get; set; } = "Named";

    public string? DefaultValue { get; set; }

    public string PipelineInput { get; set; } = "False";

    public bool Globbing { get; set; }

    public bool IsSwitch =>
        string.Equals(Type, "SwitchParameter", StringComparison.OrdinalIgnoreCase) ||
        string.Equals(Type, "switch", StringComparison.OrdinalIgnoreCase);
}

public sealed class ParameterDoc(string name, int line)
{
    public string Name { get; } = name;

    public int Line { get; } = line;

    /// <summary>The description as MAML paragraphs (text paragraphs and the lines of non-yaml code blocks).</summary>
    public List<string> Description { get; } = [];

    /// <summary>One entry per yaml block; the first one is what the PARAMETERS section of the help shows.</summary>
    public List<ParameterMetadata> Metadata { get; } = [];
}

public sealed record TypeDoc(string TypeName, List<string> Description);

public sealed record ExampleDoc(string Title, string Code, List<string> Remarks);

public sealed record LinkDoc(string Text, string Uri);

public sealed record SyntaxDoc(string SetName, List<(ParameterDoc Parameter, ParameterMetadata Metadata)> Parameters);

/// <summary>
/// A cmdlet's help read from platyPS schema 2.0.0 markdown, with the grammar of platyPS v1's
/// ModelTransformerVersion2 (the order and kind of blocks each section may hold).
/// </summary>
public sealed class CommandDoc
{
    public const string AllSets = "(All)";

    private static readonly string[] KnownYamlKeys =
    [
        "Type", "Parameter Sets", "Aliases", "Accepted values", "Required", "Position", "Default value",
        "Accept pipeline input", "Accept wildcard characters", "Applicable",
    ];

    public required string Name { get; init; }

    public required string SourceFile { get; init; }

    public List<string> Synopsis { get; } = [];

    public List<string> Description { get; } = [];

    /// <summary>The parameter sets named by the '### set' headings of SYNTAX, in their order.</summary>
    public List<(string Name, int Line)> SyntaxSets { get; } = [];

    public List<SyntaxDoc> Syntax { get; } = [];

    public List<ParameterDoc> Parameters { get; } = [];

    public List<TypeDoc> Inputs { get; } = [];

    public List<TypeDoc> Outputs { get; } = [];

    public List<string> Notes { get; } = [];

    public List<ExampleDoc> Examples { get; } = [];

    public List<LinkDoc> Links { get; } = [];

    /// <summary>Reads every command ('# Name' heading) of a cmdlet doc file.</summary>
    public static List<CommandDoc> Read(MarkdownFile md)
    {
        if (md.FrontMatter.TryGetValue("schema", out var schema) && schema.Value.Length > 0 && schema.Value != "2.0.0")
        {
            throw md.Error(schema.Line, $"schema '{schema.Value}' is not supported: only platyPS schema 2.0.0 is");
        }

        var reader = new Reader(md);
        var commands = new List<CommandDoc>();
        while (reader.Peek() is { } block)
        {
            if (block.Kind != BlockKind.Heading || block.Level != 1)
            {
                throw md.Error(block.Line, $"expected the command name as a '# Verb-Noun' heading, found {block.Describe()}");
            }

            reader.Next();
            var command = new CommandDoc { Name = block.Text, SourceFile = md.Path };
            command.ReadSections(reader);
            command.GatherSyntax(md);

            // As platyPS: the front matter's "online version" becomes the first related link (Get-Help -Online).
            if (md.FrontMatter.TryGetValue("online version", out var online) && online.Value.Length > 0 &&
                (command.Links.Count == 0 || command.Links[0].Uri != online.Value))
            {
                command.Links.Insert(0, new LinkDoc("Online Version:", online.Value));
            }

            commands.Add(command);
        }

        if (commands.Count == 0)
        {
            throw md.Error(1, "no '# Verb-Noun' heading: this is not a cmdlet help file");
        }

        return commands;
    }

    private void ReadSections(Reader r)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (r.Peek() is { } block && !(block.Kind == BlockKind.Heading && block.Level == 1))
        {
            if (block.Kind != BlockKind.Heading || block.Level != 2)
            {
                throw r.Md.Error(block.Line, $"expected a '## SECTION' heading, found {block.Describe()}");
            }

            r.Next();
            string section = block.Text.ToUpperInvariant();
            if (!seen.Add(section))
            {
                throw r.Md.Error(block.Line, $"the section '## {block.Text}' appears twice");
            }

            switch (section)
            {
                case "SYNOPSIS":
                    Synopsis.AddRange(r.TextOnly(block.Text));
                    break;
                case "DESCRIPTION":
                    Description.AddRange(r.TextOrCode(excludeLanguage: null));
                    break;
                case "NOTES":
                    Notes.AddRange(r.TextOrCode(excludeLanguage: null));
                    break;
                case "SYNTAX":
                    ReadSyntax(r);
                    break;
                case "EXAMPLES":
                    ReadExamples(r);
                    break;
                case "PARAMETERS":
                    ReadParameters(r);
                    break;
                case "INPUTS":
                    ReadTypes(r, Inputs);
                    break;
                case "OUTPUTS":
                    ReadTypes(r, Outputs);
                    break;
                case "RELATED LINKS":
                    ReadLinks(r);
                    break;
                default:
                    throw r.Md.Error(block.Line, $"unexpected section '## {block.Text}': a platyPS cmdlet file has SYNOPSIS, SYNTAX, DESCRIPTION, EXAMPLES, PARAMETERS, INPUTS, OUTPUTS, NOTES and RELATED LINKS");
            }
        }

        foreach (string required in new[] { "SYNOPSIS", "SYNTAX" })
        {
            if (!seen.Contains(required))
            {
                throw r.Md.Error(1, $"the command '{Name}' has no '## {required}' section");
            }
        }
    }

    private void ReadSyntax(Reader r)
    {
        // ### Set name [(Default)]  then the syntax as a code block (which platyPS does not read either).
        while (r.SubHeading() is { } heading)
        {
            string set = heading.Text.EndsWith(" (Default)", StringComparison.Ordinal) ? heading.Text[..^" (Default)".Length] : heading.Text;
            SyntaxSets.Add((set, heading.Line));
            if (r.Peek() is not { Kind: BlockKind.Code })
            {
                throw r.Md.Error(heading.Line, $"the parameter set '{heading.Text}' needs its syntax as a code block below the heading");
            }

            r.Next();
        }

        if (r.Peek() is { Kind: BlockKind.Code } code)
        {
            throw r.Md.Error(code.Line, "each syntax code block needs a '### <parameter set name>' heading above it");
        }
    }

    private void ReadExamples(Reader r)
    {
        // ### Title, then (as platyPS) optional introduction text, the code blocks and the remarks text.
        // platyPS v1 stops there; here the remarks may go on with more code blocks and text, which
        // become remark paragraphs in their order (the code lines as they are).
        while (r.SubHeading() is { } heading)
        {
            var intro = r.Peek() is { Kind: BlockKind.Text } ? HelpText.Paragraphs(r.Next().Lines) : [];
            var code = new List<string>();
            while (r.Peek() is { Kind: BlockKind.Code } block)
            {
                code.Add(r.Next().Text);
            }

            if (code.Count == 0)
            {
                throw r.Md.Error(heading.Line, $"the example '{heading.Text}' has no code block");
            }

            var remarks = r.TextOrCode(excludeLanguage: null);

            // platyPS drops the introduction; it is kept here, before the remarks.
            Examples.Add(new ExampleDoc(heading.Text, string.Join("\n\n", code), [.. intro, .. remarks]));
        }
    }

    private void ReadParameters(Reader r)
    {
        while (r.SubHeading() is { } heading)
        {
            string name = heading.Text.StartsWith('-') ? heading.Text[1..] : heading.Text;
            var parameter = new ParameterDoc(name, heading.Line);

            // Description: text and code blocks that are not yaml, as platyPS joins them.
            parameter.Description.AddRange(r.TextOrCode(excludeLanguage: "yaml"));

            if (name.Equals("CommonParameters", StringComparison.OrdinalIgnoreCase) || name.Equals("WorkflowParameters", StringComparison.OrdinalIgnoreCase))
            {
                continue; // PowerShell adds these itself
            }

            while (r.Peek() is { Kind: BlockKind.Code } yaml)
            {
                r.Next();
                parameter.Metadata.Add(ReadYaml(r.Md, yaml, name));
            }

            if (parameter.Metadata.Count == 0)
            {
                throw r.Md.Error(heading.Line, $"the parameter '-{name}' has no ```yaml block (Type, Parameter Sets, Aliases, Required, Position, Default value, Accept pipeline input, Accept wildcard characters)");
            }

            if (r.Peek() is { Kind: BlockKind.Text } after)
            {
                throw r.Md.Error(after.Line, $"text after the yaml block of '-{name}': the description goes above the yaml block");
            }

            if (Parameters.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                throw r.Md.Error(heading.Line, $"the parameter '-{name}' is described twice");
            }

            Parameters.Add(parameter);
        }
    }

    private static ParameterMetadata ReadYaml(MarkdownFile md, Block yaml, string parameter)
    {
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < yaml.Lines.Count; i++)
        {
            string line = yaml.Lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            int lineNo = yaml.Line + 1 + i;
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                throw md.Error(lineNo, $"yaml of '-{parameter}': expected 'Key: value', found '{line}'");
            }

            string key = line[..colon].Trim();
            if (!KnownYamlKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                throw md.Error(lineNo, $"yaml of '-{parameter}': unknown key '{key}' (known: {string.Join(", ", KnownYamlKeys)})");
            }

            string value = line[(colon + 1)..].Trim();
            if (value.Length > 0)
            {
                pairs[key] = value; // as platyPS: an empty value counts as absent
            }

            if (key.Equals("Required", StringComparison.OrdinalIgnoreCase) || key.Equals("Accept wildcard characters", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Length > 0 && !bool.TryParse(value, out _))
                {
                    throw md.Error(lineNo, $"yaml of '-{parameter}': {key} must be True or False, found '{value}'");
                }
            }

            if (key.Equals("Position", StringComparison.OrdinalIgnoreCase) && value.Length > 0 &&
                !value.Equals("Named", StringComparison.OrdinalIgnoreCase) && !int.TryParse(value, out _))
            {
                throw md.Error(lineNo, $"yaml of '-{parameter}': Position must be a number or Named, found '{value}'");
            }
        }

        var m = new ParameterMetadata();
        m.Type = pairs.GetValueOrDefault("Type");
        m.Sets.AddRange(pairs.TryGetValue("Parameter Sets", out var sets) ? Split(sets) : [AllSets]);
        m.Aliases.AddRange(pairs.TryGetValue("Aliases", out var aliases) ? Split(aliases) : []);
        m.AcceptedValues.AddRange(pairs.TryGetValue("Accepted values", out var accepted) ? Split(accepted) : []);
        m.Required = pairs.TryGetValue("Required", out var req) && req.Equals("true", StringComparison.OrdinalIgnoreCase);
        m.Position = pairs.GetValueOrDefault("Position") ?? "Named";
        m.DefaultValue = pairs.GetValueOrDefault("Default value");
        m.PipelineInput = pairs.GetValueOrDefault("Accept pipeline input") ?? "False";
        m.Globbing = pairs.TryGetValue("Accept wildcard characters", out var glob) && glob.Equals("true", StringComparison.OrdinalIgnoreCase);
        return m;
    }

    private static IEnumerable<string> Split(string value) => value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0);

    private static void ReadTypes(Reader r, List<TypeDoc> into)
    {
        while (r.SubHeading() is { } heading)
        {
            into.Add(new TypeDoc(heading.Text, r.TextOrCode(excludeLanguage: null)));
        }
    }

    private void ReadLinks(Reader r)
    {
        if (r.Peek() is not { Kind: BlockKind.Text } block)
        {
            return;
        }

        r.Next();
        for (int i = 0; i < block.Lines.Count; i++)
        {
            string rest = block.Lines[i].Trim();
            while (rest.Length > 0)
            {
                var m = System.Text.RegularExpressions.Regex.Match(rest, @"^\[([^\]]+)\]\(([^)\s]*)\)\s*");
                if (!m.Success)
                {
                    throw r.Md.Error(block.Line + i, $"RELATED LINKS holds only [text](uri) links, found '{rest}'");
                }

                // As platyPS: a uri that is not absolute (another markdown file) keeps only the link text.
                string uri = Uri.TryCreate(m.Groups[2].Value, UriKind.Absolute, out _) ? m.Groups[2].Value : string.Empty;
                Links.Add(new LinkDoc(m.Groups[1].Value, uri));
                rest = rest[m.Length..];
            }
        }
    }

    /// <summary>
    /// One syntax item per parameter set, in the order of the SYNTAX headings, holding the parameters
    /// whose yaml names the set or "(All)", ordered by position as platyPS orders them. Every set a
    /// parameter names must have its heading, and every heading a parameter (unless there is one set).
    /// </summary>
    private void GatherSyntax(MarkdownFile md)
    {
        var named = Parameters.SelectMany(p => p.Metadata.SelectMany(m => m.Sets.Select(s => (Set: s, Parameter: p))))
            .Where(x => x.Set != AllSets).ToList();
        foreach (var (set, parameter) in named)
        {
            if (!SyntaxSets.Any(s => s.Name.Equals(set, StringComparison.OrdinalIgnoreCase)))
            {
                throw md.Error(parameter.Line, $"the parameter '-{parameter.Name}' is in the parameter set '{set}', which has no '### {set}' heading in SYNTAX");
            }
        }

        foreach (var (setName, line) in SyntaxSets)
        {
            bool onlySet = named.Count == 0 && SyntaxSets.Count == 1;
            if (!onlySet && !named.Any(x => x.Set.Equals(setName, StringComparison.OrdinalIgnoreCase)))
            {
                throw md.Error(line, $"no parameter names the parameter set '{setName}' in its yaml 'Parameter Sets'");
            }

            var items = new List<(ParameterDoc, ParameterMetadata)>();
            foreach (var p in Parameters)
            {
                var m = p.Metadata.FirstOrDefault(x => x.Sets.Any(s => s.Equals(setName, StringComparison.OrdinalIgnoreCase)))
                    ?? p.Metadata.FirstOrDefault(x => x.Sets.Contains(AllSets));
                if (m is not null)
                {
                    items.Add((p, m));
                }
            }

            Syntax.Add(new SyntaxDoc(setName, [.. items.OrderBy(x => int.TryParse(x.Item2.Position, out int n) ? n : int.MaxValue)]));
        }
    }

    /// <summary>A cursor over the blocks of a file.</summary>
    private sealed class Reader(MarkdownFile md)
    {
        private int _index;

        public MarkdownFile Md { get; } = md;

        public Block? Peek() => _index < Md.Blocks.Count ? Md.Blocks[_index] : null;

        public Block Next() => Md.Blocks[_index++];

        /// <summary>The next '###' heading of the current section, or null at the next '##' or '#'.</summary>
        public Block? SubHeading()
        {
            Block? b = Peek();
            if (b is null || (b.Kind == BlockKind.Heading && b.Level < 3))
            {
                return null;
            }

            if (b.Kind != BlockKind.Heading || b.Level != 3)
            {
                throw Md.Error(b.Line, $"expected a '### ' heading, found {b.Describe()}");
            }

            return Next();
        }

        /// <summary>
        /// Text and code blocks up to the next heading, as platyPS reads a parameter's description
        /// (ParagraphOrCodeBlockNodeRule): one paragraph per text paragraph and per code block (platyPS
        /// splits a code block into one paragraph per line, between empty paragraphs; Get-Help then shows
        /// the code double-spaced). platyPS v1 allows code only there; here DESCRIPTION, NOTES, INPUTS,
        /// OUTPUTS and example remarks may hold code blocks too. Stops before a code block in
        /// <paramref name="excludeLanguage"/>.
        /// </summary>
        public List<string> TextOrCode(string? excludeLanguage)
        {
            var result = new List<string>();
            while (Peek() is { } b && (b.Kind == BlockKind.Text ||
                (b.Kind == BlockKind.Code && !string.Equals(b.Language, excludeLanguage, StringComparison.OrdinalIgnoreCase))))
            {
                Next();
                result.AddRange(b.Kind == BlockKind.Text ? HelpText.Paragraphs(b.Lines) : [b.Text]);
            }

            return result;
        }

        /// <summary>A section that holds text only (platyPS v1 rejects code blocks in it).</summary>
        public List<string> TextOnly(string section)
        {
            var result = Peek() is { Kind: BlockKind.Text } ? HelpText.Paragraphs(Next().Lines) : [];
            if (Peek() is { } b && !(b.Kind == BlockKind.Heading && b.Level <= 3))
            {
                throw Md.Error(b.Line, $"unexpected {b.Describe()} in '{section}': platyPS allows only text here");
            }

            return result;
        }
    }
}
