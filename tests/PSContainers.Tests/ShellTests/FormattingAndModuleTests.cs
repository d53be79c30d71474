using System.Text.RegularExpressions;

namespace PSContainers.Tests.ShellTests;

/// <summary>Out-Default renders format views through the host; modules are found on PSModulePath.</summary>
public sealed class FormattingAndModuleTests : IDisposable
{
    private const string ManifestText = """
        @{
            RootModule = 'ShellTestMod.psm1'
            ModuleVersion = '1.2.3'
            GUID = '5c0a8f5e-8d7e-4a38-9d61-5b1f4f0b6a01'
            FormatsToProcess = @('ShellTestMod.Format.ps1xml')
            FunctionsToExport = @('Get-ShellTestThing', 'Get-ShellTestClassThing')
        }
        """;

    private const string ModuleText = """
        class ShellTestClassThing {
            [string] $Label
            [int] $Weight
        }

        function Get-ShellTestThing {
            [pscustomobject]@{ PSTypeName = 'ShellTestMod.Thing'; Name = 'alpha'; Size = 42 }
            [pscustomobject]@{ PSTypeName = 'ShellTestMod.Thing'; Name = 'beta'; Size = 5 }
        }

        function Get-ShellTestClassThing {
            $t = [ShellTestClassThing]::new()
            $t.Label = 'gamma'
            $t.Weight = 7
            $t
        }
        """;

    private const string FormatText = """
        <?xml version="1.0" encoding="utf-8"?>
        <Configuration>
          <ViewDefinitions>
            <View>
              <Name>ShellTestMod.Thing</Name>
              <ViewSelectedBy><TypeName>ShellTestMod.Thing</TypeName></ViewSelectedBy>
              <TableControl>
                <TableHeaders>
                  <TableColumnHeader><Label>ThingName</Label></TableColumnHeader>
                  <TableColumnHeader><Label>DoubleSize</Label></TableColumnHeader>
                </TableHeaders>
                <TableRowEntries>
                  <TableRowEntry>
                    <TableColumnItems>
                      <TableColumnItem><PropertyName>Name</PropertyName></TableColumnItem>
                      <TableColumnItem><ScriptBlock>$_.Size * 2</ScriptBlock></TableColumnItem>
                    </TableColumnItems>
                  </TableRowEntry>
                </TableRowEntries>
              </TableControl>
            </View>
            <View>
              <Name>ShellTestClassThing</Name>
              <ViewSelectedBy><TypeName>ShellTestClassThing</TypeName></ViewSelectedBy>
              <ListControl>
                <ListEntries>
                  <ListEntry>
                    <ListItems>
                      <ListItem><Label>ClassLabel</Label><PropertyName>Label</PropertyName></ListItem>
                      <ListItem><Label>WeightInGrams</Label><ScriptBlock>$_.Weight * 1000</ScriptBlock></ListItem>
                    </ListItems>
                  </ListEntry>
                </ListEntries>
              </ListControl>
            </View>
          </ViewDefinitions>
        </Configuration>
        """;

    private readonly TempDir _modules = new();
    private readonly string _manifest;

    public FormattingAndModuleTests()
    {
        _manifest = _modules.Write("ShellTestMod/ShellTestMod.psd1", ManifestText);
        _modules.Write("ShellTestMod/ShellTestMod.psm1", ModuleText);
        _modules.Write("ShellTestMod/ShellTestMod.Format.ps1xml", FormatText);
    }

    public void Dispose() => _modules.Dispose();

    [Fact]
    public void OutDefault_RendersPSCustomObjectAsTable()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "[pscustomobject]@{A=1;B=2}");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "A B", "- -", "1 2" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void OutDefault_RendersGetCommandWithItsTableView()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "Get-Command -Name Get-Command");
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = Pscsh.Lines(r.StdOut);
        Assert.Matches(new Regex(@"^CommandType\s+Name\s+Version\s+Source$"), lines[0]);
        Assert.Matches(new Regex(@"^-+\s+-+\s+-+\s+-+$"), lines[1]);
        Assert.Matches(new Regex(@"^Cmdlet\s+Get-Command\s+7\.\d+\.\d+\.\d+\s+Microsoft\.PowerShell\.Core$"), lines[2]);
    }

    [Fact]
    public void OutDefault_ManyPropertiesRenderAsList()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "[pscustomobject]@{One=1;Two=2;Three=3;Four=4;Five=5}");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "One   : 1", "Two   : 2", "Three : 3", "Four  : 4", "Five  : 5" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void OutDefault_WrapsTablesAt120ColumnsWhenRedirected()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "$Host.UI.RawUI.BufferSize.Width; [pscustomobject]@{Text = 'x' * 300; N = 1}");
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = Pscsh.Lines(r.StdOut);
        Assert.Equal("120", lines[0]);
        Assert.All(lines, l => Assert.True(l.Length <= 120, $"line longer than 120 columns: {l.Length}"));
    }

    [Fact]
    public void FormatViewOfImportedModule_IsUsedByOutDefault()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", $"Import-Module '{_manifest}'; Get-ShellTestThing");
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = Pscsh.Lines(r.StdOut);
        Assert.Matches(new Regex(@"^ThingName\s+DoubleSize$"), lines[0]);
        Assert.Matches(new Regex(@"^alpha\s+84$"), lines[2]);
        Assert.Matches(new Regex(@"^beta\s+10$"), lines[3]);
        Assert.DoesNotContain("Size", lines[0].Replace("DoubleSize", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void FormatViewForPowerShellClass_IsUsedByOutDefault()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", $"Import-Module '{_manifest}'; Get-ShellTestClassThing");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "ClassLabel    : gamma", "WeightInGrams : 7000" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void ModuleOnPscontainersModulePath_IsAutoLoaded()
    {
        // No Import-Module: command discovery finds the module through $env:PSModulePath.
        var env = new Dictionary<string, string?> { ["PSCONTAINERS_MODULE_PATH"] = _modules.Path };
        ShellResult r = Pscsh.Run(
            new[] { "-NoProfile", "-Command", "Get-ShellTestThing; (Get-Module ShellTestMod).Version.ToString(); $env:PSModulePath.Split(':')[0]" },
            environment: env);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = Pscsh.Lines(r.StdOut);
        Assert.Matches(new Regex(@"^ThingName\s+DoubleSize$"), lines[0]);
        Assert.Contains("1.2.3", lines);
        Assert.Equal(_modules.Path, lines[^1]);
    }

    [Fact]
    public void PSModulePath_StartsWithTheOutDirectory()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "$env:PSModulePath");
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] entries = Pscsh.Lines(r.StdOut).Single().Split(':');
        Assert.Equal(Pscsh.OutDir, entries[0]);
    }

    [Fact]
    public void PSContainersModule_IsFoundByName()
    {
        // The build puts the module at out/PSContainers/<version>/PSContainers.psd1.
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "(Get-Module -ListAvailable -Name PSContainers).ModuleBase");
        Assert.True(r.ExitCode == 0, r.ToString());
        string moduleBase = Pscsh.Lines(r.StdOut).First();
        Assert.StartsWith(Path.Combine(Pscsh.OutDir, "PSContainers") + Path.DirectorySeparatorChar, moduleBase, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(moduleBase, "PSContainers.psd1")), moduleBase);
    }
}
