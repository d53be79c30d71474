using System.Management.Automation;
using PSContainers.CGroups;
using PSContainers.Native;

namespace PSContainers.Commands;

/// <summary>
/// Get-CGroup: cgroups as objects. Without -Path, the project's cgroups (children of its root); with -Path, those
/// cgroups (wildcards allowed); -Recurse adds descendants; -ProcessId answers "which cgroup is this process in".
/// -Controller keeps the cgroups where all the named controllers are active. Reading works on any cgroup, also ones
/// the project did not create.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CGroup", DefaultParameterSetName = "Path")]
[OutputType(typeof(CGroup))]
public sealed class GetCGroupCommand : PscCommandBase
{
    [Parameter(ParameterSetName = "Path", Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CGroupPathCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("CGroupPath")]
    public string[]? Path { get; set; }

    [Parameter(ParameterSetName = "Path")]
    public SwitchParameter Recurse { get; set; }

    [Parameter(ParameterSetName = "ProcessId", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[] ProcessId { get; set; } = Array.Empty<int>();

    /// <summary>Only cgroups where every one of these controllers is active (e.g. memory, pids).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ControllerNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Controller { get; set; }

    protected override void BeginProcessing()
    {
        if (Controller is null)
        {
            return;
        }
        var known = Manager.ControllerTrees.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (string c in Controller)
        {
            if (!known.Contains(c))
            {
                ThrowTerminatingError(Errors.From(PscException.Invalid("UnknownController",
                    $"'{c}' is not a controller of this host's cgroup hierarchies; use one of: {string.Join(", ", known.Order(StringComparer.Ordinal))}.", c)));
            }
        }
    }

    private void WriteCGroup(object cgroup, CGroup cg)
    {
        if (Controller is null || Controller.All(c => cg.Controllers.Contains(c, StringComparer.Ordinal)))
        {
            WriteObject(cgroup);
        }
    }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "ProcessId")
        {
            foreach (int pid in ProcessId)
            {
                Try(() =>
                {
                    foreach (string path in Manager.PathsOfProcess(pid))
                    {
                        CGroup cg = Manager.Get(path);
                        WriteCGroup(cg, cg);
                    }
                }, pid);
            }
            return;
        }
        if (Path is null)
        {
            if (Manager.Exists(Manager.ProjectRoot))
            {
                foreach (string child in Manager.ChildPaths(Manager.ProjectRoot))
                {
                    Emit(child);
                }
            }
            return;
        }
        foreach (string p in Path)
        {
            string? pattern = WildcardPattern.ContainsWildcardCharacters(p) ? p : null;
            if (pattern is null)
            {
                string? resolved = ResolvePath(p);
                if (resolved is not null)
                {
                    if (Manager.Exists(resolved))
                    {
                        Emit(resolved);
                    }
                    else
                    {
                        Try(() => Manager.Get(resolved), p); // reports CGroupNotFound
                    }
                }
                continue;
            }
            var matches = Expand(p).ToList();
            if (matches.Count == 0)
            {
                // Like Get-Item with a wildcard: no match is not an error.
                WriteVerbose($"No cgroup matches '{p}'.");
            }
            foreach (string m in matches)
            {
                Emit(m);
            }
        }
    }

    private void Emit(string path)
    {
        if (!Recurse)
        {
            Try(() => { CGroup cg = Manager.Get(path); WriteCGroup(cg, cg); }, path);
            return;
        }
        // With -Recurse each object is also a PSContainers.CGroups.CGroup#Tree with its depth below the path asked
        // for, so the default view draws the tree; the object is the same CGroup for everything else.
        int baseDepth = Depth(path);
        foreach (string p in Manager.Descendants(path).Prepend(path))
        {
            Try(() =>
            {
                CGroup cg = Manager.Get(p);
                var o = new PSObject(cg);
                o.TypeNames.Insert(0, "PSContainers.CGroups.CGroup#Tree");
                o.Properties.Add(new PSNoteProperty("TreeDepth", Depth(p) - baseDepth));
                WriteCGroup(o, cg);
            }, p);
        }
    }

    private static int Depth(string path) => path == "/" ? 0 : path.Count(c => c == '/');

    /// <summary>Expands wildcards component by component against the live hierarchy.</summary>
    private IEnumerable<string> Expand(string pattern)
    {
        bool absolute = pattern.StartsWith('/');
        var current = new List<string> { absolute ? "/" : Manager.ProjectRoot };
        foreach (string part in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new List<string>();
            if (WildcardPattern.ContainsWildcardCharacters(part))
            {
                var wc = new WildcardPattern(part, WildcardOptions.None);
                foreach (string dir in current)
                {
                    next.AddRange(Manager.ChildPaths(dir).Where(c => wc.IsMatch(c[(c.LastIndexOf('/') + 1)..])));
                }
            }
            else
            {
                foreach (string dir in current)
                {
                    string? child = null;
                    if (Try(() => child = Manager.Resolve(CGroupPath.Combine(dir, part)), pattern) && Manager.Exists(child!))
                    {
                        next.Add(child!);
                    }
                }
            }
            current = next;
        }
        return current;
    }
}
