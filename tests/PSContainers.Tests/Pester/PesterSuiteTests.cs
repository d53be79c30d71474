using PSContainers.PesterRunner;
using PSContainers.Tests.Module;
using Xunit.Abstractions;

namespace PSContainers.Tests.Pester;

/// <summary>
/// Runs every tests/pester/*.Tests.ps1 through the Pester-compatible runner against the built module, one xunit
/// case per file. Each file's per-test lines go to the test output and to out/test-results/pester/&lt;file&gt;.log,
/// and its counts to &lt;file&gt;.counts, so CI can total every Pester test, not just the files.
/// </summary>
[Collection("ProcessEnvironment")]
public class PesterSuiteTests
{
    private readonly ITestOutputHelper _output;

    public PesterSuiteTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Files() =>
        Directory.GetFiles(Path.Combine(Repo.Root, "tests", "pester"), "*.Tests.ps1").OrderBy(f => f).Select(f => new object[] { Path.GetFileName(f) });

    [Theory]
    [MemberData(nameof(Files))]
    public void PesterFilePasses(string file)
    {
        var writer = new StringWriter();
        RunResult result = Runner.Run(new[] { Path.Combine(Repo.Root, "tests", "pester", file) }, writer, Repo.Out);
        string text = writer.ToString();
        _output.WriteLine(text);

        string dir = Environment.GetEnvironmentVariable("PSCONTAINERS_TEST_RESULTS") is string r && r.Length > 0
            ? Path.Combine(r, "pester")
            : Path.Combine(Repo.Out, "test-results", "pester");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, file + ".log"), text);
        File.WriteAllText(Path.Combine(dir, file + ".counts"), $"{result.Passed} {result.Failed} {result.Skipped}\n");

        Assert.True(result.Tests.Count > 0, $"{file} ran no test:\n{text}");
        Assert.True(result.Failed == 0, $"{result.Summary}\n{text}");
    }
}
