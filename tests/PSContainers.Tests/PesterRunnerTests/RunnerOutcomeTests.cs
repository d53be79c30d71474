using PSContainers.PesterRunner;

namespace PSContainers.Tests.PesterRunnerTests;

/// <summary>Counts, the closing line, file-level failures and isolation between files.</summary>
public sealed class RunnerOutcomeTests
{
    [Fact]
    public void A_passing_file_passes_with_one_line_per_test_and_a_closing_line_without_skipped()
    {
        using var run = FixtureRun.Start("Passing.Fixture.ps1");

        Assert.Equal((4, 0, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        Assert.True(run.Result.Succeeded);
        Assert.Equal("4 passed, 0 failed", run.OutputLines[^1]);
        Assert.Equal(1, run.OutputLines.Count(l => l.Contains(" passed, ", StringComparison.Ordinal)));
        Assert.Matches(@"^\[\+\] Passing > adds  \d+ms$", run.OutputLines.Single(l => l.Contains("> adds", StringComparison.Ordinal)));
        Assert.Contains(run.OutputLines, l => l.StartsWith("[+] Passing > nested > counts  ", StringComparison.Ordinal));
        Assert.All(run.Result.Tests, t => Assert.Equal(TestResultKind.Test, t.Kind));
    }

    [Fact]
    public void A_failing_It_fails_the_run_with_exact_counts_message_and_line()
    {
        using var run = FixtureRun.Start("Failing.Fixture.ps1");
        var file = Path.Combine(run.Directory, "Failing.Fixture.ps1");

        Assert.Equal((2, 2, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        Assert.False(run.Result.Succeeded);
        Assert.Equal("2 passed, 2 failed", run.OutputLines[^1]);

        var assertion = run.Test("Failing > fails an assertion");
        Assert.Equal(TestOutcome.Failed, assertion.Outcome);
        Assert.Equal($"Expected 2, but got 1.\nat $actual | Should -Be 2, {file}:9", assertion.Message);
        Assert.Equal(file, assertion.File);

        var thrown = run.Test("Failing > throws");
        Assert.Equal(TestOutcome.Failed, thrown.Outcome);
        Assert.Equal($"RuntimeException: something broke\nat <ScriptBlock>, {file}:13", thrown.Message);

        var lines = run.OutputLines;
        var failedLine = Array.FindIndex(lines, l => l.StartsWith("[-] Failing > fails an assertion  ", StringComparison.Ordinal));
        Assert.True(failedLine >= 0, run.Output);
        Assert.Equal("    Expected 2, but got 1.", lines[failedLine + 1]);
        Assert.Equal($"    at $actual | Should -Be 2, {file}:9", lines[failedLine + 2]);
        Assert.Equal(TestOutcome.Passed, run.Test("Failing > passes last").Outcome);
    }

    [Fact]
    public void Results_of_several_files_add_up_and_every_file_gets_a_fresh_runspace()
    {
        using var run = FixtureRun.Start("Passing.Fixture.ps1", "Failing.Fixture.ps1", "IsolationA.Fixture.ps1", "IsolationB.Fixture.ps1");

        Assert.Equal((8, 2, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        Assert.Equal(4, run.Result.Files.Count);
        Assert.Equal(TestOutcome.Passed, run.Test("Isolation B > runs in a fresh runspace").Outcome);
        Assert.Equal(4, run.OutputLines.Count(l => l.StartsWith("Running tests from '", StringComparison.Ordinal)));
        Assert.Equal("8 passed, 2 failed", run.OutputLines[^1]);
    }

    [Fact]
    public void A_parse_error_counts_as_a_failure()
    {
        using var run = FixtureRun.Start("ParseError.Fixture.ps1");

        Assert.Equal((0, 1, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        var failure = Assert.Single(run.Result.Tests);
        Assert.Equal(TestResultKind.FileError, failure.Kind);
        Assert.Equal(TestOutcome.Failed, failure.Outcome);
        Assert.Equal("ParseError.Fixture.ps1 (parse)", failure.Name);
        Assert.Contains("parse errors", failure.Message, StringComparison.Ordinal);
        Assert.Contains("ParseError.Fixture.ps1:4", failure.Message, StringComparison.Ordinal);
        Assert.Contains("[-] ParseError.Fixture.ps1 (parse)", run.OutputLines);
        Assert.Equal("0 passed, 1 failed", run.OutputLines[^1]);
    }

    [Fact]
    public void An_exception_during_discovery_fails_the_file_and_runs_none_of_its_tests()
    {
        using var run = FixtureRun.Start("DiscoveryError.Fixture.ps1");

        Assert.Equal((0, 1, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        var failure = Assert.Single(run.Result.Tests);
        Assert.Equal(TestResultKind.FileError, failure.Kind);
        Assert.Equal("DiscoveryError.Fixture.ps1 (discovery)", failure.Name);
        Assert.Contains("RuntimeException: discovery exploded", failure.Message, StringComparison.Ordinal);
        Assert.Contains("DiscoveryError.Fixture.ps1:7", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_tests_is_visible_in_the_output()
    {
        using var run = FixtureRun.Start("Empty.Fixture.ps1");

        Assert.Empty(run.Result.Tests);
        Assert.Contains(run.OutputLines, l => l.StartsWith("[?] No tests found in '", StringComparison.Ordinal) && l.Contains("Empty.Fixture.ps1", StringComparison.Ordinal));
        Assert.Equal("0 passed, 0 failed", run.OutputLines[^1]);
    }

    [Fact]
    public void A_missing_file_counts_as_a_failure()
    {
        using var run = FixtureRun.Start("DoesNotExist.Tests.ps1");

        var failure = Assert.Single(run.Result.Tests);
        Assert.Equal(TestOutcome.Failed, failure.Outcome);
        Assert.Equal(TestResultKind.FileError, failure.Kind);
        Assert.Equal(1, run.Result.Failed);
    }

    [Fact]
    public void A_directory_stands_for_every_Tests_ps1_file_beneath_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "pester-runner-dir-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "sub"));
            File.Copy(Path.Combine(FixtureRun.FixtureDirectory, "Passing.Fixture.ps1"), Path.Combine(root, "A.Tests.ps1"));
            File.Copy(Path.Combine(FixtureRun.FixtureDirectory, "Failing.Fixture.ps1"), Path.Combine(root, "sub", "B.Tests.ps1"));
            File.Copy(Path.Combine(FixtureRun.FixtureDirectory, "Failing.Fixture.ps1"), Path.Combine(root, "NotATest.ps1"));

            var result = Runner.Run([root], TextWriter.Null);

            Assert.Equal(2, result.Files.Count);
            Assert.Equal((6, 2), (result.Passed, result.Failed));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData(12, 0, 1, "12 passed, 0 failed, 1 skipped")]
    [InlineData(3, 1, 0, "3 passed, 1 failed")]
    [InlineData(0, 0, 0, "0 passed, 0 failed")]
    public void The_closing_line_mentions_skipped_only_when_some_were_skipped(int passed, int failed, int skipped, string expected)
    {
        Assert.Equal(expected, Runner.FormatSummary(passed, failed, skipped));
    }

    [Fact]
    public void The_module_path_directory_comes_first_in_PSModulePath()
    {
        var modules = Path.Combine(FixtureRun.FixtureDirectory, "modules");
        using var with = FixtureRun.Start(["ModulePath.Fixture.ps1"], modulePath: modules);
        Assert.Equal((1, 0), (with.Result.Passed, with.Result.Failed));
    }

    [Fact]
    public void A_module_that_cannot_be_imported_in_BeforeAll_fails_the_test()
    {
        var directory = Path.Combine(Path.GetTempPath(), "pester-runner-import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var file = Path.Combine(directory, "Import.Tests.ps1");
            File.WriteAllText(file, """
                BeforeAll { Import-Module NoSuchModuleAnywhere -ErrorAction Stop }
                Describe 'Import' { It 'needs the module' { } }
                """);
            var output = new StringWriter();

            var result = Runner.Run([file], output);

            var test = Assert.Single(result.Tests);
            Assert.Equal(TestOutcome.Failed, test.Outcome);
            Assert.StartsWith("BeforeAll failed:", test.Message, StringComparison.Ordinal);
            Assert.Contains("NoSuchModuleAnywhere", test.Message, StringComparison.Ordinal);
            Assert.EndsWith("0 passed, 1 failed" + Environment.NewLine, output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "fast" }, null, new[] { "Tagged > fast in slow", "Untagged > fast one" })]
    [InlineData(new[] { "f*" }, null, new[] { "Tagged > fast in slow", "Untagged > fast one" })]
    [InlineData(new[] { "slow" }, null, new[] { "Tagged > slow one", "Tagged > fast in slow" })]
    [InlineData(null, new[] { "slow" }, new[] { "Untagged > plain", "Untagged > fast one" })]
    [InlineData(new[] { "fast" }, new[] { "slow" }, new[] { "Untagged > fast one" })]
    [InlineData(null, null, new[] { "Tagged > slow one", "Tagged > fast in slow", "Untagged > plain", "Untagged > fast one" })]
    public void Tags_select_tests_including_tags_inherited_from_blocks(string[]? tags, string[]? excluded, string[] expected)
    {
        using var run = FixtureRun.Start(["Tags.Fixture.ps1"], tags: tags, excludeTags: excluded);
        Assert.Equal(expected, run.Result.Tests.Select(t => t.Name));
        Assert.All(run.Result.Tests, t => Assert.Equal(TestOutcome.Passed, t.Outcome));
    }
}
