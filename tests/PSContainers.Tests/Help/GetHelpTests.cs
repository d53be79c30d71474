using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>
/// The help the build generates from docs/en-US, read back through Get-Help in real pwsh (one pwsh 7.6.10 that
/// imported the built module, <see cref="HelpRunspace"/>), against what each markdown file says.
/// </summary>
public sealed class GetHelpTests(HelpRunspace shell) : IClassFixture<HelpRunspace>
{
    public static TheoryData<string> CmdletDocs() => MarkdownDoc.CmdletDocs();

    [Fact]
    public void EveryCmdletDocIsFound()
    {
        Assert.Contains("New-CGroup.md", MarkdownDoc.CmdletDocFiles().Select(Path.GetFileName));
        Assert.DoesNotContain("PSContainers.md", MarkdownDoc.CmdletDocFiles().Select(Path.GetFileName));
        Assert.DoesNotContain("about_PSContainers.help.md", MarkdownDoc.CmdletDocFiles().Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(CmdletDocs))]
    public void GetHelpFull_HasTheSynopsisAndEveryParameterOfTheMarkdown(string file)
    {
        MarkdownDoc md = MarkdownDoc.Load(file);
        var help = shell.Strings($"Get-Help -Name {md.Name} -Full | ForEach-Object {{ $_.Name; $_.Category; $_.Synopsis; $_.ModuleName }}");
        Assert.Equal([md.Name, "Cmdlet", md.Synopsis, "PSContainers"], help);

        // name|required|position|pipelineInput of every parameter in the help.
        var actual = shell.Strings(
            $"(Get-Help -Name {md.Name} -Full).parameters.parameter | ForEach-Object {{ '{{0}}|{{1}}|{{2}}|{{3}}' -f $_.name, $_.required, $_.position, $_.pipelineInput }}");
        var expected = md.Parameters.Select(p => $"{p.Name}|{p.Required}|{p.Position}|{p.PipelineInput}").ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, actual);

        // Every parameter set of the markdown is a syntax item, and every parameter appears in one.
        var syntaxParameters = shell.Strings($"(Get-Help -Name {md.Name} -Full).syntax.syntaxItem | ForEach-Object {{ $_.parameter }} | ForEach-Object {{ $_.name }}");
        Assert.All(md.Parameters, p => Assert.Contains(p.Name, syntaxParameters));

        // Each parameter has its description (not the "None" of help without MAML).
        var described = shell.Strings($"(Get-Help -Name {md.Name} -Full).parameters.parameter | ForEach-Object {{ ($_.description | ForEach-Object Text) -join ' ' }}");
        Assert.All(described, d => Assert.False(string.IsNullOrWhiteSpace(d)));
    }

    [Theory]
    [MemberData(nameof(CmdletDocs))]
    public void GetHelpExamples_HasEveryExampleWithItsCode(string file)
    {
        MarkdownDoc md = MarkdownDoc.Load(file);
        Assert.NotEmpty(md.Examples);
        var titles = shell.Strings($"(Get-Help -Name {md.Name} -Examples).examples.example | ForEach-Object {{ $_.title }}");
        var codes = shell.Strings($"(Get-Help -Name {md.Name} -Examples).examples.example | ForEach-Object {{ $_.code }}");
        var remarks = shell.Strings($"(Get-Help -Name {md.Name} -Examples).examples.example | ForEach-Object {{ ($_.remarks | ForEach-Object Text) -join \"`n\" }}");
        Assert.Equal(md.Examples.Count, titles.Count);
        Assert.Equal(md.Examples.Count, codes.Count);

        for (int i = 0; i < md.Examples.Count; i++)
        {
            MarkdownDoc.Example example = md.Examples[i];
            Assert.Contains(example.Title, titles[i], StringComparison.Ordinal);
            Assert.NotEmpty(example.CodeBlocks);

            // The code is the first code block (and those right after it); later blocks, after text, are in the remarks.
            string code = codes[i].Replace("\r\n", "\n");
            Assert.StartsWith(example.CodeBlocks[0], code, StringComparison.Ordinal);
            foreach (string block in example.CodeBlocks)
            {
                Assert.True(
                    code.Contains(block, StringComparison.Ordinal) || remarks[i].Replace("\r\n", "\n").Contains(block, StringComparison.Ordinal),
                    $"{file}, {example.Title}: code block not in the help:\n{block}");
            }
        }
    }

    [Fact]
    public void GetHelpParameter_GivesThatParameter()
    {
        const string Fields = " | ForEach-Object { $_.name; $_.required; $_.position; $_.pipelineInput }";
        Assert.Equal(["MemoryLimit", "false", "named", "False"], shell.Strings("Get-Help -Name New-CGroup -Parameter MemoryLimit" + Fields));
        var text = shell.Strings("(Get-Help -Name New-CGroup -Parameter MemoryLimit).description | ForEach-Object Text");
        Assert.Contains(text, t => t.StartsWith("Specifies the memory limit in bytes.", StringComparison.Ordinal));

        Assert.Equal(["Path", "true", "0", "True (ByPropertyName, ByValue)"], shell.Strings("Get-Help -Name New-CGroup -Parameter Path" + Fields));
    }

    [Fact]
    public void GetHelpDetailed_HasDescriptionParametersAndExamples()
    {
        var description = shell.Strings("(Get-Help -Name New-CGroup -Detailed).description | ForEach-Object Text");
        Assert.StartsWith("The `New-CGroup` cmdlet creates a cgroup in every cgroup hierarchy", description[0], StringComparison.Ordinal);

        // A wrapped markdown list item stays one paragraph.
        Assert.Contains(description, d => d.StartsWith("- On cgroup v1, a new cpuset cgroup starts with no CPUs", StringComparison.Ordinal) && d.TrimEnd().EndsWith("from the parent.", StringComparison.Ordinal));
        Assert.Equal(
            ["Path", "PassThru", "MemoryLimit", "MemorySwapLimit", "CpuLimit", "CpuWeight", "CpuSet", "PidsLimit", "WhatIf", "Confirm"],
            shell.Strings("(Get-Help -Name New-CGroup -Detailed).parameters.parameter | ForEach-Object name"));
        Assert.NotEmpty(shell.Strings("(Get-Help -Name New-CGroup -Detailed).examples.example | ForEach-Object title"));
    }

    [Fact]
    public void GetHelpFull_HasInputsOutputsNotesAndLinks()
    {
        var inputs = shell.Strings("(Get-Help -Name New-CGroup -Full).inputTypes.inputType | ForEach-Object { $_.type.name }");
        Assert.Equal(["System.String"], inputs);
        var outputs = shell.Strings("(Get-Help -Name New-CGroup -Full).returnValues.returnValue | ForEach-Object { $_.type.name }");
        Assert.Equal(["None", "PSContainers.CGroups.CGroup"], outputs);
        var notes = shell.Strings("(Get-Help -Name New-CGroup -Full).alertSet.alert | ForEach-Object Text");
        Assert.Contains(notes, n => n.StartsWith("Creating cgroups needs root or `CAP_SYS_ADMIN`", StringComparison.Ordinal));
        var links = shell.Strings("(Get-Help -Name New-CGroup -Full).relatedLinks.navigationLink | ForEach-Object linkText");
        Assert.Equal(["Get-CGroup", "Set-CGroupLimit", "Move-Process", "Remove-CGroup", "about_PSContainers"], links);
    }

    [Fact]
    public void GetHelpAbout_ReturnsTheAboutTopicText()
    {
        string text = string.Join("\n", shell.Strings("Get-Help -Name about_PSContainers"));
        Assert.StartsWith("TOPIC\n    about_PSContainers\n\nSHORT DESCRIPTION\n    Explains how PSContainers runs containers", text.Replace("\r\n", "\n"), StringComparison.Ordinal);

        // Every heading and the text of the markdown is there, without front matter or markdown syntax.
        string md = File.ReadAllText(Path.Combine(MarkdownDoc.DocsDir, "about_PSContainers.help.md"));
        foreach (string heading in md.Split('\n').Where(l => l.StartsWith("## ", StringComparison.Ordinal)))
        {
            Assert.Contains("\n" + heading[3..].Trim() + "\n", text, StringComparison.Ordinal);
        }

        foreach (string heading in md.Split('\n').Where(l => l.StartsWith("### ", StringComparison.Ordinal)))
        {
            Assert.Contains("\n    " + heading[4..].Trim().ToUpperInvariant() + "\n", text, StringComparison.Ordinal);
        }

        Assert.Contains(MarkdownDoc.Squash("PSContainers is a PowerShell 7 module for Linux. Its cmdlets turn containers and control groups into pipeline objects."), MarkdownDoc.Squash(text), StringComparison.Ordinal);
        Assert.DoesNotContain("](", text, StringComparison.Ordinal);
        Assert.DoesNotContain("```", text, StringComparison.Ordinal);

        // Text is wrapped at 80 columns, indented by four spaces.
        string[] shortDescription = text.Split("\n\n")[1].Split('\n')[1..];
        Assert.True(shortDescription.Length > 1);
        Assert.All(shortDescription, l => Assert.True(l.Length <= 80 && l.StartsWith("    ", StringComparison.Ordinal), l));
    }

    [Fact]
    public void ThroughTheShell_GetHelpFullRendersSynopsisParametersAndExamples()
    {
        MarkdownDoc md = MarkdownDoc.Load("New-CGroup.md");
        ShellResult r = Pwsh.Run(["-NoProfile", "-Command", "Get-Help New-CGroup -Full"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(string.Empty, r.StdErr);

        // The shell wraps long lines at its width, inside words: compare without line breaks.
        string flat = string.Concat(r.StdOut.Split('\n').Select(l => l.TrimStart()));
        Assert.Contains("SYNOPSIS", r.StdOut, StringComparison.Ordinal);
        Assert.Contains(md.Synopsis.Replace(" ", string.Empty), flat.Replace(" ", string.Empty), StringComparison.Ordinal);
        Assert.Contains("\nPARAMETERS\n", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("-MemoryLimit <Int64>", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("Required?                    true", r.StdOut, StringComparison.Ordinal);
        Assert.Contains(md.Examples[0].Title, r.StdOut, StringComparison.Ordinal);
        Assert.Contains(md.Examples[0].CodeBlocks[0].Split('\n')[0], r.StdOut, StringComparison.Ordinal);
        Assert.Contains("RELATED LINKS", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void ThroughTheShell_GetHelpAboutPrintsTheTopic()
    {
        ShellResult r = Pwsh.Run(["-NoProfile", "-Command", "Get-Help about_PSContainers"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("TOPIC\n    about_PSContainers\n", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("\nLONG DESCRIPTION\n", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void TheModuleFolderHoldsTheHelpUnderEnUs()
    {
        Assert.True(File.Exists(Path.Combine(Repo.ModuleDir, "en-US", "PSContainers.dll-Help.xml")));
        Assert.True(File.Exists(Path.Combine(Repo.ModuleDir, "en-US", "about_PSContainers.help.txt")));
    }
}
