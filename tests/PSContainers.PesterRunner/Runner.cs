using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace PSContainers.PesterRunner;

/// <summary>How a test (or a file/block-level step reported like one) ended.</summary>
public enum TestOutcome
{
    /// <summary>The test ran and every assertion held.</summary>
    Passed,
    /// <summary>The test, its setup or teardown failed; or a file or block failed outside any test.</summary>
    Failed,
    /// <summary>The test did not run (-Skip, a Describe/Context -Skip, an It without body, Set-ItResult).</summary>
    Skipped,
}

/// <summary>What a <see cref="TestResult"/> stands for.</summary>
public enum TestResultKind
{
    /// <summary>An It (one per test case).</summary>
    Test,
    /// <summary>A block failed outside its tests (an AfterAll threw).</summary>
    BlockError,
    /// <summary>A file failed outside any block: parse error, discovery error, runner error, missing file.</summary>
    FileError,
}

/// <summary>One result line: a test, or a failure outside any test (always <see cref="TestOutcome.Failed"/>).</summary>
/// <param name="File">Full path of the test file.</param>
/// <param name="Name">"Describe &gt; Context &gt; It" with &lt;templates&gt; expanded; for file errors "file.ps1 (parse)" and the like.</param>
/// <param name="Outcome">Passed, Failed or Skipped.</param>
/// <param name="Message">For failures: the message and the "at ..." location lines; for skips the reason, if any.</param>
/// <param name="Duration">Time spent in BeforeEach + It + AfterEach.</param>
public sealed record TestResult(string File, string Name, TestOutcome Outcome, string? Message, TimeSpan Duration)
{
    /// <summary>Whether this is a test or a failure outside any test.</summary>
    public TestResultKind Kind { get; init; } = TestResultKind.Test;
}

/// <summary>The outcome of <see cref="Runner.Run"/>.</summary>
public sealed class RunResult
{
    internal RunResult(IReadOnlyList<TestResult> tests, IReadOnlyList<string> files)
    {
        Tests = tests;
        Files = files;
        Passed = tests.Count(t => t.Outcome == TestOutcome.Passed);
        Failed = tests.Count(t => t.Outcome == TestOutcome.Failed);
        Skipped = tests.Count(t => t.Outcome == TestOutcome.Skipped);
    }

    /// <summary>Every result in run order, including file- and block-level failures.</summary>
    public IReadOnlyList<TestResult> Tests { get; }

    /// <summary>The test files that were run (full paths).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Number of passed tests.</summary>
    public int Passed { get; }

    /// <summary>Number of failed tests plus file- and block-level failures.</summary>
    public int Failed { get; }

    /// <summary>Number of skipped tests.</summary>
    public int Skipped { get; }

    /// <summary>True when nothing failed.</summary>
    public bool Succeeded => Failed == 0;

    /// <summary>The closing line: "N passed, N failed" and ", N skipped" when any were skipped.</summary>
    public string Summary => Runner.FormatSummary(Passed, Failed, Skipped);
}

/// <summary>
/// Runs Pester 5 style test files (Describe/Context/It/BeforeAll/.../Should) on the bare
/// System.Management.Automation engine, each file in its own fresh runspace.
/// </summary>
public static class Runner
{
    private const string ModuleResourceName = "PSContainers.PesterRunner.Pester.psm1";
    private static readonly object EnvironmentLock = new();

    /// <summary>Runs the given test files (a directory stands for every *.Tests.ps1 beneath it).</summary>
    /// <param name="testFiles">Test files or directories.</param>
    /// <param name="output">Receives one line per test, failure details and the closing summary line.</param>
    /// <param name="modulePathPrepend">A directory put first in $env:PSModulePath before each file runs.</param>
    /// <param name="tagFilter">Run only tests whose tags (own or of an enclosing block) match one of these wildcards.</param>
    /// <param name="excludeTagFilter">Do not run tests whose tags match one of these wildcards.</param>
    public static RunResult Run(IEnumerable<string> testFiles, TextWriter output, string? modulePathPrepend = null,
        string[]? tagFilter = null, string[]? excludeTagFilter = null)
    {
        ArgumentNullException.ThrowIfNull(testFiles);
        ArgumentNullException.ThrowIfNull(output);

        var results = new List<TestResult>();
        var files = new List<string>();
        var total = Stopwatch.StartNew();
        foreach (var entry in testFiles)
        {
            var full = Path.GetFullPath(entry);
            if (Directory.Exists(full))
            {
                files.AddRange(Directory.EnumerateFiles(full, "*.Tests.ps1", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            }
            else
            {
                files.Add(full);
            }
        }

        var modulePath = modulePathPrepend is null ? null : Path.GetFullPath(modulePathPrepend);
        if (files.Count == 0)
        {
            output.WriteLine("No test files found.");
        }

        foreach (var file in files)
        {
            new FileRun(file, output, results).Run(modulePath, tagFilter, excludeTagFilter);
        }

        var result = new RunResult(results, files);
        output.WriteLine($"Tests completed in {total.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}s");
        output.WriteLine(result.Summary);
        output.Flush();
        return result;
    }

    /// <summary>"12 passed, 0 failed" with ", 1 skipped" appended when <paramref name="skipped"/> is not 0.</summary>
    public static string FormatSummary(int passed, int failed, int skipped) =>
        skipped == 0 ? $"{passed} passed, {failed} failed" : $"{passed} passed, {failed} failed, {skipped} skipped";

    /// <summary>Command line: [-ModulePath DIR] [-Tag T]... [-ExcludeTag T]... PATH...; exit code 0 when nothing failed.</summary>
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? modulePath = null;
        var tags = new List<string>();
        var excluded = new List<string>();
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value.");
            switch (a.ToLowerInvariant())
            {
                case "-modulepath" or "--module-path": modulePath = Next(); break;
                case "-tag" or "--tag": tags.Add(Next()); break;
                case "-excludetag" or "--exclude-tag": excluded.Add(Next()); break;
                case "-h" or "-help" or "--help" or "-?":
                    Console.WriteLine("usage: PSContainers.PesterRunner [-ModulePath DIR] [-Tag T]... [-ExcludeTag T]... PATH...");
                    Console.WriteLine("PATH is a test file or a directory (every *.Tests.ps1 beneath it).");
                    return 0;
                default: paths.Add(a); break;
            }
        }

        if (paths.Count == 0)
        {
            Console.Error.WriteLine("usage: PSContainers.PesterRunner [-ModulePath DIR] [-Tag T]... [-ExcludeTag T]... PATH...");
            return 2;
        }

        var result = Run(paths, Console.Out, modulePath, tags.Count > 0 ? [.. tags] : null, excluded.Count > 0 ? [.. excluded] : null);
        return result.Succeeded ? 0 : 1;
    }

    internal static string ModuleText { get; } = LoadModuleText();

    private static string LoadModuleText()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ModuleResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ModuleResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    internal static void PrependModulePath(string directory)
    {
        lock (EnvironmentLock)
        {
            var current = Environment.GetEnvironmentVariable("PSModulePath") ?? string.Empty;
            var parts = current.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Where(p => !string.Equals(p.TrimEnd('/'), directory.TrimEnd('/'), StringComparison.Ordinal));
            Environment.SetEnvironmentVariable("PSModulePath", string.Join(Path.PathSeparator, parts.Prepend(directory)));
        }
    }

    /// <summary>One test file in its own runspace.</summary>
    private sealed class FileRun(string file, TextWriter output, List<TestResult> results)
    {
        private readonly object _lock = new();

        public void Run(string? modulePath, string[]? tagFilter, string[]? excludeTagFilter)
        {
            Write($"Running tests from '{file}'");
            if (!File.Exists(file))
            {
                AddFileError("(not found)", $"Test file '{file}' does not exist.");
                return;
            }

            Parser.ParseFile(file, out _, out var parseErrors);
            if (parseErrors.Length > 0)
            {
                var lines = parseErrors.Select(e =>
                    $"{e.Message}\nat {file}:{e.Extent.StartLineNumber} char:{e.Extent.StartColumnNumber}");
                AddFileError("(parse)", "The test file has parse errors:\n" + string.Join("\n", lines));
                return;
            }

            try
            {
                RunInRunspace(modulePath, tagFilter, excludeTagFilter);
            }
            catch (Exception ex)
            {
                var message = ex is RuntimeException rex && rex.ErrorRecord is not null
                    ? $"{rex.ErrorRecord}\n{rex.ErrorRecord.InvocationInfo?.PositionMessage}"
                    : ex.ToString();
                AddFileError("(runner)", message);
            }
        }

        private void RunInRunspace(string? modulePath, string[]? tagFilter, string[]? excludeTagFilter)
        {
            var host = new RunnerHost(output, _lock);
            var iss = InitialSessionState.CreateDefault2();
            using var runspace = RunspaceFactory.CreateRunspace(host, iss);
            runspace.Open();
            if (modulePath is not null)
            {
                PrependModulePath(modulePath);
            }

            using (var import = PowerShell.Create(runspace))
            {
                // Commands, not a script: a script's param() variables would land in the global scope.
                import.AddCommand("New-Module").AddParameter("Name", "Pester").AddParameter("ScriptBlock", ScriptBlock.Create(ModuleText))
                    .AddCommand("Import-Module");
                import.Invoke();
                if (import.HadErrors)
                {
                    throw new InvalidOperationException("Loading the Pester runtime failed: " + string.Join("; ", import.Streams.Error));
                }
            }

            using var ps = PowerShell.Create(runspace);
            ps.Streams.Warning.DataAdded += (s, e) =>
            {
                var record = ((PSDataCollection<WarningRecord>)s!)[e.Index];
                Write("WARNING: " + record.Message);
            };
            ps.Streams.Error.DataAdded += (s, e) =>
            {
                var record = ((PSDataCollection<ErrorRecord>)s!)[e.Index];
                var where = record.InvocationInfo is { ScriptName.Length: > 0 } info ? $" (at {info.ScriptName}:{info.ScriptLineNumber})" : "";
                Write($"ERROR: {record}{where}");
            };

            Action<object> report = Report;
            ps.AddCommand("Invoke-PesterRunnerFile")
                .AddParameter("Path", file)
                .AddParameter("Report", report)
                .AddParameter("Tag", tagFilter)
                .AddParameter("ExcludeTag", excludeTagFilter);
            ps.Invoke();
        }

        private void Report(object item)
        {
            var data = (item is PSObject pso ? pso.BaseObject : item) as IDictionary
                ?? throw new InvalidOperationException("Unexpected report object: " + item);
            var kind = data["Kind"] as string ?? "";
            var name = data["Name"] as string ?? "";
            var outcome = data["Outcome"] as string ?? "";
            var message = data["Message"] as string;
            var ms = data["Milliseconds"] is double d ? d : 0;
            if (string.IsNullOrEmpty(message))
            {
                message = null;
            }

            switch (kind)
            {
                case "Test":
                    var o = Enum.Parse<TestOutcome>(outcome);
                    Add(new TestResult(file, name, o, message, TimeSpan.FromMilliseconds(ms)));
                    var time = $"{Math.Round(ms).ToString(CultureInfo.InvariantCulture)}ms";
                    switch (o)
                    {
                        case TestOutcome.Passed: Write($"[+] {name}  {time}"); break;
                        case TestOutcome.Failed: Write($"[-] {name}  {time}"); WriteIndented(message); break;
                        default: Write($"[!] {name}  skipped"); WriteIndented(message); break;
                    }
                    break;
                case "BlockError":
                case "FileError":
                    var k = kind == "BlockError" ? TestResultKind.BlockError : TestResultKind.FileError;
                    Add(new TestResult(file, name, TestOutcome.Failed, message, TimeSpan.Zero) { Kind = k });
                    Write($"[-] {name}");
                    WriteIndented(message);
                    break;
                case "NoTests":
                    Write($"[?] No tests found in '{file}'");
                    break;
                case "Warning":
                    Write($"WARNING: {name}: {message}");
                    break;
                default:
                    Write($"{kind}: {name} {message}");
                    break;
            }
        }

        private void Add(TestResult result)
        {
            lock (_lock)
            {
                results.Add(result);
            }
        }

        private void AddFileError(string what, string message)
        {
            var name = $"{Path.GetFileName(file)} {what}";
            Add(new TestResult(file, name, TestOutcome.Failed, message, TimeSpan.Zero) { Kind = TestResultKind.FileError });
            Write($"[-] {name}");
            WriteIndented(message);
        }

        private void Write(string line)
        {
            lock (_lock)
            {
                output.WriteLine(line);
            }
        }

        private void WriteIndented(string? message)
        {
            if (message is null)
            {
                return;
            }

            lock (_lock)
            {
                foreach (var line in message.Replace("\r\n", "\n").Split('\n'))
                {
                    output.WriteLine("    " + line);
                }
            }
        }
    }
}
