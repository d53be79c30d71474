using System.Text;

namespace PSContainers.Tests.ShellTests;

/// <summary>-Command, -EncodedCommand, -File and the command-line parser, against the built pscsh.</summary>
public class CommandLineTests
{
    [Fact]
    public void Command_WritesResultsThroughOutDefault()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "1 + 41; 'hello ' + 'world'");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "42", "hello world" }, Pscsh.Lines(r.StdOut));
        Assert.Equal(string.Empty, r.StdErr);
    }

    [Fact]
    public void Command_JoinsTheRemainingArguments()
    {
        // As pwsh: everything after -Command is one script, joined with spaces.
        ShellResult r = Pscsh.Run("-nop", "-c", "'a' +", "'b'");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "ab" }, Pscsh.Lines(r.StdOut));
    }

    [Theory]
    [InlineData("exit 7", 7)]
    [InlineData("exit 0", 0)]
    [InlineData("'before'; exit 255", 255)]
    public void Command_ExitN_IsTheProcessExitCode(string script, int expected)
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", script);
        Assert.True(r.ExitCode == expected, r.ToString());
    }

    [Fact]
    public void Command_Throw_Exits1_AndShowsTheErrorLikePwsh()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "'first'; throw 'boom-42'; 'never'");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal(new[] { "first" }, Pscsh.Lines(r.StdOut));
        // ConciseView: "Exception: ... boom-42" on stderr (plain text: stderr is not a terminal).
        Assert.StartsWith("Exception:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("boom-42", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_UnknownCommand_Exits1_WithNotRecognizedMessage()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "Get-NoSuchCommand");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains(
            "Get-NoSuchCommand: The term 'Get-NoSuchCommand' is not recognized as a name of a cmdlet, function, script file, or executable program.",
            r.StdErr,
            StringComparison.Ordinal);
        Assert.Equal(string.Empty, r.StdOut.Trim());
    }

    [Fact]
    public void Command_ExitCodeFollowsTheLastPipeline()
    {
        // pwsh -Command: 0 when $? is true after the last statement, even if an earlier one failed.
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "Get-NoSuchCommand; 'recovered'");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "recovered" }, Pscsh.Lines(r.StdOut));
        Assert.Contains("is not recognized", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_NativeFailureAsLastCommand_Exits1_AndExitLastExitCodeKeepsIt()
    {
        ShellResult failed = Pscsh.Run("-NoProfile", "-Command", "sh -c 'exit 3'");
        Assert.True(failed.ExitCode == 1, failed.ToString());

        ShellResult kept = Pscsh.Run("-NoProfile", "-Command", "sh -c 'echo native; exit 3'; exit $LASTEXITCODE");
        Assert.True(kept.ExitCode == 3, kept.ToString());
        Assert.Equal(new[] { "native" }, Pscsh.Lines(kept.StdOut));
    }

    [Fact]
    public void Command_IncompleteInput_ShowsTheParserError()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", "$x = 1 +");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.StartsWith("ParserError:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("You must provide a value expression following the '+' operator.", r.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-EncodedCommand")]
    [InlineData("-e")]
    [InlineData("-ec")]
    [InlineData("-enc")]
    public void EncodedCommand_RunsTheBase64Utf16Script(string parameter)
    {
        string encoded = Convert.ToBase64String(Encoding.Unicode.GetBytes("'enc:' + (6 * 7); exit 4"));
        ShellResult r = Pscsh.Run("-NoProfile", parameter, encoded);
        Assert.True(r.ExitCode == 4, r.ToString());
        Assert.Equal(new[] { "enc:42" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void EncodedCommand_NotBase64_Exits64()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-EncodedCommand", "not*base64");
        Assert.True(r.ExitCode == 64, r.ToString());
        Assert.Contains("-EncodedCommand is not properly encoded", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandDash_ReadsTheScriptFromStdin()
    {
        const string script = "function Add-Two {\n  param($x)\n  $x + 2\n}\nAdd-Two 40\n'done'\n";
        ShellResult r = Pscsh.Run(new[] { "-NoProfile", "-Command", "-" }, stdin: script);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "42", "done" }, Pscsh.Lines(r.StdOut));
        Assert.DoesNotContain("PS ", r.StdOut, StringComparison.Ordinal); // no prompts with -Command -
    }

    [Fact]
    public void CommandDash_ExitInStdinScript_IsTheExitCode()
    {
        ShellResult r = Pscsh.Run(new[] { "-nop", "-c", "-" }, stdin: "'one'\nexit 6\n'two'\n");
        Assert.True(r.ExitCode == 6, r.ToString());
        Assert.Equal(new[] { "one" }, Pscsh.Lines(r.StdOut));
    }

    [Theory]
    [InlineData("-bogus")]
    [InlineData("-NoSuchParameter")]
    [InlineData("--what")]
    public void UnknownParameter_Exits64(string parameter)
    {
        ShellResult r = Pscsh.Run(parameter);
        Assert.True(r.ExitCode == 64, r.ToString());
        Assert.Contains($"The argument '{parameter}' is not recognized as the name of a script file.", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("Usage: pscsh", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void AmbiguousParameter_SuggestsCandidates_AndExits64()
    {
        ShellResult r = Pscsh.Run("-no");
        Assert.True(r.ExitCode == 64, r.ToString());
        Assert.Contains("Invalid argument '-no', did you mean:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("-noprofile", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("-noninteractive", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingCommandArgument_Exits64()
    {
        ShellResult r = Pscsh.Run("-Command");
        Assert.True(r.ExitCode == 64, r.ToString());
        Assert.Contains("A command must follow -Command", r.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-NOPROFILE", "-COMMAND")]
    [InlineData("-nop", "-c")]
    [InlineData("-noprof", "-comm")]
    [InlineData("--noprofile", "--command")]
    [InlineData("/NoProfile", "/Command")]
    public void Parameters_AreCaseInsensitiveAndAbbreviable(string noProfile, string command)
    {
        ShellResult r = Pscsh.Run(noProfile, "-NonInteractive", "-NoLogo", command, "'ok'");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "ok" }, Pscsh.Lines(r.StdOut));
    }

    [Theory]
    [InlineData("-Help")]
    [InlineData("-?")]
    [InlineData("-h")]
    public void Help_PrintsUsage_Exits0(string parameter)
    {
        ShellResult r = Pscsh.Run(parameter);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage: pscsh", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("-EncodedCommand", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_PrintsShellAndEngineVersion()
    {
        ShellResult r = Pscsh.Run("-Version");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"^pscsh \d+\.\d+\.\d+.* \(PowerShell 7\.\d+\.\d+\)$", Pscsh.Lines(r.StdOut).Single());
    }

    [Fact]
    public void NonInteractive_WithoutCommand_AndNoInput_Exits0()
    {
        // stdin is redirected but empty: nothing to run.
        ShellResult r = Pscsh.Run(new[] { "-NoProfile", "-NonInteractive" }, stdin: string.Empty);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(string.Empty, r.StdErr);
    }

    [Fact]
    public void WorkingDirectory_SetsTheInitialLocation()
    {
        using var dir = new TempDir();
        ShellResult r = Pscsh.Run("-NoProfile", "-WorkingDirectory", dir.Path, "-Command", "$PWD.Path");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { dir.Path }, Pscsh.Lines(r.StdOut));
    }
}
