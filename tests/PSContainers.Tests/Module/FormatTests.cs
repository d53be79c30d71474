using System.Diagnostics;
using System.Management.Automation.Language;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PSContainers.Tests.Module;

/// <summary>
/// The views in PSContainers.Format.ps1xml, checked against the types they format: every object type has a table and
/// a list view, every view also selects the deserialized type name (remoting), every property a view names exists,
/// and every script block parses. Then rendered for real: real pwsh in a real terminal of 80 columns (a pseudo
/// terminal made by script(1), `stty cols 80`) prints live objects of every type through its default view, and every
/// line must fit, every header of the view must be there whole, and no value may be cut short with '…'.
/// `Format-List *` must show the nested records (the spec, the pressure) as readable text, not as type names.
/// </summary>
public class FormatTests
{
    private static readonly string[] ObjectTypes =
        ["PSContainers.CGroups.CGroup", "PSContainers.Containers.Container", "PSContainers.Containers.ContainerStats", "PSContainers.Containers.ContainerEvent"];

    private static XDocument Format() => XDocument.Load(Path.Combine(Repo.Root, "module", "PSContainers.Format.ps1xml"));

    private static Assembly Engine() => Assembly.LoadFrom(Path.Combine(Repo.ModuleDir, "PSContainers.Engine.dll"));

    [Fact]
    public void EveryObjectType_HasATableAndAListView_AndCGroupsATreeView()
    {
        var views = Format().Descendants("View").ToList();
        foreach (string type in ObjectTypes)
        {
            var mine = views.Where(v => v.Element("ViewSelectedBy")!.Elements("TypeName").Any(t => t.Value == type)).ToList();
            Assert.True(mine.Any(v => v.Element("TableControl") is not null), $"{type} has no table view");
            Assert.True(mine.Any(v => v.Element("ListControl") is not null), $"{type} has no list view");
        }
        Assert.Contains(views, v => v.Element("ViewSelectedBy")!.Elements("TypeName").Any(t => t.Value == "PSContainers.CGroups.CGroup#Tree") && v.Element("TableControl") is not null);
    }

    [Fact]
    public void EveryView_AlsoSelectsTheDeserializedTypeName()
    {
        foreach (var view in Format().Descendants("View"))
        {
            var names = view.Element("ViewSelectedBy")!.Elements("TypeName").Select(t => t.Value).ToList();
            foreach (string name in names.Where(n => !n.StartsWith("Deserialized.", StringComparison.Ordinal)))
            {
                Assert.True(names.Contains("Deserialized." + name), $"view {view.Element("Name")!.Value} selects {name} but not Deserialized.{name}");
            }
        }
    }

    [Fact]
    public void EveryPropertyAViewNames_Exists_AndEveryScriptBlockParses()
    {
        var engine = Engine();
        var types = XDocument.Load(Path.Combine(Repo.Root, "module", "PSContainers.Types.ps1xml")).Descendants("Type")
            .ToDictionary(t => t.Element("Name")!.Value, t => t.Descendants("Name").Skip(1).Select(n => n.Value).ToHashSet());
        foreach (var view in Format().Descendants("View"))
        {
            string typeName = view.Element("ViewSelectedBy")!.Elements("TypeName").First().Value;
            string baseName = typeName.Split('#')[0];
            Type? type = engine.GetType(baseName);
            Assert.True(type is not null, $"view {view.Element("Name")!.Value}: no type {baseName}");
            var members = type!.GetProperties().Select(p => p.Name).ToHashSet();
            members.UnionWith(types.GetValueOrDefault(baseName) ?? []);
            if (typeName.EndsWith("#Tree", StringComparison.Ordinal))
            {
                members.Add("TreeDepth");
            }
            foreach (var property in view.Descendants("PropertyName"))
            {
                Assert.True(members.Contains(property.Value), $"view {view.Element("Name")!.Value} ({typeName}) names a property {property.Value} that {baseName} does not have");
            }
            foreach (var block in view.Descendants("ScriptBlock"))
            {
                Parser.ParseInput(block.Value, out _, out ParseError[] errors);
                Assert.True(errors.Length == 0, $"view {view.Element("Name")!.Value}: {block.Value}: {string.Join("; ", errors.Select(e => e.Message))}");
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(block.Value, @"\$_\.([A-Za-z]+)"))
                {
                    Assert.True(members.Contains(m.Groups[1].Value), $"view {view.Element("Name")!.Value}: {block.Value} reads $_.{m.Groups[1].Value}, which {baseName} does not have");
                }
            }
        }
    }

    /// <summary>The labels of the default (first, unnamed "Detail") table view of each type, in order.</summary>
    private static Dictionary<string, string[]> DefaultTableLabels() =>
        Format().Descendants("View")
            .Where(v => v.Element("TableControl") is not null && v.Element("Name")!.Value != "Detail")
            .GroupBy(v => v.Element("ViewSelectedBy")!.Elements("TypeName").First().Value)
            .ToDictionary(g => g.Key, g => g.First().Descendants("TableColumnHeader").Select(h => h.Element("Label")!.Value).ToArray());

    [Fact]
    public void TheDetailViews_KeepTheColumnsTheDefaultTablesLeaveOut()
    {
        var detail = Format().Descendants("View").Where(v => v.Element("Name")!.Value == "Detail").ToList();
        foreach (string type in new[] { "PSContainers.CGroups.CGroup", "PSContainers.Containers.ContainerStats" })
        {
            var view = Assert.Single(detail, v => v.Element("ViewSelectedBy")!.Elements("TypeName").First().Value == type);
            var labels = view.Descendants("Label").Select(l => l.Value).ToHashSet();
            Assert.Superset(DefaultTableLabels()[type].ToHashSet(), labels);
        }
        Assert.Contains("Weight", detail.SelectMany(v => v.Descendants("Label")).Select(l => l.Value));
        Assert.Contains("IoRead(MB)", detail.SelectMany(v => v.Descendants("Label")).Select(l => l.Value));
    }

    /// <summary>Runs a script in real pwsh inside a pseudo terminal of 80 columns; returns what the terminal got.</summary>
    private static string RunInTerminal(string script, Dictionary<string, string> environment)
    {
        string file = Path.Combine(Path.GetTempPath(), "psc-format-" + Guid.NewGuid().ToString("N")[..8] + ".ps1");
        File.WriteAllText(file, script);
        try
        {
            var psi = new ProcessStartInfo("script")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
            };
            // -q: no banner; -e: its exit code is pwsh's; the log goes nowhere, the terminal's output to stdout.
            foreach (string a in new[] { "-qec", $"stty cols 80 rows 50; exec '{Pwsh.Executable}' -NoProfile -NonInteractive -File '{file}'", "/dev/null" })
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["PSModulePath"] = Repo.Out;
            psi.Environment["TERM"] = "xterm";
            psi.Environment["NO_COLOR"] = "1";
            psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
            psi.Environment.Remove("PSCONTAINERS_MODULE_PATH");
            psi.Environment.Remove("COLUMNS");
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("pwsh in the terminal did not finish within 2 minutes:\n" + stdout.Result);
            }
            p.WaitForExit();
            // What the terminal shows: no carriage returns, no escape sequences (pwsh asks for keypad mode on start).
            string text = Regex.Replace(stdout.Result.Replace("\r", ""), @"\x1b(\[[0-9;?]*[A-Za-z]|[=>])", "");
            Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}\n{text}\n{stderr.Result}");
            return text;
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public void InA80ColumnTerminal_EveryDefaultTableFits_WithEveryHeaderWhole_AndNoValueCutShort()
    {
        Skip.IfNot(Environment.UserName == "root", "the test creates containers and cgroups: needs root");
        Skip.IfNot(File.Exists("/usr/bin/script") || File.Exists("/bin/script"), "script(1) of util-linux makes the 80-column terminal: not installed");
        string id = Guid.NewGuid().ToString("N")[..8];
        string depot = Path.Combine(Path.GetTempPath(), "psc-format-depot-" + id);
        string root = "psc-format-" + id;
        var env = new Dictionary<string, string> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = root };
        // Objects with the widest values a view meets: an OOM kill ("Exited (OOM)", "137 (signal 9)"), a stop by signal,
        // a group, a long name and command line, a deep cgroup path, a tree below the root.
        string script = $$"""
            $ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; $PSStyle.OutputRendering = 'PlainText'
            Import-Module PSContainers
            "##WIDTH $($Host.UI.RawUI.BufferSize.Width)"
            try {
                New-Container -Name web /bin/sleep -ArgumentList 3600 -MemoryLimit 256MB -PidsLimit 100 | Start-Container
                New-Container -Name nightly-report-builder -Group batch-jobs /bin/sh -ArgumentList '-c', 'sleep 3600; echo a command line that is longer than any terminal is wide, and then some more' -CpuLimit 0.25 | Start-Container
                New-Container -Name stopped /bin/sleep -ArgumentList 3600 | Start-Container
                Stop-Container -Name stopped
                New-Container -Name hog /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 32MB | Start-Container -Wait -ErrorAction SilentlyContinue
                $null = New-CGroup -Path deep; $null = New-CGroup -Path deep/deeper; $null = New-CGroup -Path deep/deeper/a-cgroup-with-a-rather-long-name -MemoryLimit 12GB -CpuLimit 1.5 -PidsLimit 4194304
                Suspend-Container -Name web
                '##TABLE PSContainers.Containers.Container'; Get-Container | Out-Default
                '##TABLE PSContainers.CGroups.CGroup'; Get-CGroup -Path web, batch-jobs/nightly-report-builder, deep/deeper/a-cgroup-with-a-rather-long-name | Out-Default
                '##TABLE PSContainers.CGroups.CGroup#Tree'; Get-CGroup -Path /{{root}} -Recurse | Out-Default
                '##TABLE PSContainers.Containers.ContainerStats'; Get-ContainerStats -Name web, nightly-report-builder, hog -Count 2 -Interval 0:0:0.5 | Out-Default
                '##TABLE PSContainers.Containers.ContainerStats'; Get-ContainerStats -CGroupPath deep/deeper/a-cgroup-with-a-rather-long-name | Out-Default
                '##TABLE PSContainers.Containers.ContainerEvent'; Get-ContainerEvent | Out-Default
                '##LIST'; Get-Container -Name web, nightly-report-builder | Format-List * | Out-Default
                Get-ContainerStats -Name web | Format-List * | Out-Default
                Get-ContainerEvent -Name web | Select-Object -First 1 | ForEach-Object { "event: $_" }
                '##END'
            } finally {
                Get-Container | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue
                Remove-CGroup -Path /{{root}} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue
            }
            """;
        string text;
        try
        {
            text = RunInTerminal(script, env);
        }
        finally
        {
            foreach (string h in Directory.GetDirectories("/sys/fs/cgroup").Select(d => Path.Combine(d, root)).Where(Directory.Exists))
            {
                foreach (string sub in Directory.GetDirectories(h, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
                {
                    Directory.Delete(sub);
                }
                Directory.Delete(h);
            }
            if (Directory.Exists(depot))
            {
                Directory.Delete(depot, true);
            }
        }

        Assert.Contains("##WIDTH 80\n", text, StringComparison.Ordinal);
        Assert.Contains("##END", text, StringComparison.Ordinal);
        var labels = DefaultTableLabels();
        var lines = text.Split('\n');
        var failures = new List<string>();
        foreach (string line in lines.Where(l => l.Length > 80))
        {
            failures.Add($"a line of {line.Length} columns: {line}");
        }
        var sections = Regex.Matches(text, @"^##TABLE (\S+)\n(.*?)(?=^##)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.Equal(6, sections.Count);
        foreach (Match section in sections)
        {
            string type = section.Groups[1].Value;
            string body = section.Groups[2].Value;
            string[] rows = body.Split('\n');
            int dashes = Array.FindIndex(rows, r => Regex.IsMatch(r, @"^\s*-+( +-+)*\s*$"));
            if (dashes < 1)
            {
                failures.Add($"{type}: no table:\n{body}");
                continue;
            }
            string[] header = rows[dashes - 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!header.SequenceEqual(labels[type]))
            {
                failures.Add($"{type}: the header is '{string.Join(' ', header)}', the view's is '{string.Join(' ', labels[type])}':\n{body}");
            }
            if (body.Contains('…', StringComparison.Ordinal) || body.Contains("...", StringComparison.Ordinal))
            {
                failures.Add($"{type}: a value is cut short:\n{body}");
            }
            if (rows.Skip(dashes + 1).Count(r => r.Trim().Length > 0) < 2)
            {
                failures.Add($"{type}: fewer rows than objects:\n{body}");
            }
        }
        // The long values are all there, wrapped rather than cut.
        string flat = Regex.Replace(text, @"\s+", "");
        foreach (string whole in new[] { "longerthananyterminaliswide,andthensomemore", "deep/deeper/a-cgroup-with-a-rather-long-name", "Exited(OOM)", "137SIGKILL", "143SIGTERM", "Paused" })
        {
            if (!flat.Contains(whole, StringComparison.Ordinal))
            {
                failures.Add($"'{whole}' is not shown whole");
            }
        }

        // Format-List *: nested records read as text.
        string list = text[text.IndexOf("##LIST", StringComparison.Ordinal)..];
        foreach (string bad in new[] { "ContainerSpec {", "PressureInfo {", "ContainerEvent {", "System.String[]", "System.Int32[]", "System.Collections" })
        {
            if (list.Contains(bad, StringComparison.Ordinal))
            {
                failures.Add($"Format-List * shows '{bad}':\n{list}");
            }
        }
        // Format-List wraps long values inside words: compare without white space.
        string listFlat = Regex.Replace(list, @"\s+", "");
        foreach (string good in new[] { "Spec : /bin/sleep 3600 | isolation Default | memory 256 MB, 100 pids", "'sleep 3600; echo a command line", "0.25 CPUs", "CpuPressure : some ", "% (avg10 avg60 avg300)", " web created" })
        {
            if (!listFlat.Contains(Regex.Replace(good, @"\s+", ""), StringComparison.Ordinal))
            {
                failures.Add($"Format-List * does not show '{good}':\n{list}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures) + "\n--- the terminal ---\n" + text);
    }
}
