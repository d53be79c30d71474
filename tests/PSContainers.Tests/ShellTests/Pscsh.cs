using System.Diagnostics;
using System.Text;

namespace PSContainers.Tests.ShellTests;

/// <summary>The outcome of one run of the built shell.</summary>
public sealed record ShellResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Starts the real built shell, out/shell/pscsh, as a child process the way a user would, with
/// every stream redirected and a timeout after which the process is killed and the test fails.
/// </summary>
public static class Pscsh
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The directory that holds PSContainers.sln.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>out/ - the directory the shell puts first on PSModulePath.</summary>
    public static string OutDir => Path.Combine(RepoRoot, "out");

    public static string Executable => Path.Combine(RepoRoot, "out", "shell", "pscsh");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PSContainers.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("PSContainers.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs pscsh with the arguments; <paramref name="stdin"/> is written and then closed.</summary>
    public static ShellResult Run(
        IEnumerable<string> args,
        string? stdin = null,
        IDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        Assert.True(File.Exists(Executable), $"The shell was not built: {Executable} is missing.");

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

        // A clean, predictable environment: no module-path override, no colours, no profile of the machine's user.
        psi.Environment.Remove("PSCONTAINERS_MODULE_PATH");
        psi.Environment.Remove("PSModulePath");
        psi.Environment.Remove("NO_COLOR");
        psi.Environment["TERM"] = "xterm";
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
            // The shell may exit before reading all of its input (e.g. after `exit`).
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
            Assert.Fail($"pscsh {string.Join(' ', args)} did not finish within {(timeout ?? DefaultTimeout).TotalSeconds} s.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
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
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pscsh-test-" + Guid.NewGuid().ToString("N"));
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
