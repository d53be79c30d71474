using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace PSContainers.Tests.Module;

/// <summary>The built module folder, loaded the way a user loads it: Import-Module in a fresh runspace.</summary>
public class ModuleTests
{
    private static PowerShell FreshShellWithModule()
    {
        var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("PassThru").AddParameter("ErrorAction", "Stop");
        var module = ps.Invoke();
        Assert.Single(module);
        ps.Commands.Clear();
        return ps;
    }

    [Fact]
    public void TheModuleFolderImportsInAFreshRunspaceAndItsCmdletsRun()
    {
        using var ps = FreshShellWithModule();
        ps.AddScript("Get-Command -Module PSContainers | ForEach-Object Name");
        var names = ps.Invoke().Select(o => o.ToString()).OrderBy(n => n).ToArray();
        var exported = ((object[])LoadManifest()["CmdletsToExport"]!).Select(o => o.ToString()).OrderBy(n => n).ToArray();
        Assert.Equal(exported, names);
        Assert.Contains("Get-CGroup", names);
        Assert.Contains("New-Container", names);

        // Get-CGroup / goes through the engine and Tmds.LibC: proves the per-architecture library resolves.
        ps.Commands.Clear();
        ps.AddScript("Get-CGroup -Path /");
        var root = Assert.Single(ps.Invoke());
        Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));
        Assert.Equal("PSContainers.CGroups.CGroup", root.BaseObject.GetType().FullName);
        Assert.Equal("/", root.Properties["Path"].Value);
    }

    [Fact]
    public void TmdsLibCIsLoadedFromTheFolderForThisArchitecture()
    {
        using var ps = FreshShellWithModule();
        ps.AddScript("Get-CGroup -Path / | Out-Null; [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Tmds.LibC' } | ForEach-Object Location");
        var locations = ps.Invoke().Select(o => o.ToString()).ToArray();
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        Assert.Contains(locations, l => l.EndsWith($"runtimes/{rid}/Tmds.LibC.dll", StringComparison.Ordinal) || l.Contains($"/runtimes/{rid}/"));
        foreach (string r in new[] { "linux-x64", "linux-arm64", "linux-arm" })
        {
            Assert.True(File.Exists(Path.Combine(Repo.ModuleDir, "runtimes", r, "Tmds.LibC.dll")), $"missing runtimes/{r}/Tmds.LibC.dll");
        }
    }

    [Fact]
    public void TheManifestExportsExactlyTheCmdletsTheAssemblyDefines()
    {
        var cmdlets = CmdletTypes().Select(t => Name(t)).OrderBy(n => n).ToArray();
        var data = LoadManifest();
        var exported = ((object[])data["CmdletsToExport"]!).Select(o => o.ToString()!).OrderBy(n => n).ToArray();
        Assert.Equal(cmdlets, exported);
    }

    [Fact]
    public void TheVersionHasOneSource()
    {
        var data = LoadManifest();
        string version = (string)data["ModuleVersion"]!;
        Assert.Equal(version, new DirectoryInfo(Repo.ModuleDir).Name);
        var asm = AssemblyName.GetAssemblyName(Path.Combine(Repo.ModuleDir, "PSContainers.dll"));
        Assert.StartsWith(version, asm.Version!.ToString());
    }

    [Fact]
    public void EveryCmdletDeclaresItsOutputType()
    {
        foreach (Type t in CmdletTypes())
        {
            Assert.True(t.GetCustomAttributes().Any(a => a.GetType().Name == "OutputTypeAttribute"), $"{Name(t)} has no [OutputType]");
        }
    }

    [Fact]
    public void EveryCmdletAndEveryParameterIsDocumented()
    {
        foreach (Type t in CmdletTypes())
        {
            string name = Name(t);
            string file = Path.Combine(Repo.Root, "docs", "en-US", name + ".md");
            Assert.True(File.Exists(file), $"docs/en-US/{name}.md is missing");
            string text = File.ReadAllText(file);
            foreach (string section in new[] { "## SYNOPSIS", "## SYNTAX", "## DESCRIPTION", "## EXAMPLES", "## PARAMETERS", "## INPUTS", "## OUTPUTS", "## NOTES" })
            {
                Assert.True(text.Contains(section + "\n", StringComparison.Ordinal), $"{name}.md has no '{section}' section");
            }
            Assert.True(Regex.Matches(text, @"^### Example \d+", RegexOptions.Multiline).Count >= 2, $"{name}.md has fewer than two examples");
            foreach (string parameter in Parameters(t))
            {
                Assert.True(Regex.IsMatch(text, $@"^### -{parameter}\s*$", RegexOptions.Multiline), $"{name}.md does not document -{parameter}");
            }
            if (SupportsShouldProcess(t))
            {
                Assert.Contains("### -WhatIf", text);
                Assert.Contains("### -Confirm", text);
            }
        }
        Assert.True(File.Exists(Path.Combine(Repo.Root, "docs", "en-US", "about_PSContainers.help.md")));
        Assert.True(File.Exists(Path.Combine(Repo.Root, "docs", "en-US", "PSContainers.md")));
    }

    private static Hashtable LoadManifest()
    {
        // Import-PowerShellDataFile is a Utility cmdlet; the manifest is a data-only hashtable literal, so the
        // language's own restricted data evaluation reads it.
        using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        ps.AddScript($"$t = [System.IO.File]::ReadAllText('{Repo.Manifest}'); $sb = [scriptblock]::Create($t); $sb.CheckRestrictedLanguage([string[]]@(), [string[]]@(), $false); & $sb");
        return (Hashtable)Assert.Single(ps.Invoke()).BaseObject;
    }

    private static Assembly ModuleAssembly() => Assembly.LoadFrom(Path.Combine(Repo.ModuleDir, "PSContainers.dll"));

    private static IEnumerable<Type> CmdletTypes() =>
        ModuleAssembly().GetTypes().Where(t => !t.IsAbstract && t.GetCustomAttributes().Any(a => a.GetType().Name == "CmdletAttribute"));

    private static string Name(Type t)
    {
        var a = t.GetCustomAttributes().Single(a => a.GetType().Name == "CmdletAttribute");
        dynamic d = a;
        return $"{d.VerbName}-{d.NounName}";
    }

    private static bool SupportsShouldProcess(Type t)
    {
        dynamic a = t.GetCustomAttributes().Single(a => a.GetType().Name == "CmdletAttribute");
        return (bool)a.SupportsShouldProcess;
    }

    private static IEnumerable<string> Parameters(Type t) =>
        t.GetProperties().Where(p => p.GetCustomAttributes().Any(a => a.GetType().Name == "ParameterAttribute")).Select(p => p.Name);
}
