using System.Text;
using System.Text.RegularExpressions;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>
/// Every example in docs/en-US runs against the real module in real pwsh (the pinned PowerShell 7.6.10, through
/// <see cref="Pwsh.Run"/>; its output is 80 columns wide, as in a terminal of 80 columns). Per doc, one fresh pwsh
/// with a depot and a cgroup root of its own gets the doc's cast (the containers and cgroups its examples talk about,
/// <see cref="Casts"/>), then runs the examples in order, each `PS>` line as the prompt would (its own pipeline,
/// rendered by Out-Default), and removes everything afterwards. An about_ topic's examples are not only its
/// `## EXAMPLES`: every code block of its `## LONG DESCRIPTION` is run too, as snippets numbered 101, 102, ... in
/// the order they appear (a cast's `#before 105` runs just before the fifth), before the examples. After each
/// example or snippet, the depot and root variables are set back, so one that sets them affects no other. An example passes when what the doc shows comes
/// back: the same errors (by message), no error where the doc shows none, the same `What if:`, `WARNING:` and
/// `VERBOSE:` lines, and the same table headers (pids, times and sizes differ from run to run; digits are
/// compared as '#', the test's root and depot as the doc's /pscontainers and /run/pscontainers).
///
/// The marker: an example that cannot run here has, as the last line of its code, a comment
/// `# Not run by the tests: <what it needs>`. Such examples are listed in the test output and must stay few.
/// An error the doc shows is a line `Verb-Noun: message` or `ErrorCategory: message` (as pwsh shows job errors).
/// A code block without `PS>` lines is a script: its lines run as they are.
/// </summary>
public sealed class DocExampleTests
{
    public const string Marker = "# Not run by the tests:";

    public static TheoryData<string> Docs()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.EnumerateFiles(MarkdownDoc.DocsDir, "*.md").Order(StringComparer.Ordinal))
        {
            if (File.ReadAllText(f).Contains("\n## EXAMPLES\n", StringComparison.Ordinal))
            {
                data.Add(Path.GetFileName(f));
            }
        }
        return data;
    }

    /// <summary>What each doc's examples assume exists before the first one runs; `before N` runs just before Example N.</summary>
    private static readonly Dictionary<string, string> Casts = new()
    {
        ["Publish-ContainerPort.md"] = """
            [System.IO.Directory]::CreateDirectory('/tmp/site') | Out-Null; [System.IO.File]::WriteAllText('/tmp/site/index.html', "hello from web`n")
            New-Container -Name web -Network Bridge -PublishPort 8080:80 /usr/bin/busybox -ArgumentList httpd, -f, -p, 80, -h, /tmp/site | Start-Container
            New-Container -Name client -Network Bridge /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            """,
        ["Unpublish-ContainerPort.md"] = """
            [System.IO.Directory]::CreateDirectory('/tmp/site') | Out-Null; [System.IO.File]::WriteAllText('/tmp/site/index.html', "hello from web`n")
            New-Container -Name web -Network Bridge -PublishPort 8080:80 /usr/bin/busybox -ArgumentList httpd, -f, -p, 80, -h, /tmp/site | Start-Container
            New-Container -Name client -Network Bridge /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            """,
        ["Add-ContainerNetRule.md"] = """
            New-Container -Name client -Network Bridge -DenyNetwork 0.0.0.0/0 /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            """,
        ["Get-ContainerNetRule.md"] = """
            New-Container -Name client -Network Bridge -DenyNetwork 0.0.0.0/0 /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            New-Container -Name web -Network Bridge /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            $null = Add-ContainerNetRule -Name client -Protocol Tcp -Network 198.51.100.0/24 -Port 80
            $null = Add-ContainerNetRule -Name client -Protocol Icmp -Network 198.51.100.7 -IcmpType 8 -Log
            """,
        ["Remove-ContainerNetRule.md"] = """
            New-Container -Name client -Network Bridge -DenyNetwork 0.0.0.0/0 /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            New-Container -Name web -Network Bridge /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            $null = Add-ContainerNetRule -Name client -Protocol Tcp -Network 198.51.100.0/24 -Port 80
            $null = Add-ContainerNetRule -Name client -Protocol Icmp -Network 198.51.100.7 -IcmpType 8 -Log
            """,
        ["Set-ContainerBandwidth.md"] = """
            New-Container -Name web -Network Bridge /usr/bin/busybox -ArgumentList sleep, 3600 | Start-Container
            """,
        ["Get-CGroup.md"] = """
            $null = New-CGroup -Path batch; $null = New-CGroup -Path batch/nightly -CpuWeight 50 -CpuSet 1
            $null = New-CGroup -Path db -MemoryLimit 1GB -CpuLimit 1.5
            New-Container -Name web /bin/sleep -ArgumentList 3600 -MemoryLimit 256MB -PidsLimit 100 | Start-Container
            """,
        ["Get-Container.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name api -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name backup /bin/sh -ArgumentList '-c', 'echo backing up; exit 3' | Start-Container -PassThru | Wait-Container | Out-Null
            New-Container -Name worker -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name later /bin/true | Out-Null
            #before 6
            [System.IO.Directory]::CreateDirectory("$env:PSCONTAINERS_DEPOT/broken") | Out-Null
            [System.IO.File]::WriteAllText("$env:PSCONTAINERS_DEPOT/broken/spec.json", '{not json}')
            """,
        ["Get-ContainerStats.md"] = """
            New-Container -Name busy /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
            New-Container -Name web /bin/sleep -ArgumentList 3600 -MemoryLimit 256MB | Start-Container
            #before 8
            New-Container -Name temp /bin/sleep -ArgumentList 3600 | Start-Container
            $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh'); $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("sleep 0.2; exec '$([Environment]::ProcessPath)' -NoProfile -NonInteractive -Command 'Remove-Container -Name temp -Force -Confirm:`$false' >/dev/null 2>&1")
            $null = [System.Diagnostics.Process]::Start($psi)
            """,
        ["Invoke-ContainerCommand.md"] = """
            New-Container -Name cache /bin/sleep -ArgumentList 3600 -Hostname cache | Start-Container
            #before 9
            Remove-Container -Name cache -Force -Confirm:$false
            New-Container -Name cache /bin/sleep -ArgumentList 3600 -Hostname cache | Start-Container
            """,
        ["Move-Process.md"] = """
            $null = New-CGroup -Path web -MemoryLimit 256MB; $null = New-CGroup -Path db
            New-Container -Name api -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name report /bin/true | Start-Container -PassThru | Wait-Container | Out-Null
            """,
        ["Remove-CGroup.md"] = """
            $null = New-CGroup -Path web; $null = New-CGroup -Path job1; $null = New-CGroup -Path job2
            $null = New-CGroup -Path batch; $null = New-CGroup -Path batch/nightly; $null = New-CGroup -Path db
            $p = [System.Diagnostics.Process]::Start('sleep', '3600'); Move-Process -Id $p.Id -Path db
            """,
        ["Remove-Container.md"] = """
            New-Container -Name backup /bin/sh -ArgumentList '-c', 'exit 3' | Start-Container -PassThru | Wait-Container | Out-Null
            New-Container -Name web /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name api -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name worker -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name later /bin/true | Out-Null
            #before 4
            New-Container -Name later /bin/true | Out-Null
            #before 6
            [System.IO.Directory]::CreateDirectory("$env:PSCONTAINERS_DEPOT/broken") | Out-Null
            [System.IO.File]::WriteAllText("$env:PSCONTAINERS_DEPOT/broken/spec.json", '{not json}')
            """,
        ["Remove-ContainerProperty.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 3600 -Property @{ owner = 'shop-team'; ticket = 'OPS-1234' } | Start-Container
            New-Container -Name busy /bin/sleep -ArgumentList 3600 -Property @{ ticket = 'OPS-1234' } | Start-Container
            """,
        ["Resume-Container.md"] = """
            New-Container -Name busy /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
            New-Container -Name web /bin/sleep -ArgumentList 3600 | Start-Container
            Suspend-Container -Name busy, web
            """,
        ["Set-CGroupLimit.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 3600 -MemoryLimit 256MB -PidsLimit 100 | Start-Container
            New-Container -Name worker -Group shop /bin/sleep -ArgumentList 3600 | Start-Container
            $null = New-CGroup -Path job1; $null = New-CGroup -Path job2
            """,
        ["Set-ContainerProperty.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 3600 | Start-Container
            New-Container -Name busy /bin/sleep -ArgumentList 3600 | Start-Container
            """,
        ["Start-Container.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 300 | Out-Null
            #before 6
            [System.IO.File]::WriteAllText('/tmp/report.py', "#!/usr/bin/python2`nprint('report')`n")
            [System.IO.File]::SetUnixFileMode('/tmp/report.py', [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
            """,
        ["Get-ContainerProcess.md"] = """
            New-Container -Name box | Start-Container
            Start-ContainerProcess -Name box /bin/true | Wait-ContainerProcess | Out-Null
            Start-ContainerProcess -Name box /bin/sleep 600 | Out-Null
            """,
        ["Wait-ContainerProcess.md"] = """
            New-Container -Name box | Start-Container
            """,
        ["Stop-ContainerProcess.md"] = """
            New-Container -Name box | Start-Container
            """,
        ["Wait-Container.md"] = """
            #before 4
            Remove-Container -Name slow -Force -Confirm:$false
            New-Container -Name slow /bin/sleep -ArgumentList 60 | Start-Container
            """,
        ["Stop-Container.md"] = """
            New-Container -Name web /bin/sleep -ArgumentList 300 | Start-Container
            New-Container -Name api -Group shop /bin/sleep -ArgumentList 300 | Start-Container
            New-Container -Name worker -Group shop /bin/sleep -ArgumentList 300 | Start-Container
            """,
        ["Suspend-Container.md"] = """
            New-Container -Name busy /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
            New-Container -Name web /bin/sleep -ArgumentList 3600 | Start-Container
            """,
        ["about_PSContainers.help.md"] = """
            #before 109
            $null = New-CGroup -Path web -MemoryLimit 256MB -CpuLimit 0.5 -PidsLimit 100; Move-Process -Id ([System.Diagnostics.Process]::Start('sleep', '600')).Id -Path web
            #before 110
            Remove-CGroup -Path web -Force -Confirm:$false
            New-Container -Name web /bin/sleep -ArgumentList 300 -MemoryLimit 256MB | Start-Container
            #before 111
            Stop-Container -Name web
            #before 112
            New-Container -Name busy /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
            #before 117
            New-Container -Name shopweb /bin/sleep -ArgumentList 3600 -Property @{ owner = 'shop-team' } | Start-Container
            #before 118
            New-Container -Name api /bin/sleep -ArgumentList 3600 | Start-Container; Suspend-Container -Name api; Resume-Container -Name api; Stop-Container -Name api
            #before 2
            Remove-Container -Name report -Force -Confirm:$false
            """,
        ["Copy-ContainerItem.md"] = """
            $r = '/tmp/rootfs'
            foreach ($d in 'bin', 'etc', 'proc', 'tmp') { [System.IO.Directory]::CreateDirectory("$r/$d") | Out-Null }
            [System.IO.File]::Copy('/usr/bin/busybox', "$r/bin/busybox", $true)
            foreach ($t in 'sh', 'ls', 'sleep') { if (-not [System.IO.File]::Exists("$r/bin/$t")) { $null = [System.IO.File]::CreateSymbolicLink("$r/bin/$t", 'busybox') } }
            [System.IO.File]::WriteAllText("$r/etc/passwd", "root:x:0:0:root:/:/bin/sh`napp:x:1000:1000:app:/tmp:/bin/sh`n")
            [System.IO.File]::WriteAllText("$r/etc/group", "root:x:0:`napp:x:1000:`n")
            $null = [System.IO.File]::CreateSymbolicLink("$r/escape", '/')
            Set-Location "$r/.."
            [System.IO.Directory]::CreateDirectory("$PWD/site/css") | Out-Null
            [System.IO.File]::WriteAllText("$PWD/site/index.html", "<h1>hello</h1>`n"); [System.IO.File]::WriteAllText("$PWD/site/css/site.css", "h1 { color: teal }`n")
            New-Container -Name web /bin/sleep -ArgumentList 3600 -RootPath $r | Start-Container
            """,
        ["New-Container.md"] = """
            #before 8
            $r = '/tmp/rootfs'
            foreach ($d in 'bin', 'etc', 'lib', 'lib64', 'proc', 'tmp', 'usr') { [System.IO.Directory]::CreateDirectory("$r/$d") | Out-Null }
            [System.IO.File]::Copy('/usr/bin/busybox', "$r/bin/busybox", $true)
            foreach ($t in 'sh', 'id', 'ls') { if (-not [System.IO.File]::Exists("$r/bin/$t")) { $null = [System.IO.File]::CreateSymbolicLink("$r/bin/$t", 'busybox') } }
            [System.IO.File]::WriteAllText("$r/etc/passwd", "root:x:0:0:root:/:/bin/sh`napp:x:1000:1000:app:/tmp:/bin/sh`n")
            [System.IO.File]::WriteAllText("$r/etc/group", "root:x:0:`napp:x:1000:`n")
            #before 13
            $i = "$env:PSCONTAINERS_STORE/images/busybox"; $r = "$i/rootfs"
            foreach ($d in 'bin', 'etc', 'proc', 'dev', 'tmp') { [System.IO.Directory]::CreateDirectory("$r/$d") | Out-Null }
            [System.IO.File]::Copy('/usr/bin/busybox', "$r/bin/busybox", $true)
            foreach ($t in 'sh', 'dd', 'echo') { $null = [System.IO.File]::CreateSymbolicLink("$r/bin/$t", 'busybox') }
            & mknod -m 666 "$r/dev/null" c 1 3; & mknod -m 666 "$r/dev/zero" c 1 5
            [System.IO.File]::WriteAllText("$i/image.json", '{"Name":"busybox","Size":1,"Created":"2026-12-07T00:00:00Z","Source":"/usr/bin/busybox","Layers":1}')
            #before 14
            [System.IO.Directory]::CreateDirectory('/tmp/site') | Out-Null; [System.IO.File]::WriteAllText('/tmp/site/index.html', "hello from site`n")
            """,
    };

    /// <summary>
    /// Docs whose examples make bridged containers: each gets a network lab of its own (tests/net/netlab.sh: a "host"
    /// and an "outside" network namespace), and its pwsh points the module at the lab's host through
    /// PSCONTAINERS_HOST_NETNS, so the bridge, the nftables table and the published ports live there and nothing
    /// touches the machine's interfaces. Where the lab cannot be made, the doc is skipped with the reason.
    /// </summary>
    private static readonly HashSet<string> NeedsNetLab = new(StringComparer.Ordinal)
    {
        "Publish-ContainerPort.md", "Unpublish-ContainerPort.md", "Add-ContainerNetRule.md", "Get-ContainerNetRule.md",
        "Remove-ContainerNetRule.md", "Set-ContainerBandwidth.md", "New-Container.md",
    };

    private static string NetLabScript => Path.Combine(Repo.Root, "tests", "net", "netlab.sh");

    /// <summary>Runs a program to its end within a bound: its exit code and its output (stdout, then stderr).</summary>
    private static (int Exit, string Output) RunTool(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                p.Kill(entireProcessTree: true);
                return (-1, $"{file} did not finish within 60 s");
            }
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file}: {e.Message}");
        }
    }

    /// <summary>Makes a network lab in <paramref name="dir"/>; null, or why it could not be made (the doc is then skipped).</summary>
    private static string? NetLabUp(string dir)
    {
        foreach (string tool in new[] { "nft", "nsenter", "unshare", "ip", "tc" })
        {
            if (!new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"bridged examples need {tool} (nftables, util-linux, iproute2)";
            }
        }
        if (!File.Exists("/usr/bin/busybox"))
        {
            return "the bridged examples run busybox's httpd and wget: needs /usr/bin/busybox (busybox-static)";
        }
        var (exit, output) = RunTool("bash", NetLabScript, "up", dir);
        return exit == 0 ? null : $"the network lab could not be made (netlab.sh up, exit {exit}): {output.Trim()}";
    }

    /// <summary>Paths the docs name that the test moves into its own space (the doc's text on the left).</summary>
    private static IEnumerable<(string Doc, string Test)> Substitutions(string depot, string root, string drive) =>
    [
        ("/run/pscontainers", depot),
        ("/pscontainers", "/" + root),
        ("/tmp/rootfs", drive + "/rootfs"),
        ("/tmp/report.py", drive + "/report.py"),
        ("/tmp/site", drive + "/site"),
        ("ci-tests", root + "-ci"),
    ];

    private sealed record Example(int Number, string Title, List<string> Commands, List<string> Shown, string? NotRun);

    /// <summary>The text of a `## NAME` section of a doc ("" when it has none).</summary>
    private static string Section(string text, string name)
    {
        int start = text.IndexOf($"\n## {name}\n", StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }
        int end = text.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        return text[start..(end < 0 ? text.Length : end)];
    }

    private static List<Example> Examples(string file)
    {
        string text = File.ReadAllText(Path.Combine(MarkdownDoc.DocsDir, file)).Replace("\r\n", "\n");
        var examples = new List<Example>();
        if (file.StartsWith("about_", StringComparison.Ordinal))
        {
            string description = Section(text, "LONG DESCRIPTION");
            int n = 100;
            foreach (Match block in Regex.Matches(description, @"```powershell\n(.*?)```", RegexOptions.Singleline))
            {
                int heading = description.LastIndexOf("\n### ", block.Index, StringComparison.Ordinal);
                string under = heading < 0 ? "LONG DESCRIPTION" : description[(heading + 5)..description.IndexOf('\n', heading + 1)].Trim();
                examples.Add(Parse(++n, $"code under '{under}'", block.Value));
            }
        }
        string section = Section(text, "EXAMPLES");
        foreach (Match m in Regex.Matches(section, @"^### Example (\d+): (.*)$", RegexOptions.Multiline))
        {
            int next = section.IndexOf("\n### ", m.Index + 1, StringComparison.Ordinal);
            examples.Add(Parse(int.Parse(m.Groups[1].Value), m.Groups[2].Value, section[m.Index..(next < 0 ? section.Length : next)]));
        }
        return examples;
    }

    /// <summary>One example (or snippet) from the markdown of its code blocks.</summary>
    private static Example Parse(int number, string title, string body)
    {
        var commands = new List<string>();
        var shown = new List<string>();
        string? notRun = null;
        foreach (Match block in Regex.Matches(body, @"```powershell\n(.*?)```", RegexOptions.Singleline))
        {
            string[] lines = block.Groups[1].Value.TrimEnd('\n').Split('\n');
            bool prompt = lines.Any(l => l.StartsWith("PS> ", StringComparison.Ordinal));
            foreach (string line in lines)
            {
                if (line.StartsWith(Marker, StringComparison.Ordinal))
                {
                    notRun = line[Marker.Length..].Trim();
                }
                else if (!prompt)
                {
                    commands.Add(line);
                }
                else if (line.StartsWith("PS> ", StringComparison.Ordinal))
                {
                    commands.Add(line[4..]);
                }
                else
                {
                    shown.Add(line);
                }
            }
        }
        return new Example(number, title, commands, shown, notRun);
    }

    [SkippableTheory]
    [MemberData(nameof(Docs))]
    public void EveryRunnableExampleRuns_AndShowsWhatTheDocShows(string file)
    {
        Skip.IfNot(Environment.UserName == "root", "the examples create containers and cgroups: needs root");
        var examples = Examples(file);
        Assert.NotEmpty(examples);
        string id = Guid.NewGuid().ToString("N")[..8];
        string drive = Path.Combine(Path.GetTempPath(), "psc-doc-" + id);
        string depot = Path.Combine(drive, "depot");
        string root = "psc-doc-" + id;
        Directory.CreateDirectory(drive);
        var subs = Substitutions(depot, root, drive).ToList();
        string Into(string s) => subs.Aggregate(s, (acc, x) => acc.Replace(x.Doc, x.Test, StringComparison.Ordinal));
        string store = Path.Combine(drive, "store");
        var env = new Dictionary<string, string?> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = root, ["PSCONTAINERS_STORE"] = store };
        // The lab lies outside the drive: its namespace files are mounts, and the drive is deleted recursively.
        string? lab = NeedsNetLab.Contains(file) ? Path.Combine(Path.GetTempPath(), "psc-doclab-" + id) : null;
        if (lab is not null)
        {
            string? why = NetLabUp(lab);
            if (why is not null)
            {
                Directory.Delete(drive, true);
                Skip.If(true, $"{file}: {why}");
            }
            env["PSCONTAINERS_HOST_NETNS"] = Path.Combine(lab, "host");
        }

        // The driver: cast, then each example between markers; errors are printed as '##E id | message' where they occur.
        var cast = (Casts.GetValueOrDefault(file) ?? "").Split('\n').Select(l => l.Trim()).ToList();
        var before = new Dictionary<int, List<string>>();
        var initial = new List<string>();
        List<string> current = initial;
        foreach (string line in cast)
        {
            Match b = Regex.Match(line, @"^#before (\d+)$");
            if (b.Success)
            {
                current = before[int.Parse(b.Groups[1].Value)] = new List<string>();
            }
            else if (line.Length > 0)
            {
                current.Add(Into(line));
            }
        }
        var script = new StringBuilder();
        script.AppendLine("$ErrorActionPreference = 'Continue'; $ProgressPreference = 'SilentlyContinue'");
        script.AppendLine("function Show-Errors { process { if ($_ -is [System.Management.Automation.ErrorRecord]) { '##E ' + $_.FullyQualifiedErrorId + ' | ' + ($_.ToString() -replace '\\s+', ' ') } else { $_ } } }");
        script.AppendLine("'##CAST'");
        foreach (string line in initial)
        {
            script.AppendLine($". {{ {line} }} 2>&1 | Show-Errors | Out-Null");
        }
        foreach (Example ex in examples)
        {
            script.AppendLine($"'##EXAMPLE {ex.Number}'");
            if (ex.NotRun is not null)
            {
                continue;
            }
            foreach (string line in before.GetValueOrDefault(ex.Number) ?? new List<string>())
            {
                script.AppendLine($". {{ {line} }} 2>&1 | Show-Errors | Where-Object {{ $_ -like '##E *' }} | ForEach-Object {{ '##SETUP ' + $_ }}");
            }
            foreach (string command in ex.Commands.Where(c => c.Trim().Length > 0 && !c.TrimStart().StartsWith('#')))
            {
                // A moment between lines, as between lines typed at the prompt (a program installs its signal traps).
                script.AppendLine($". {{ {Into(command)} }} 2>&1 | Show-Errors | Out-Default; [System.Threading.Thread]::Sleep(300)");
            }
            script.AppendLine($"$env:PSCONTAINERS_DEPOT = '{depot}'; $env:PSCONTAINERS_CGROUP_ROOT = '{root}'; $env:PSCONTAINERS_STORE = '{store}'");
        }
        script.AppendLine("'##END'");
        // Before pwsh ends: what the examples made (processes moved into the cgroups die with them), and any
        // process they started that is still a child of this pwsh (it would hold the test's output pipe open).
        script.AppendLine("Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue");
        script.AppendLine("Remove-Container -Name broken -Force -Confirm:$false -ErrorAction SilentlyContinue");
        script.AppendLine($"Remove-CGroup -Path /{root}, /{root}-ci -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue");
        script.AppendLine("""
            foreach ($d in [System.IO.Directory]::GetDirectories('/proc')) {
                $n = [System.IO.Path]::GetFileName($d)
                if ($n -notmatch '^\d+$') { continue }
                try {
                    $stat = [System.IO.File]::ReadAllText("$d/stat")
                    if ([int]$stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1] -eq $PID) { [System.Diagnostics.Process]::GetProcessById([int]$n).Kill($true) }
                } catch { }
            }
            """);
        string driver = Path.Combine(drive, "driver.ps1");
        File.WriteAllText(driver, script.ToString());

        ShellResult r;
        try
        {
            r = Pwsh.Run(["-NoProfile", "-NonInteractive", "-File", driver], environment: env, workingDirectory: drive, timeout: TimeSpan.FromMinutes(4));
        }
        finally
        {
            Cleanup(env, root, drive);
            if (lab is not null)
            {
                RunTool("bash", NetLabScript, "down", lab);
            }
        }

        // Compare, example by example.
        string Back(string s) => subs.Aggregate(s, (acc, x) => acc.Replace(x.Test, x.Doc, StringComparison.Ordinal));
        static string Norm(string s) => Regex.Replace(Regex.Replace(s, @"\d+", "#"), @"\s+", " ").Trim();
        string stdout = Back(r.StdOut.Replace("\r\n", "\n"));
        Assert.True(stdout.Contains("##END", StringComparison.Ordinal), $"{file}: the driver did not finish\n{r}");
        var failures = new List<string>();
        var setupErrors = Regex.Matches(stdout[..stdout.IndexOf("##EXAMPLE", StringComparison.Ordinal)], @"^##E .*$", RegexOptions.Multiline);
        if (setupErrors.Count > 0)
        {
            failures.Add("cast: " + string.Join("; ", setupErrors.Select(m => m.Value)));
        }
        var notRun = new List<string>();
        foreach (Example ex in examples)
        {
            string tag = ex.Number > 100 ? $"{file} snippet {ex.Number} ({ex.Title})" : $"{file} Example {ex.Number} ({ex.Title})";
            if (ex.NotRun is not null)
            {
                notRun.Add($"{tag}: {ex.NotRun}");
                continue;
            }
            int s0 = stdout.IndexOf($"##EXAMPLE {ex.Number}\n", StringComparison.Ordinal);
            int s1 = stdout.IndexOf("\n##EXAMPLE ", s0 + 5, StringComparison.Ordinal);
            s1 = s1 < 0 ? stdout.IndexOf("\n##END", s0 + 5, StringComparison.Ordinal) : s1;
            string got = stdout[(stdout.IndexOf('\n', s0) + 1)..(s1 < 0 ? stdout.Length : s1 + 1)];
            var gotLines = got.Split('\n');
            // A line the program wrote to stderr is an error record (ContainerStderr) that PowerShell shows as the bare
            // line, as for a native command: the doc shows it as such a line.
            foreach (string stderrLine in gotLines.Where(l => l.StartsWith("##E ContainerStderr | ", StringComparison.Ordinal)))
            {
                string line = stderrLine["##E ContainerStderr | ".Length..];
                if (!ex.Shown.Any(l => Norm(l) == Norm(line) || Norm(l).EndsWith(": " + Norm(line), StringComparison.Ordinal)))
                {
                    failures.Add($"{tag}: the program's stderr line '{line}' is not in the doc");
                }
            }
            var gotErrors = gotLines.Where(l => (l.StartsWith("##E ", StringComparison.Ordinal) && !l.StartsWith("##E ContainerStderr | ", StringComparison.Ordinal))
                || l.StartsWith("##SETUP ", StringComparison.Ordinal)).ToList();
            var shownErrors = ex.Shown.Where(l => Regex.IsMatch(l, @"^([A-Z][a-z]+-[A-Za-z]+|[A-Z][a-z]+[A-Z][A-Za-z]*): ")).ToList();
            if (gotErrors.Any(e => e.StartsWith("##SETUP", StringComparison.Ordinal)))
            {
                failures.Add($"{tag}: its setup failed: {string.Join("; ", gotErrors)}");
                continue;
            }
            if (shownErrors.Count == 0 && gotErrors.Count > 0)
            {
                failures.Add($"{tag}: errors the doc does not show: {string.Join("; ", gotErrors)}");
            }
            var allErrors = gotLines.Where(l => l.StartsWith("##E ", StringComparison.Ordinal)).ToList();
            foreach (string shown in shownErrors)
            {
                string message = Norm(shown[(shown.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
                // An error a job hands back (Receive-Job) reaches the output as the very line pwsh shows.
                bool asText = gotLines.Any(g => Norm(g) == Norm(shown));
                if (!asText && !allErrors.Any(g => Norm(g[(g.IndexOf(" | ", StringComparison.Ordinal) + 3)..]).StartsWith(message.Length > 60 ? message[..60] : message, StringComparison.Ordinal)))
                {
                    failures.Add($"{tag}: the doc shows the error '{shown}', the run gave: {(allErrors.Count == 0 ? "none" : string.Join("; ", allErrors))}; its output:\n{got}");
                }
            }
            // pwsh wraps lines longer than its width (inside words): compare without any white space.
            static string Flat(string s) => Regex.Replace(Regex.Replace(s, @"\d+", "#"), @"\s+", "");
            string gotFlat = Flat(got);
            foreach (string shown in ex.Shown.Where(l => l.StartsWith("What if: ", StringComparison.Ordinal) || l.StartsWith("WARNING: ", StringComparison.Ordinal) || l.StartsWith("VERBOSE: ", StringComparison.Ordinal)))
            {
                if (!gotFlat.Contains(Flat(shown), StringComparison.Ordinal))
                {
                    failures.Add($"{tag}: the doc shows '{shown}', the run did not:\n{got}");
                }
            }
            for (int i = 0; i + 1 < ex.Shown.Count; i++)
            {
                if (Regex.IsMatch(ex.Shown[i + 1], @"^-+( +-+)*\s*$") && ex.Shown[i].Trim().Length > 0)
                {
                    string header = Regex.Replace(ex.Shown[i].Trim(), @"\s+", " ");
                    if (!gotLines.Any(l => Regex.Replace(l.Trim(), @"\s+", " ") == header))
                    {
                        failures.Add($"{tag}: no table with the header '{header}' in:\n{got}");
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures) + $"\n--- stderr ---\n{r.StdErr}");
        Assert.True(notRun.Count <= 2, $"{file}: too many examples are not run:\n{string.Join("\n", notRun)}");
    }

    private static void Cleanup(Dictionary<string, string?> env, string root, string drive)
    {
        // Every container and cgroup of the run, and every process the examples started from pwsh (their
        // cgroups are removed with -Force, which kills what is in them).
        Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
            "Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue; " +
            "Remove-Container -Name broken -Force -Confirm:$false -ErrorAction SilentlyContinue; " +
            $"Remove-CGroup -Path /{root}, /{root}-ci -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue"],
            environment: env, timeout: TimeSpan.FromSeconds(60));
        foreach (string h in Directory.GetDirectories("/sys/fs/cgroup").SelectMany(d => new[] { Path.Combine(d, root), Path.Combine(d, root + "-ci") }).Where(Directory.Exists))
        {
            Directory.Delete(h);
        }
        if (Directory.Exists(drive))
        {
            Directory.Delete(drive, true);
        }
    }
}
