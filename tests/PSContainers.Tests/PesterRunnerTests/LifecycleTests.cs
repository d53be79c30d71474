using PSContainers.PesterRunner;

namespace PSContainers.Tests.PesterRunnerTests;

/// <summary>Discovery and run phases, setup/teardown order and Pester 5 scoping.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public void Setups_tests_and_teardowns_run_in_Pester_5_order()
    {
        using var run = FixtureRun.Start("Scoping.Fixture.ps1");
        var root = run.Directory;

        string[] expected =
        [
            // discovery: the file and the Describe/Context bodies, nothing else
            "discovery file",
            "discovery Scoping",
            "discovery Nested",
            // run
            "root BeforeAll",
            $"Scoping BeforeAll psscriptroot={root}",
            "Scoping BeforeEach",
            "first",
            "Scoping AfterEach eachVar=each testVar=first",
            "Scoping BeforeEach",
            $"second psscriptroot={root}",
            "Scoping AfterEach eachVar=each testVar=",
            "Nested BeforeAll",
            "Scoping BeforeEach",
            "Nested BeforeEach eachVar=each",
            "third",
            "Nested AfterEach",
            "Scoping AfterEach eachVar=each testVar=",
            "Nested AfterAll",
            "Scoping BeforeEach",
            "fails",
            "Scoping AfterEach eachVar=each testVar=fails",
            "Scoping BeforeEach",
            "last",
            "Scoping AfterEach eachVar=each testVar=",
            "Scoping AfterAll blockVar=block",
            "root AfterAll",
        ];
        Assert.Equal(expected, run.Log);
    }

    [Fact]
    public void Variables_follow_Pester_5_scoping_and_runtime_internals_stay_invisible()
    {
        using var run = FixtureRun.Start("Scoping.Fixture.ps1");

        Assert.Equal((5, 1, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        foreach (var name in new[]
        {
            "Scoping > first",
            "Scoping > second",
            "Scoping > Nested > third",
            "Scoping > does not see the nested BeforeAll",
            "Runtime internals are invisible > sees no runner variables",
        })
        {
            var test = run.Test(name);
            Assert.True(test.Outcome == TestOutcome.Passed, $"{name}: {test.Message}");
        }

        var failed = run.Test("Scoping > fails");
        Assert.Equal(TestOutcome.Failed, failed.Outcome);
        Assert.StartsWith("RuntimeException: boom", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AfterEach_and_AfterAll_run_after_failures_and_their_own_failures_count()
    {
        using var run = FixtureRun.Start("Teardown.Fixture.ps1");

        Assert.Equal(["body", "AfterEach after body failure", "AfterAll", "second body"], run.Log);
        Assert.Equal((0, 3, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));

        Assert.StartsWith("Expected 2, but got 1.", run.Test("Teardown > fails in the body").Message, StringComparison.Ordinal);

        var afterAll = run.Test("Teardown (AfterAll)");
        Assert.Equal(TestResultKind.BlockError, afterAll.Kind);
        Assert.Equal(TestOutcome.Failed, afterAll.Outcome);
        Assert.Contains("RuntimeException: teardown exploded", afterAll.Message, StringComparison.Ordinal);

        var afterEach = run.Test("AfterEach throws > passes the body but fails the teardown");
        Assert.Equal(TestOutcome.Failed, afterEach.Outcome);
        Assert.Contains("RuntimeException: after each exploded", afterEach.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_BeforeAll_fails_every_test_of_its_block_and_AfterAll_still_runs()
    {
        using var run = FixtureRun.Start("BeforeAllFailure.Fixture.ps1");

        Assert.Equal((1, 3, 1), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        foreach (var name in new[] { "Setup fails > one", "Setup fails > two", "Setup fails > inner > three" })
        {
            var test = run.Test(name);
            Assert.Equal(TestOutcome.Failed, test.Outcome);
            Assert.StartsWith("BeforeAll failed in 'Setup fails':\nRuntimeException: setup exploded", test.Message, StringComparison.Ordinal);
        }

        Assert.Equal(TestOutcome.Skipped, run.Test("Setup fails > skipped anyway").Outcome);
        Assert.Equal(TestOutcome.Passed, run.Test("Next block still runs > passes").Outcome);
        Assert.Equal(["AfterAll ran"], run.Log);
        Assert.Equal("1 passed, 3 failed, 1 skipped", run.OutputLines[^1]);
    }

    [Fact]
    public void TestCases_and_ForEach_expand_names_and_set_variables()
    {
        using var run = FixtureRun.Start("TestCases.Fixture.ps1");

        string[] names =
        [
            "TestCases > adds 1 and 2 to get 3",
            "TestCases > adds 2 and 2 to get 4",
            "TestCases > uses the ForEach alias for x",
            "TestCases > uses the ForEach alias for y",
            "TestCases > binds a param block to 5",
            "TestCases > expands the expression ann",
            "TestCases > keeps an escaped <a> template",
            "TestCases > fails only for 1",
            "TestCases > fails only for 2",
            "Block one > sees one",
            "Block one > has its own data in every copy",
            "Block two > sees two",
            "Block two > has its own data in every copy",
        ];
        Assert.Equal(names, run.Result.Tests.Select(t => t.Name));
        Assert.Equal((12, 1, 0), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        var failed = run.Test("TestCases > fails only for 2");
        Assert.StartsWith("Expected 1, but got 2.", failed.Message, StringComparison.Ordinal);
        Assert.All(run.Result.Tests.Where(t => t != failed), t => Assert.True(t.Outcome == TestOutcome.Passed, $"{t.Name}: {t.Message}"));
    }

    [Fact]
    public void Skip_counts_as_skipped_and_skipped_code_never_runs()
    {
        using var run = FixtureRun.Start("Skip.Fixture.ps1");

        Assert.Equal((1, 0, 6), (run.Result.Passed, run.Result.Failed, run.Result.Skipped));
        Assert.True(run.Result.Succeeded);
        Assert.Equal("1 passed, 0 failed, 6 skipped", run.OutputLines[^1]);
        Assert.Contains("[!] Skipping > is skipped  skipped", run.OutputLines);
        Assert.Contains("[!] Skipped describe > a  skipped", run.OutputLines);
        Assert.Equal(TestOutcome.Skipped, run.Test("Skipping > has no body").Outcome);
        Assert.Equal(TestOutcome.Skipped, run.Test("Skipping > skipped context > inner").Outcome);
        var itself = run.Test("Skipping > skips itself");
        Assert.Equal(TestOutcome.Skipped, itself.Outcome);
        Assert.Contains("not today", itself.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("must not run", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TestDrive_exists_while_tests_run_and_is_gone_afterwards()
    {
        using var run = FixtureRun.Start("TestDrive.Fixture.ps1");

        Assert.True(run.Result.Failed == 0, run.Output);
        Assert.Equal(4, run.Result.Passed);
        var logged = Assert.Single(run.Log);
        Assert.StartsWith("testdrive=", logged, StringComparison.Ordinal);
        var testDrive = logged["testdrive=".Length..];
        Assert.StartsWith(Path.GetTempPath(), testDrive, StringComparison.Ordinal);
        Assert.False(Directory.Exists(testDrive), $"{testDrive} should have been removed");
    }

    [Fact]
    public void BeforeDiscovery_InModuleScope_strict_mode_and_host_output_work()
    {
        var modules = Path.Combine(FixtureRun.FixtureDirectory, "modules");
        using var run = FixtureRun.Start(["Extras.Fixture.ps1"], modulePath: modules);

        Assert.True(run.Result.Failed == 0, run.Output);
        Assert.Equal(5, run.Result.Passed);
        Assert.Equal(TestOutcome.Passed, run.Test("Extras > generates cases from BeforeDiscovery: b").Outcome);
        Assert.Contains("host output from a test", run.OutputLines);
        Assert.Contains(run.OutputLines, l => l.StartsWith("ERROR: a non-terminating error", StringComparison.Ordinal));
    }
}
