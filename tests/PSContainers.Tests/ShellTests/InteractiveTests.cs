using System.Diagnostics;
using System.Text;

namespace PSContainers.Tests.ShellTests;

/// <summary>The interactive loop (fed through redirected stdin), prompts, profiles, Ctrl+C.</summary>
public class InteractiveTests
{
    [Fact]
    public void Interactive_RunsLines_MultiLineFunction_AndExit5()
    {
        const string input =
            "function Add-Two {\n" +
            "  param($x)\n" +
            "  $x + 2\n" +
            "}\n" +
            "Add-Two 5\n" +
            "'a' +\n" +
            "  'b'\n" +
            "exit 5\n" +
            "'not reached'\n";
        ShellResult r = Pscsh.Run(new[] { "-NoProfile" }, stdin: input);
        Assert.True(r.ExitCode == 5, r.ToString());
        // The prompt (the engine's default `prompt` function) and the continuation prompt.
        Assert.Contains("PS " + Path.TrimEndingDirectorySeparator(Path.GetTempPath()) + "> ", r.StdOut, StringComparison.Ordinal);
        Assert.Contains(">> >> >> ", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("> 7\n", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("> ab\n", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("not reached", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Interactive_ErrorsDoNotEndTheSession_AndDollarQuestionIsKept()
    {
        ShellResult r = Pscsh.Run(new[] { "-NoProfile" }, stdin: "Get-NoSuchCommand\n\"status=$?\"\n'still here'\n");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("status=False", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("still here", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("Get-NoSuchCommand: The term 'Get-NoSuchCommand' is not recognized", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Interactive_EndOfInputAfterAFailure_Exits1()
    {
        // As pwsh: at the end of input the exit code is 1 when the last command failed.
        ShellResult r = Pscsh.Run(new[] { "-NoProfile" }, stdin: "'x'\nGet-NoSuchCommand\n");
        Assert.True(r.ExitCode == 1, r.ToString());
    }

    [Fact]
    public void Interactive_PromptForChoice_AnswersConfirm()
    {
        const string input =
            "function Remove-Thing { [CmdletBinding(SupportsShouldProcess)] param() if ($PSCmdlet.ShouldProcess('thing1', 'Remove')) { 'removed' } else { 'kept' } }\n" +
            "Remove-Thing -Confirm\n" +
            "y\n" +
            "Remove-Thing -Confirm\n" +
            "n\n";
        ShellResult r = Pscsh.Run(new[] { "-NoProfile" }, stdin: input);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Performing the operation \"Remove\" on target \"thing1\".", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is \"Y\"): ", r.StdOut, StringComparison.Ordinal);
        int removed = r.StdOut.IndexOf("removed", StringComparison.Ordinal);
        int kept = r.StdOut.IndexOf("kept", StringComparison.Ordinal);
        Assert.True(removed > 0 && kept > removed, r.ToString());
    }

    [Fact]
    public void NonInteractive_PromptThrows()
    {
        ShellResult r = Pscsh.Run(
            "-NoProfile", "-NonInteractive", "-Command",
            "$choices = [System.Management.Automation.Host.ChoiceDescription[]]@('&Yes', '&No'); $Host.UI.PromptForChoice('c', 'm', $choices, 0)");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void HostUI_WarningVerboseAndWriteLine_AreShown()
    {
        const string script =
            "function Test-Streams { [CmdletBinding()] param() " +
            "$PSCmdlet.WriteWarning('careful'); $PSCmdlet.WriteVerbose('details'); $Host.UI.WriteLine('host line') }; " +
            "Test-Streams -Verbose; $Host.Name";
        ShellResult r = Pscsh.Run("-NoProfile", "-Command", script);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "WARNING: careful", "VERBOSE: details", "host line", "PSContainers.Shell" }, Pscsh.Lines(r.StdOut));
    }

    [Fact]
    public void Profile_IsDotSourced_UnlessNoProfile()
    {
        using var config = new TempDir();
        config.Write("powershell/Microsoft.PowerShell_profile.ps1", "function Get-FromProfile { 'from-profile' }\n$ProfileVar = 'set'\n");
        var env = new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = config.Path };

        ShellResult with = Pscsh.Run(new[] { "-Command", "Get-FromProfile; $ProfileVar; $PROFILE" }, environment: env);
        Assert.True(with.ExitCode == 0, with.ToString());
        Assert.Equal(
            new[] { "from-profile", "set", Path.Combine(config.Path, "powershell", "Microsoft.PowerShell_profile.ps1") },
            Pscsh.Lines(with.StdOut));

        ShellResult without = Pscsh.Run(new[] { "-NoProfile", "-Command", "Get-FromProfile" }, environment: env);
        Assert.True(without.ExitCode == 1, without.ToString());
        Assert.Contains("'Get-FromProfile' is not recognized", without.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void CtrlC_StopsThePipeline_NotTheShell()
    {
        Assert.True(File.Exists(Pscsh.Executable), $"The shell was not built: {Pscsh.Executable} is missing.");
        var psi = new ProcessStartInfo(Pscsh.Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add("-NoProfile");
        psi.ArgumentList.Add("-Command");
        psi.ArgumentList.Add("-");
        psi.Environment.Remove("PSCONTAINERS_MODULE_PATH");

        using var process = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var started = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stdout)
            {
                stdout.Append(e.Data).Append('\n');
            }

            if (e.Data == "looping")
            {
                started.Set();
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            process.StandardInput.Write("'looping'; while ($true) { $i++ }\n");
            process.StandardInput.Flush();
            Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the loop did not start");
            Thread.Sleep(300);

            // SIGINT is what Ctrl+C sends.
            using (var kill = Process.Start("kill", new[] { "-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }))
            {
                kill.WaitForExit();
                Assert.Equal(0, kill.ExitCode);
            }

            process.StandardInput.Write("'after stop'\nexit 4\n");
            process.StandardInput.Close();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the shell did not exit after Ctrl+C");
            process.WaitForExit();
            lock (stdout)
            {
                Assert.True(process.ExitCode == 4, $"exit code {process.ExitCode}\n{stdout}");
                Assert.Contains("after stop", stdout.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
