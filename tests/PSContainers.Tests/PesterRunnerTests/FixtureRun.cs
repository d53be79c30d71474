using PSContainers.PesterRunner;

namespace PSContainers.Tests.PesterRunnerTests;

/// <summary>
/// Copies runner fixtures (tests/PSContainers.PesterRunner/fixtures) into a private temporary
/// directory, so the order.log files they write never collide, and runs them through the runner.
/// </summary>
internal sealed class FixtureRun : IDisposable
{
    private FixtureRun(string directory, RunResult result, string output)
    {
        Directory = directory;
        Result = result;
        Output = output;
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string FixtureDirectory => Path.Combine(RepoRoot, "tests", "PSContainers.PesterRunner", "fixtures");

    /// <summary>Where the copied fixtures ran ($PSScriptRoot of the tests).</summary>
    public string Directory { get; }

    public RunResult Result { get; }

    public string Output { get; }

    public string[] OutputLines => Output.Replace("\r\n", "\n").TrimEnd('\n').Split('\n');

    /// <summary>The lines the fixtures appended to order.log, in order.</summary>
    public string[] Log
    {
        get
        {
            var path = Path.Combine(Directory, "order.log");
            return File.Exists(path) ? File.ReadAllText(path).TrimEnd('\n').Split('\n') : [];
        }
    }

    public static FixtureRun Start(string[] fixtures, string? modulePath = null, string[]? tags = null, string[]? excludeTags = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pester-runner-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var files = new List<string>();
        foreach (var fixture in fixtures)
        {
            var target = Path.Combine(directory, fixture);
            var source = Path.Combine(FixtureDirectory, fixture);
            if (File.Exists(source))
            {
                File.Copy(source, target);
            }

            files.Add(target);
        }

        var output = new StringWriter();
        var result = Runner.Run(files, output, modulePath, tags, excludeTags);
        return new FixtureRun(directory, result, output.ToString());
    }

    public static FixtureRun Start(params string[] fixtures) => Start(fixtures, null);

    /// <summary>The one result with this exact name.</summary>
    public TestResult Test(string name)
    {
        var found = Result.Tests.Where(t => t.Name == name).ToList();
        Assert.True(found.Count == 1, $"expected one result named '{name}', found {found.Count}. Output:\n{Output}");
        return found[0];
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PSContainers.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("PSContainers.sln not found above " + AppContext.BaseDirectory);
    }
}
