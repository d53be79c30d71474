using PSContainers.PesterRunner;

namespace PSContainers.Tests.PesterRunnerTests;

/// <summary>Runs Should.Fixture.ps1 once for all tests of <see cref="ShouldTests"/>.</summary>
public sealed class ShouldFixtureRun : IDisposable
{
    internal FixtureRun Run { get; } = FixtureRun.Start("Should.Fixture.ps1");

    public void Dispose() => Run.Dispose();
}

/// <summary>Every Should operator passes where it must and fails, with Pester's message, where it must.</summary>
public sealed class ShouldTests(ShouldFixtureRun fixture) : IClassFixture<ShouldFixtureRun>
{
    // the difference marker starts under the first character inside "Expected: '"
    private const string Marker = "           ";

    private FixtureRun Run => fixture.Run;

    [Fact]
    public void Exact_counts()
    {
        Assert.Equal((15, 50, 0), (Run.Result.Passed, Run.Result.Failed, Run.Result.Skipped));
        Assert.Equal("15 passed, 50 failed", Run.OutputLines[^1]);
    }

    [Theory]
    [InlineData("Be")]
    [InlineData("BeExactly")]
    [InlineData("BeTrue and BeFalse")]
    [InlineData("BeNullOrEmpty")]
    [InlineData("BeOfType")]
    [InlineData("comparisons")]
    [InlineData("Match and MatchExactly")]
    [InlineData("Contain")]
    [InlineData("HaveCount")]
    [InlineData("BeIn")]
    [InlineData("BeLike and BeLikeExactly")]
    [InlineData("Exist")]
    [InlineData("Throw")]
    [InlineData("Throw with ErrorId and ExceptionType")]
    [InlineData("sees variables of the test in the -Throw script block")]
    public void Passing_assertions_pass(string name)
    {
        var test = Run.Test("passes > " + name);
        Assert.True(test.Outcome == TestOutcome.Passed, $"{test.Name}: {test.Message}");
    }

    [Theory]
    [InlineData("Be number", "Expected 2, but got 1.")]
    [InlineData("Be because", "Expected 2, because one is not two, but got 1.")]
    [InlineData("Be array", "Expected @(1, 3), but got @(1, 2).")]
    [InlineData("Be null", "Expected 1, but got $null.")]
    [InlineData("Be string", "Expected strings to be the same, but they were different.\nString lengths are both 3.\nStrings differ at index 2.\nExpected: 'abd'\nBut was:  'abc'\n" + Marker + "--^")]
    [InlineData("Not Be", "Expected 1 to be different from the actual value, but got the same value.")]
    [InlineData("BeExactly case", "Expected strings to be the same, but they were different.\nString lengths are both 1.\nStrings differ at index 0.\nExpected: 'a'\nBut was:  'A'\n" + Marker + "^")]
    [InlineData("BeExactly number", "Expected exactly 2, but got 1.")]
    [InlineData("Not BeExactly", "Expected 'a' to be different from the actual value, but got exactly the same value.")]
    [InlineData("BeTrue", "Expected $true, but got $false.")]
    [InlineData("Not BeTrue", "Expected $false, but got $true.")]
    [InlineData("BeFalse", "Expected $false, but got 1.")]
    [InlineData("Not BeFalse", "Expected $true, but got 0.")]
    [InlineData("BeNullOrEmpty", "Expected $null or empty, but got 'x'.")]
    [InlineData("Not BeNullOrEmpty", "Expected a value, but got $null or empty.")]
    [InlineData("BeOfType", "Expected the value to have type [string] or any of its subtypes, but got 1 with type [int].")]
    [InlineData("Not BeOfType", "Expected the value to not have type [string] or any of its subtypes, but got 'a' with type [string].")]
    [InlineData("BeGreaterThan", "Expected the actual value to be greater than 2, but got 1.")]
    [InlineData("Not BeGreaterThan", "Expected the actual value to be less than or equal to 2, but got 3.")]
    [InlineData("BeLessThan", "Expected the actual value to be less than 2, but got 3.")]
    [InlineData("Not BeLessThan", "Expected the actual value to be greater than or equal to 2, but got 1.")]
    [InlineData("BeGreaterOrEqual", "Expected the actual value to be greater than or equal to 2, but got 1.")]
    [InlineData("Not BeGreaterOrEqual", "Expected the actual value to be less than 2, but got 2.")]
    [InlineData("BeLessOrEqual", "Expected the actual value to be less than or equal to 2, but got 3.")]
    [InlineData("Not BeLessOrEqual", "Expected the actual value to be greater than 2, but got 2.")]
    [InlineData("Match", "Expected regular expression 'x' to match 'abc', but it did not match.")]
    [InlineData("Not Match", "Expected regular expression 'B' to not match 'abc', but it did match.")]
    [InlineData("MatchExactly", "Expected regular expression 'B' to case sensitively match 'abc', but it did not match.")]
    [InlineData("Not MatchExactly", "Expected regular expression 'b' to not case sensitively match 'abc', but it did match.")]
    [InlineData("Contain", "Expected 3 to be found in collection @(1, 2), but it was not found.")]
    [InlineData("Not Contain", "Expected 2 to not be found in collection @(1, 2), but it was found.")]
    [InlineData("HaveCount", "Expected a collection with size 3, but got collection with size 2 @(1, 2).")]
    [InlineData("HaveCount empty", "Expected a collection with size 1, but got an empty collection.")]
    [InlineData("Not HaveCount", "Expected a collection with size different from 2, but got collection with that size @(1, 2).")]
    [InlineData("BeIn", "Expected collection @(1, 2) to contain 4, but it was not found.")]
    [InlineData("Not BeIn", "Expected collection @(1, 2) to not contain 1, but it was found.")]
    [InlineData("BeLike", "Expected like wildcard 'x*' to match 'abc', but it did not match.")]
    [InlineData("Not BeLike", "Expected like wildcard 'A*' to not match 'abc', but it did match.")]
    [InlineData("BeLikeExactly", "Expected case sensitive like wildcard 'A*' to match 'abc', but it did not match.")]
    [InlineData("Exist", "Expected path '/definitely/not/here' to exist, but it did not exist.")]
    [InlineData("Not Exist", "Expected path '/' to not exist, but it did exist.")]
    [InlineData("Throw nothing thrown", "Expected an exception to be thrown, but no exception was thrown.")]
    [InlineData("Throw because", "Expected an exception to be thrown, because it must fail, but no exception was thrown.")]
    public void Failing_assertions_fail_with_Pesters_message(string name, string expected)
    {
        var test = Run.Test("fails > " + name);
        Assert.Equal(TestOutcome.Failed, test.Outcome);
        var file = Path.Combine(Run.Directory, "Should.Fixture.ps1");
        Assert.Matches($@"\nat .*Should.*, {System.Text.RegularExpressions.Regex.Escape(file)}:\d+$", test.Message!);
        Assert.Equal(expected, test.Message![..test.Message!.LastIndexOf("\nat ", StringComparison.Ordinal)]);
    }

    [Theory]
    [InlineData("Not Throw", "Expected no exception to be thrown, but an exception \"unexpected\" was thrown from ")]
    [InlineData("Throw message", "Expected an exception with message like 'expected' to be thrown, but the message was 'actual'. from ")]
    [InlineData("Throw type", "Expected an exception with type [System.InvalidOperationException] to be thrown, but the exception type was [System.ArgumentException]. from ")]
    [InlineData("Throw error id", "Expected an exception with FullyQualifiedErrorId 'ContainerNotFound' to be thrown, but the FullyQualifiedErrorId was 'ContainerNotFound,Invoke-Failing'. from ")]
    [InlineData("Throw input not a script block", "ArgumentException: Input is missing or not a ScriptBlock. Input to '-Throw' and '-Not -Throw' must be enclosed in curly braces.")]
    [InlineData("no operator", "RuntimeException: Should requires an operator")]
    public void Throw_failures_say_what_was_expected_and_what_happened(string name, string expectedStart)
    {
        var test = Run.Test("fails > " + name);
        Assert.Equal(TestOutcome.Failed, test.Outcome);
        Assert.StartsWith(expectedStart, test.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_points_at_the_failing_Should_line()
    {
        var file = Path.Combine(Run.Directory, "Should.Fixture.ps1");
        var line = Array.FindIndex(File.ReadAllLines(file), l => l.Trim() == "2 | Should -Be 3") + 1;
        Assert.True(line > 0);

        var test = Run.Test("fails > second assertion fails");

        Assert.Equal($"Expected 3, but got 2.\nat 2 | Should -Be 3, {file}:{line}", test.Message);
        var lines = Run.OutputLines;
        var at = Array.FindIndex(lines, l => l.StartsWith("[-] fails > second assertion fails  ", StringComparison.Ordinal));
        Assert.Equal("    Expected 3, but got 2.", lines[at + 1]);
        Assert.Equal($"    at 2 | Should -Be 3, {file}:{line}", lines[at + 2]);
    }
}
