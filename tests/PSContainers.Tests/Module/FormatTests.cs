using System.Management.Automation.Language;
using System.Reflection;
using System.Xml.Linq;

namespace PSContainers.Tests.Module;

/// <summary>
/// The views in PSContainers.Format.ps1xml, checked against the types they format: every object type has a table and
/// a list view, every view also selects the deserialized type name (remoting), every property a view names exists,
/// and every script block parses. (Format-List is a Utility cmdlet, absent from this engine build, so list views are
/// checked here rather than rendered; the table views are rendered by RemotingTests and the doc example tests.)
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
}
