namespace PSContainers.Tests.ShellTests;

/// <summary>-File: argument binding to param(), exit codes, errors.</summary>
public sealed class FileTests : IDisposable
{
    private const string ParamScript = """
        param(
            [string] $Name = 'nobody',
            [int] $Count = 1,
            [switch] $Loud,
            [Parameter(ValueFromRemainingArguments)] $Rest
        )
        "Name=$Name"
        "Count=$Count"
        "Loud=$Loud"
        "Rest=$($Rest -join ',')"
        "Root=$PSScriptRoot"
        if ($Count -eq 3) { exit 3 }
        if ($Count -eq 4) { throw "count four is not allowed" }
        """;

    private readonly TempDir _dir = new();
    private readonly string _script;

    public FileTests()
    {
        _script = _dir.Write("args.ps1", ParamScript);
    }

    public void Dispose() => _dir.Dispose();

    private string[] Values(ShellResult r) =>
        Pscsh.Lines(r.StdOut).Where(l => l.Contains('=')).ToArray();

    [Fact]
    public void File_PositionalArguments_BindToParam()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-File", _script, "bob", "2");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "Name=bob", "Count=2", "Loud=False", "Rest=", "Root=" + _dir.Path }, Values(r));
    }

    [Fact]
    public void File_NamedArgumentsAndSwitches_BindToParam()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-File", _script, "-Count", "5", "-Loud", "-Name", "alice", "extra1", "extra2");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "Name=alice", "Count=5", "Loud=True", "Rest=extra1,extra2", "Root=" + _dir.Path }, Values(r));
    }

    [Fact]
    public void File_ColonSyntax_AndBooleanSwitchValues()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-f", _script, "-Name:carol", "-Loud:$false", "-Count:", "6");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "Name=carol", "Count=6", "Loud=False", "Rest=", "Root=" + _dir.Path }, Values(r));
    }

    [Fact]
    public void File_WithoutParameterName_IsTheDefault()
    {
        // As pwsh: the first argument that is not a parameter is the script.
        ShellResult r = Pscsh.Run("-NoProfile", _script, "dave");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Name=dave", Values(r));
    }

    [Fact]
    public void File_Exit3_IsTheProcessExitCode()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-File", _script, "-Count", "3");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("Count=3", Values(r));
    }

    [Fact]
    public void File_Throw_Exits1_WithTheErrorAndItsPosition()
    {
        ShellResult r = Pscsh.Run("-NoProfile", "-File", _script, "-Count", "4");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.StartsWith("Exception: " + _script + ":13", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("count four is not allowed", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void File_NonTerminatingErrorAtTheEnd_StillExits0()
    {
        // pwsh -File: normal termination gives 0; only `exit N` and terminating errors change it.
        string script = _dir.Write("soft.ps1", "'start'\nGet-NoSuchCommand\n");
        ShellResult r = Pscsh.Run("-NoProfile", "-File", script);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("is not recognized", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void File_ExitInsideAFunction_EndsTheScript()
    {
        string script = _dir.Write("fn.ps1", "function Stop-Here { exit 9 }\n'a'\nStop-Here\n'b'\n");
        ShellResult r = Pscsh.Run("-NoProfile", "-File", script);
        Assert.True(r.ExitCode == 9, r.ToString());
        Assert.Equal(new[] { "a" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void File_WithoutPs1Extension_RunsAsScriptText()
    {
        string script = _dir.Write("shebang-script", "#!/usr/bin/env pscsh\n'no extension'\nexit 2\n");
        ShellResult r = Pscsh.Run("-NoProfile", "-File", script);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal(new[] { "no extension" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void File_Missing_Exits64()
    {
        string missing = Path.Combine(_dir.Path, "missing.ps1");
        ShellResult r = Pscsh.Run("-NoProfile", "-File", missing);
        Assert.True(r.ExitCode == 64, r.ToString());
        Assert.Contains($"The argument '{missing}' is not recognized as the name of a script file.", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void File_ParseError_Exits1()
    {
        string script = _dir.Write("broken.ps1", "'x'\n$y = (1 +\n");
        ShellResult r = Pscsh.Run("-NoProfile", "-File", script);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("ParserError", r.StdErr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, r.StdOut.Trim());
    }
}
