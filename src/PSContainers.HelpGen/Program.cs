using System.Text;

namespace PSContainers.HelpGen;

/// <summary>
/// dotnet PSContainers.HelpGen.dll &lt;docs dir&gt; &lt;output dir&gt;
///
/// What platyPS's `New-ExternalHelp -Path &lt;docs dir&gt; -OutputPath &lt;output dir&gt;` does, for the markdown of
/// this repository:
/// - every cmdlet file (not about_*.md, not the module page, whose front matter has "Module Guid") goes
///   into the MAML file its front matter names in "external help file" (PSContainers.dll-Help.xml);
/// - every about_*.md becomes about_*.help.txt.
/// A file that does not follow the platyPS schema is reported as "file(line): error PSCHELP: message"
/// (the form MSBuild turns into a build error) and the exit code is 1; nothing is written then.
/// Files are rewritten only when their content changes, and files the docs no longer produce are removed.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2 || !Directory.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: dotnet PSContainers.HelpGen.dll <docs dir, e.g. docs/en-US> <output dir, e.g. out/PSContainers/<version>/en-US>");
            return 2;
        }

        var errors = new List<HelpSchemaException>();
        Dictionary<string, string> outputs = Generate(Path.GetFullPath(args[0]), errors);
        if (errors.Count > 0)
        {
            foreach (var e in errors)
            {
                Console.Error.WriteLine(e.ToMSBuildError());
            }

            return 1;
        }

        string outDir = Path.GetFullPath(args[1]);
        Directory.CreateDirectory(outDir);
        foreach (var (name, content) in outputs)
        {
            string path = Path.Combine(outDir, name);
            if (!File.Exists(path) || File.ReadAllText(path) != content)
            {
                File.WriteAllText(path, content, new UTF8Encoding(false));
                Console.Out.WriteLine($"PSContainers.HelpGen: wrote {path}");
            }
        }

        foreach (string stale in Directory.EnumerateFiles(outDir).Where(f => f.EndsWith("-Help.xml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".help.txt", StringComparison.OrdinalIgnoreCase)))
        {
            if (!outputs.ContainsKey(Path.GetFileName(stale)))
            {
                File.Delete(stale);
            }
        }

        return 0;
    }

    /// <summary>Output file name → content, for every doc file in the folder; errors are collected, one per file.</summary>
    public static Dictionary<string, string> Generate(string docsDir, List<HelpSchemaException> errors)
    {
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        var byHelpFile = new SortedDictionary<string, List<CommandDoc>>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(docsDir, "*.md").Order(StringComparer.Ordinal))
        {
            try
            {
                MarkdownFile md = MarkdownFile.Read(file);
                string name = Path.GetFileNameWithoutExtension(file);
                if (name.StartsWith("about_", StringComparison.OrdinalIgnoreCase))
                {
                    // about_X.help.md and about_X.md both become about_X.help.txt.
                    string topic = name.EndsWith(".help", StringComparison.OrdinalIgnoreCase) ? name[..^".help".Length] : name;
                    outputs[topic + ".help.txt"] = AboutWriter.Render(md);
                    continue;
                }

                if (md.FrontMatter.ContainsKey("Module Guid"))
                {
                    continue; // the module page: platyPS leaves it out of the MAML too
                }

                if (!md.FrontMatter.TryGetValue("external help file", out var helpFile) || helpFile.Value.Length == 0)
                {
                    throw md.Error(1, "the front matter has no 'external help file: <Assembly>.dll-Help.xml', so Get-Help could not find this help");
                }

                if (helpFile.Value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || !helpFile.Value.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
                {
                    throw md.Error(helpFile.Line, $"'external help file' must be a file name ending in .xml, found '{helpFile.Value}'");
                }

                List<CommandDoc> commands = CommandDoc.Read(md);
                if (!byHelpFile.TryGetValue(helpFile.Value, out var list))
                {
                    byHelpFile[helpFile.Value] = list = [];
                }

                list.AddRange(commands);
            }
            catch (HelpSchemaException e)
            {
                errors.Add(e);
            }
        }

        foreach (var (helpFile, commands) in byHelpFile)
        {
            foreach (var duplicate in commands.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            {
                errors.Add(new HelpSchemaException(duplicate.Last().SourceFile, 1, $"the command '{duplicate.Key}' is documented twice (also in {duplicate.First().SourceFile})"));
            }

            outputs[helpFile] = MamlWriter.Render(commands);
        }

        return outputs;
    }
}
