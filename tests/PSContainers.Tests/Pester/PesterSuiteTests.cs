using PSContainers.Tests.Module;
using Xunit.Abstractions;

namespace PSContainers.Tests.Pester;

/// <summary>
/// Runs every tests/pester/*.Tests.ps1 with real Pester 5.9.1 in real pwsh against the built module, one xunit case per
/// file, through tests/Invoke-PesterSuite.ps1 (what CI and a user run alike). Pester's own output goes to the test
/// output and to out/test-results/pester/&lt;file&gt;.log; its NUnit XML to &lt;file&gt;.xml and its counts to
/// &lt;file&gt;.counts, so CI can total every Pester test, not just the files.
/// </summary>
[Collection("ProcessEnvironment")]
public class PesterSuiteTests
{
    /// <summary>The Pester version dotnet test runs (CI runs 6.2.0 once more over the whole folder).</summary>
    public const string PesterVersion = "5.9.1";

    private readonly ITestOutputHelper _output;

    public PesterSuiteTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Files() =>
        Directory.GetFiles(Path.Combine(Repo.Root, "tests", "pester"), "*.Tests.ps1").OrderBy(f => f).Select(f => new object[] { Path.GetFileName(f) });

    public static string ResultsDir =>
        Environment.GetEnvironmentVariable("PSCONTAINERS_TEST_RESULTS") is string r && r.Length > 0
            ? Path.Combine(r, "pester")
            : Path.Combine(Repo.Out, "test-results", "pester");

    /// <summary>Runs tests/Invoke-PesterSuite.ps1 on one test file in a new pwsh, against the module built in out/.</summary>
    public static ShellResult RunSuite(string path, string resultsDir, string name) =>
        Pwsh.Run(
            ["-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "tests", "Invoke-PesterSuite.ps1"),
             "-Path", path, "-PesterVersion", PesterVersion, "-ResultsDir", resultsDir, "-Name", name],
            environment: new Dictionary<string, string?> { ["PSCONTAINERS_MODULE_PATH"] = null },
            workingDirectory: Repo.Root,
            timeout: TimeSpan.FromMinutes(20));

    [Theory]
    [MemberData(nameof(Files))]
    public void PesterFilePasses(string file)
    {
        ShellResult r = RunSuite(Path.Combine(Repo.Root, "tests", "pester", file), ResultsDir, file);
        string text = r.StdOut + r.StdErr;
        _output.WriteLine(text);
        File.WriteAllText(Path.Combine(ResultsDir, file + ".log"), text);

        string counts = Path.Combine(ResultsDir, file + ".counts");
        Assert.True(File.Exists(counts), $"{file}: Pester wrote no counts\n{text}");
        int[] n = File.ReadAllText(counts).Split(' ').Select(int.Parse).ToArray();
        Assert.True(n[0] + n[1] + n[2] > 0, $"{file} ran no test:\n{text}");
        Assert.True(n[1] == 0 && r.ExitCode == 0, $"{file}: {n[1]} failed, pwsh exited {r.ExitCode}\n{text}");
        Assert.True(File.Exists(Path.Combine(ResultsDir, file + ".xml")), $"{file}: no NUnit XML was written");
    }

    /// <summary>
    /// The proof that a failing It fails dotnet test: a scratch file with one passing, one failing and one skipped It,
    /// run through the same script, exits non-zero and is counted as 1 1 1, with Pester's own failure text.
    /// </summary>
    [Fact]
    public void AFailingIt_FailsTheRun_AndIsCounted()
    {
        using var dir = new TempDir();
        string file = dir.Write("Proof.Tests.ps1", """
            Describe 'proof' {
                It 'passes' { 1 | Should -Be 1 }
                It 'fails' { 1 | Should -Be 2 }
                It 'is skipped' -Skip { }
            }
            """);
        ShellResult r = RunSuite(file, dir.Path, "proof");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal("1 1 1", File.ReadAllText(Path.Combine(dir.Path, "proof.counts")));
        Assert.Contains("Expected 2, but got 1.", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("Tests Passed: 1, Failed: 1, Skipped: 1", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("Discovery found 3 tests", r.StdOut, StringComparison.Ordinal);
        string xml = File.ReadAllText(Path.Combine(dir.Path, "proof.xml"));
        Assert.Contains("failures=\"1\"", xml, StringComparison.Ordinal);
    }

    /// <summary>A file that does not parse fails the run though no It failed.</summary>
    [Fact]
    public void AFileThatDoesNotParse_FailsTheRun()
    {
        using var dir = new TempDir();
        string file = dir.Write("Broken.Tests.ps1", "Describe 'broken' { It 'never' { 1 | Should -Be 1 } ");
        ShellResult r = RunSuite(file, dir.Path, "broken");
        Assert.True(r.ExitCode != 0, r.ToString());
    }
}
