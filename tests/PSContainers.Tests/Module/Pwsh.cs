using System.Diagnostics;
using System.Text;

namespace PSContainers.Tests.Module;

/// <summary>The outcome of one run of pwsh.</summary>
public sealed record ShellResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Starts real pwsh (PowerShell 7.6.10, the local .NET tool pinned in .config/dotnet-tools.json and restored by this
/// project's build) as a child process the way a user would: out/ first on PSModulePath, so `Import-Module
/// PSContainers` and command auto-loading find the built module, every stream redirected, and a timeout after which
/// the process is killed and the test fails. $env:PSCONTAINERS_PWSH names another pwsh (7.4 or later) instead.
/// </summary>
public static class Pwsh
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<string> s_executable = new(Find);

    /// <summary>out/ - the directory put first on PSModulePath.</summary>
    public static string OutDir => Repo.Out;

    /// <summary>The pwsh executable (the apphost in $PSHOME).</summary>
    public static string Executable => s_executable.Value;

    /// <summary>$PSHOME of that pwsh.</summary>
    public static string Home => Path.GetDirectoryName(Executable)!;

    /// <summary>The PowerShell version the tool manifest pins.</summary>
    public static string PinnedVersion
    {
        get
        {
            string manifest = File.ReadAllText(Path.Combine(Repo.Root, ".config", "dotnet-tools.json"));
            var m = System.Text.RegularExpressions.Regex.Match(manifest, "\"powershell\"\\s*:\\s*\\{\\s*\"version\"\\s*:\\s*\"([^\"]+)\"");
            Assert.True(m.Success, ".config/dotnet-tools.json does not pin the powershell tool");
            return m.Groups[1].Value;
        }
    }

    /// <summary>
    /// The pinned tool's $PSHOME, asked of `dotnet tool run pwsh` in the repository (where the manifest is): the tool
    /// lands in the user's global NuGet folder, which is not always the one NUGET_PACKAGES names for packages.
    /// </summary>
    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("PSCONTAINERS_PWSH") is { Length: > 0 } given)
        {
            return given;
        }

        using var tmp = new TempDir(); // for the socket every PowerShell host leaves behind
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repo.Root,
        };
        foreach (string a in new[] { "tool", "run", "pwsh", "-NoProfile", "-NonInteractive", "-Command", "[Console]::Out.Write($PSHOME)" })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["TMPDIR"] = tmp.Path;
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        using var process = Process.Start(psi)!;
        Task<string> err = process.StandardError.ReadToEndAsync();
        string home = process.StandardOutput.ReadToEnd().Trim();
        Assert.True(process.WaitForExit(120_000), "dotnet tool run pwsh did not answer within 120 s");
        string path = Path.Combine(home, "pwsh");
        Assert.True(process.ExitCode == 0 && File.Exists(path),
            $"pwsh {PinnedVersion} (the tool in .config/dotnet-tools.json, restored by the test project's build) did not run: " +
            $"exit {process.ExitCode}, $PSHOME '{home}'\n{err.Result}");
        return path;
    }

    /// <summary>Runs pwsh with the arguments; <paramref name="stdin"/> is written and then closed.</summary>
    public static ShellResult Run(
        IEnumerable<string> args,
        string? stdin = null,
        IDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
                var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // A clean, predictable environment: the built module first on PSModulePath (pwsh adds its own folders after it), no
        // module-path override of the tests, no colours.
        psi.Environment.Remove("PSCONTAINERS_MODULE_PATH");
        psi.Environment["PSModulePath"] = OutDir;
                psi.Environment["TERM"] = "xterm";
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    psi.Environment.Remove(key);
                }
                else
                {
                    psi.Environment[key] = value;
                }
            }
        }

        // Every PowerShell host leaves a socket CoreFxPipe_PSHost.* in its temporary folder and never removes it: this
        // run's pwsh gets a folder of its own, removed when it ends.
        using var tmp = psi.Environment.ContainsKey("TMPDIR") && environment?.ContainsKey("TMPDIR") == true ? null : new TempDir();
        if (tmp is not null)
        {
            // As /tmp is (1777): what the tests under it start as other users makes its files there too.
            File.SetUnixFileMode(tmp.Path, (UnixFileMode)0x3FF | UnixFileMode.StickyBit);
            psi.Environment["TMPDIR"] = tmp.Path;
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.Append(e.Data).Append('\n');
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.Append(e.Data).Append('\n');
                }
            }
        };

        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // pwsh may exit before reading all of its input (e.g. after `exit`).
        }

        if (!process.WaitForExit(timeout ?? DefaultTimeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process.WaitForExit();
            Assert.Fail($"pwsh {string.Join(' ', args)} did not finish within {(timeout ?? DefaultTimeout).TotalSeconds} s.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
        }

        process.WaitForExit(); // drains the asynchronous readers
        string o;
        string e;
        lock (stdout)
        {
            o = stdout.ToString();
        }

        lock (stderr)
        {
            e = stderr.ToString();
        }

        return new ShellResult(process.ExitCode, o, e);
    }

    public static ShellResult Run(params string[] args) => Run((IEnumerable<string>)args);

    /// <summary>The non-empty lines of a text, with trailing blanks removed.</summary>
    public static string[] Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();
}

/// <summary>A temporary directory removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pwsh-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string relativePath, string content)
    {
        string full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
