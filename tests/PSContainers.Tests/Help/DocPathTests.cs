using System.Text.RegularExpressions;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>
/// The docs show what a user would see on their machine, never the machine the docs were written on: no path of a
/// build checkout, a home directory or a CI runner in any markdown file under docs/ (the help is built from them).
/// </summary>
public sealed class DocPathTests
{
    /// <summary>Paths that belong to one machine: checkouts, homes, CI workspaces, the NuGet cache.</summary>
    private static readonly Regex MachinePath = new(
        @"(?<![\w.~-])(/work/|/root/|/home/[^/\s`]+/|/Users/[^/\s`]+/|/builds/|/runner/|/opt/hostedtoolcache/|/github/workspace|[A-Za-z]:\\Users\\|\.nuget/packages/)",
        RegexOptions.Compiled);

    public static TheoryData<string> Docs()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.EnumerateFiles(Path.Combine(Repo.Root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(Repo.Root, f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Docs))]
    public void ADoc_NamesNoPathOfTheMachineItWasWrittenOn(string file)
    {
        string[] lines = File.ReadAllLines(Path.Combine(Repo.Root, file));
        var found = lines.Select((l, i) => (Line: l, Number: i + 1))
            .Where(x => MachinePath.IsMatch(x.Line) || x.Line.Contains(Repo.Root, StringComparison.Ordinal))
            .Select(x => $"{file}:{x.Number}: {x.Line.Trim()}")
            .ToList();
        Assert.True(found.Count == 0, "machine paths in the docs (show a path any user would have, such as /usr/local/share/powershell/Modules/...):\n" + string.Join("\n", found));
    }

    [Theory]
    [InlineData("      1       0 root     /work/main/out/PSContainers/0.1.0/psc-init --init")]
    [InlineData("PS /home/alice/src/PSContainers> ./build.ps1")]
    [InlineData("Import-Module /root/.nuget/packages/pester/5.9.1/tools/Pester.psd1")]
    public void TheCheck_CatchesTheKindsOfPathItIsFor(string line) => Assert.Matches(MachinePath, line);

    [Theory]
    [InlineData("PS> ls /run/pscontainers/web")]
    [InlineData("      1       0 root     /usr/local/share/powershell/Modules/PSContainers/0.1.0/psc-init --init")]
    [InlineData("New-Container -Name web -RootPath /tmp/rootfs /bin/sh")]
    [InlineData("$HOME/.local/share/powershell/Modules")]
    public void TheCheck_LeavesPathsAnyMachineHasAlone(string line) => Assert.DoesNotMatch(MachinePath, line);
}
