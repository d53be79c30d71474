using System.Diagnostics;
using System.Text;
using PSContainers.Tests.Module;

namespace PSContainers.Tests.Help;

/// <summary>
/// One real pwsh (the pinned PowerShell 7.6.10, as <see cref="Pwsh"/> finds it) with the built module imported, shared
/// by the help tests: Get-Help only reads. Scripts go in on its standard input, one line each (`-Command -`); each
/// output object comes back as its string, base64-encoded on a line of its own so that line breaks survive, and any
/// error fails the test.
/// </summary>
public sealed class HelpRunspace : IDisposable
{
    private readonly Process _pwsh;

    public HelpRunspace()
    {
        var psi = new ProcessStartInfo(Pwsh.Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (string a in new[] { "-NoProfile", "-NonInteractive", "-Command", "-" })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PSModulePath"] = Repo.Out;
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        psi.Environment.Remove("PSCONTAINERS_MODULE_PATH");
        _pwsh = Process.Start(psi)!;
        _pwsh.ErrorDataReceived += (_, _) => { };
        _pwsh.BeginErrorReadLine();
        Strings($"Import-Module -Name '{Repo.Manifest}' -ErrorAction Stop");
    }

    /// <summary>Runs a script (one line) in the pwsh; returns each output object as a string; fails the test on any error.</summary>
    public List<string> Strings(string script)
    {
        lock (_pwsh)
        {
            string wrapped =
                "$Error.Clear(); try { . { " + script + " } | ForEach-Object { '##O ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([string]$_)) } } " +
                "catch { $null = $Error.Add($_) }; foreach ($e in $Error) { '##E ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([string]$e)) }; '##DONE'";
            _pwsh.StandardInput.WriteLine(wrapped);
            _pwsh.StandardInput.Flush();
            var result = new List<string>();
            var errors = new List<string>();
            while (true)
            {
                Task<string?> read = _pwsh.StandardOutput.ReadLineAsync();
                Assert.True(read.Wait(TimeSpan.FromSeconds(120)), $"pwsh gave no line within 120 s while running: {script}");
                string? line = read.Result;
                Assert.True(line is not null, $"pwsh ended while running: {script}");
                if (line == "##DONE")
                {
                    break;
                }
                if (line.StartsWith("##O ", StringComparison.Ordinal))
                {
                    result.Add(Encoding.UTF8.GetString(Convert.FromBase64String(line[4..])));
                }
                else if (line.StartsWith("##E ", StringComparison.Ordinal))
                {
                    errors.Add(Encoding.UTF8.GetString(Convert.FromBase64String(line[4..])));
                }
            }
            Assert.True(errors.Count == 0, $"{script}\n" + string.Join("\n", errors));
            return result;
        }
    }

    public void Dispose()
    {
        try
        {
            _pwsh.StandardInput.WriteLine("exit");
            _pwsh.StandardInput.Close();
            if (!_pwsh.WaitForExit(10_000))
            {
                _pwsh.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (IOException)
        {
        }
        _pwsh.Dispose();
    }
}
