using System.Diagnostics;
using System.Xml.Linq;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>The generated MAML file, and src/PSContainers.HelpGen run by hand on good and malformed docs.</summary>
public sealed class HelpGenTests
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static string HelpXml => Path.Combine(Repo.ModuleDir, "en-US", "PSContainers.dll-Help.xml");

    [Fact]
    public void TheMamlHasOneCommandPerCmdletDoc_InTheStructureGetHelpReads()
    {
        XDocument xml = XDocument.Load(HelpXml);
        XElement root = xml.Root!;
        Assert.Equal(Msh + "helpItems", root.Name);
        Assert.Equal("maml", (string?)root.Attribute("schema"));
        Assert.All(root.Elements(), e => Assert.Equal(Command + "command", e.Name));

        var expected = MarkdownDoc.CmdletDocFiles().Select(f => MarkdownDoc.Load(Path.GetFileName(f)).Name).Order(StringComparer.Ordinal).ToList();
        var names = root.Elements(Command + "command").Select(c => (string)c.Element(Command + "details")!.Element(Command + "name")!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, names);

        foreach (XElement c in root.Elements(Command + "command"))
        {
            string name = (string)c.Element(Command + "details")!.Element(Command + "name")!;
            XElement details = c.Element(Command + "details")!;
            Assert.Equal(name.Split('-')[0], (string?)details.Element(Command + "verb"));
            Assert.Equal(name.Split('-', 2)[1], (string?)details.Element(Command + "noun"));
            Assert.NotEmpty(details.Element(Maml + "description")!.Elements(Maml + "para"));

            // The children platyPS writes, in its order.
            Assert.Equal(
                [Command + "details", Maml + "description", Command + "syntax", Command + "parameters", Command + "inputTypes",
                 Command + "returnValues", Maml + "alertSet", Command + "examples", Command + "relatedLinks"],
                c.Elements().Select(e => e.Name));
            Assert.NotEmpty(c.Element(Command + "syntax")!.Elements(Command + "syntaxItem"));
            foreach (XElement item in c.Element(Command + "syntax")!.Elements(Command + "syntaxItem"))
            {
                Assert.Equal(name, (string?)item.Element(Maml + "name"));
            }

            foreach (XElement p in c.Descendants(Command + "parameter"))
            {
                Assert.Contains((string?)p.Attribute("required"), new[] { "true", "false" });
                Assert.Contains((string?)p.Attribute("globbing"), new[] { "true", "false" });
                Assert.NotNull(p.Attribute("pipelineInput"));
                Assert.Matches("^([0-9]+|named)$", (string?)p.Attribute("position"));
                Assert.NotNull(p.Attribute("aliases"));
                Assert.NotNull(p.Element(Maml + "name"));
                Assert.NotNull(p.Element(Dev + "type")?.Element(Maml + "name"));
                Assert.NotNull(p.Element(Dev + "defaultValue"));
            }

            foreach (XElement e in c.Element(Command + "examples")!.Elements(Command + "example"))
            {
                Assert.NotNull(e.Element(Maml + "title"));
                Assert.False(string.IsNullOrWhiteSpace((string?)e.Element(Dev + "code")));
                Assert.NotNull(e.Element(Dev + "remarks"));
            }
        }
    }

    [Fact]
    public void AGoodDoc_BecomesMaml_AsPlatyPSWritesIt()
    {
        using var dir = new TempDir();
        dir.Write("docs/Get-Thing.md", GoodDoc.Replace("online version:", "online version: https://example.org/online"));
        dir.Write("docs/about_Thing.md", "# about_Thing\n\n## SHORT DESCRIPTION\nThings.\n\n## LONG DESCRIPTION\nSee [Get-Thing](Get-Thing.md).\n");
        dir.Write("docs/Thing.md", "---\nModule Name: Thing\nModule Guid: 00000000-0000-0000-0000-000000000001\n---\n\n# Thing Module\n## Description\nx\n");
        var (code, _, stderr) = RunGenerator(Path.Combine(dir.Path, "docs"), Path.Combine(dir.Path, "out"));
        Assert.True(code == 0, stderr);
        Assert.Equal(["Thing.dll-Help.xml", "about_Thing.help.txt"], Directory.GetFiles(Path.Combine(dir.Path, "out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        XElement c = Assert.Single(XDocument.Load(Path.Combine(dir.Path, "out", "Thing.dll-Help.xml")).Root!.Elements());
        Assert.Equal(["Gets a thing."], c.Element(Command + "details")!.Element(Maml + "description")!.Elements().Select(e => e.Value));
        Assert.Equal(
            ["First paragraph, wrapped in the markdown.", "- one item, wrapped too", "- two", "Second link (https://example.org/x) and `code`."],
            c.Element(Maml + "description")!.Elements().Select(e => e.Value));

        // Two parameter sets, in the order of SYNTAX; (All) parameters in both; position order; no value for switches.
        var items = c.Element(Command + "syntax")!.Elements().ToList();
        Assert.Equal(2, items.Count);
        Assert.Equal(["Name", "Force"], items[0].Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value));
        Assert.Equal(["Id", "Force"], items[1].Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value));
        Assert.Null(items[0].Elements(Command + "parameter").Last().Element(Command + "parameterValue"));

        XElement name = c.Element(Command + "parameters")!.Elements().First();
        Assert.Equal("true", (string?)name.Attribute("required"));
        Assert.Equal("0", (string?)name.Attribute("position"));
        Assert.Equal("True (ByValue)", (string?)name.Attribute("pipelineInput"));
        Assert.Equal("true", (string?)name.Attribute("globbing"));
        Assert.Equal("N", (string?)name.Attribute("aliases"));
        Assert.Equal("String", name.Element(Command + "parameterValue")!.Value);
        Assert.Equal("None", name.Element(Dev + "defaultValue")!.Value);
        XElement force = c.Element(Command + "parameters")!.Elements().Last();
        Assert.Equal("named", (string?)force.Attribute("position"));
        Assert.Equal("none", (string?)force.Attribute("aliases"));
        Assert.Equal("False", force.Element(Dev + "defaultValue")!.Value);
        Assert.Equal("SwitchParameter", force.Element(Dev + "type")!.Element(Maml + "name")!.Value);

        XElement example = Assert.Single(c.Element(Command + "examples")!.Elements());
        Assert.Equal("---------------------- Example 1: Get one ----------------------", example.Element(Maml + "title")!.Value);
        Assert.Equal("PS> Get-Thing a\nthing a", example.Element(Dev + "code")!.Value.Replace("\r\n", "\n"));
        Assert.Equal(["Gets the thing a.", "PS> Get-Thing b\nthing b", "And b."], example.Element(Dev + "remarks")!.Elements().Select(e => e.Value.Replace("\r\n", "\n")));

        Assert.Equal(["Type.In"], c.Element(Command + "inputTypes")!.Descendants(Maml + "name").Select(e => e.Value));
        Assert.Equal(["A note."], c.Element(Maml + "alertSet")!.Element(Maml + "alert")!.Elements().Select(e => e.Value));
        Assert.Equal(
            [("Online Version:", "https://example.org/online"), ("Get-Other", ""), ("Online", "https://example.org/thing")],
            c.Element(Command + "relatedLinks")!.Elements().Select(l => (l.Element(Maml + "linkText")!.Value, l.Element(Maml + "uri")!.Value)));

        string about = File.ReadAllText(Path.Combine(dir.Path, "out", "about_Thing.help.txt"));
        Assert.Equal("TOPIC\n    about_Thing\n\nSHORT DESCRIPTION\n    Things.\n\nLONG DESCRIPTION\n    See Get-Thing.\n", about);
    }

    public static TheoryData<string, string, int, string> MalformedDocs() => new()
    {
        { "unknown yaml key", GoodDoc.Replace("Accept wildcard characters: True", "Wildcards: True"), 66, "unknown key 'Wildcards'" },
        { "code in the synopsis", GoodDoc.Replace("Gets a thing.\n", "Gets a thing.\n```\nx\n```\n"), 12, "platyPS allows only text here" },
        { "unclosed fence", GoodDoc.Replace("Accept wildcard characters: False\n```\n\n### CommonParameters", "Accept wildcard characters: False\n\n### CommonParameters"), 87, "not closed" },
        { "set without a SYNTAX heading", GoodDoc.Replace("Parameter Sets: ById", "Parameter Sets: ByKey"), 69, "'ByKey', which has no '### ByKey' heading in SYNTAX" },
        { "text in RELATED LINKS", GoodDoc.Replace("[Get-Other](Get-Other.md)", "see Get-Other"), 117, "only [text](uri) links" },
        { "unknown section", GoodDoc.Replace("## NOTES", "## REMARKS"), 112, "unexpected section '## REMARKS'" },
        { "bad Required", GoodDoc.Replace("Required: True", "Required: yes"), 62, "Required must be True or False" },
        { "no external help file", GoodDoc.Replace("external help file: Thing.dll-Help.xml\n", string.Empty), 1, "external help file" },
    };

    [Theory]
    [MemberData(nameof(MalformedDocs))]
    public void AMalformedDoc_FailsWithItsFileAndLine(string what, string content, int line, string message)
    {
        using var dir = new TempDir();
        string file = dir.Write("docs/Get-Thing.md", content);
        var (code, stdout, stderr) = RunGenerator(Path.Combine(dir.Path, "docs"), Path.Combine(dir.Path, "out"));
        Assert.True(code == 1, $"{what}: exit code {code}\n{stdout}\n{stderr}");
        Assert.Contains($"{file}({line}): error PSCHELP: ", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")), "nothing is written when a doc is malformed");
    }

    /// <summary>A platyPS cmdlet doc with two parameter sets, a wrapped list, code in the remarks and links.</summary>
    private const string GoodDoc = """
        ---
        external help file: Thing.dll-Help.xml
        Module Name: Thing
        online version:
        schema: 2.0.0
        ---

        # Get-Thing

        ## SYNOPSIS
        Gets a thing.

        ## SYNTAX

        ### ByName (Default)
        ```
        Get-Thing [-Name] <String> [-Force]
        ```

        ### ById
        ```
        Get-Thing -Id <Int32> [-Force]
        ```

        ## DESCRIPTION
        First paragraph,
        wrapped in the markdown.

        - one item,
          wrapped too
        - two

        Second [link](https://example.org/x) and `code`.

        ## EXAMPLES

        ### Example 1: Get one
        ```powershell
        PS> Get-Thing a
        thing a
        ```

        Gets the thing a.

        ```powershell
        PS> Get-Thing b
        thing b
        ```

        And b.

        ## PARAMETERS

        ### -Name
        The name.

        ```yaml
        Type: String
        Parameter Sets: ByName
        Aliases: N

        Required: True
        Position: 0
        Default value: None
        Accept pipeline input: True (ByValue)
        Accept wildcard characters: True
        ```

        ### -Id
        The id.

        ```yaml
        Type: Int32
        Parameter Sets: ById
        Aliases:

        Required: True
        Position: Named
        Default value: None
        Accept pipeline input: False
        Accept wildcard characters: False
        ```

        ### -Force
        Forces.

        ```yaml
        Type: SwitchParameter
        Parameter Sets: (All)
        Aliases:

        Required: False
        Position: Named
        Default value: None
        Accept pipeline input: False
        Accept wildcard characters: False
        ```

        ### CommonParameters
        This cmdlet supports the common parameters.

        ## INPUTS

        ### Type.In
        In.

        ## OUTPUTS

        ### Type.Out
        Out.

        ## NOTES
        A note.

        ## RELATED LINKS

        [Get-Other](Get-Other.md)

        [Online](https://example.org/thing)

        """;

    /// <summary>Runs the built generator as the build does: dotnet PSContainers.HelpGen.dll docs out.</summary>
    private static (int Code, string StdOut, string StdErr) RunGenerator(string docs, string output)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(GeneratorDll());
        psi.ArgumentList.Add(docs);
        psi.ArgumentList.Add(output);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the help generator did not finish within 60 s");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>src/PSContainers.HelpGen/bin/&lt;this test's configuration&gt;/net10.0/PSContainers.HelpGen.dll.</summary>
    private static string GeneratorDll()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        string dll = Path.Combine(Repo.Root, "src", "PSContainers.HelpGen", "bin", configuration, "net10.0", "PSContainers.HelpGen.dll");
        Assert.True(File.Exists(dll), $"the help generator was not built: {dll} is missing");
        return dll;
    }
}
