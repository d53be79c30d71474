using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Text;

namespace PSContainers.Shell;

/// <summary>
/// One shell session: opens the runspace, runs profiles, the -Command/-File/stdin input and the
/// interactive loop, and computes the exit code the way pwsh's ConsoleHost does:
/// `exit N` (surfacing as <see cref="ShellHost.SetShouldExit"/>) gives N; otherwise 0 when
/// `$global:?` is true and no terminating error escaped the initial command, else 1.
/// </summary>
public sealed class ShellSession : IDisposable
{
    private const string ShellId = "Microsoft.PowerShell";

    private readonly CommandLine _commandLine;
    private readonly ShellHost _host;
    private readonly ShellHostUserInterface _ui;
    private readonly object _pipelineLock = new();
    private Runspace? _runspace;
    private Pipeline? _currentPipeline;
    private Exception? _lastInitializationException;

    public ShellSession(CommandLine commandLine)
    {
        _commandLine = commandLine;
        _ui = new ShellHostUserInterface { NonInteractive = commandLine.NonInteractive };
        _host = new ShellHost(_ui);
    }

    private Runspace Runspace => _runspace ?? throw new InvalidOperationException("The runspace is not open.");

    /// <summary>
    /// Prepends the directory that holds the PSContainers module folder to $env:PSModulePath:
    /// $PSCONTAINERS_MODULE_PATH when set, else the parent of the shell's own directory
    /// (out/shell/pscsh → out/, which holds out/PSContainers/&lt;version&gt;/PSContainers.psd1).
    /// </summary>
    public static string ConfigureModulePath()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("PSCONTAINERS_MODULE_PATH");
        string dir = !string.IsNullOrWhiteSpace(fromEnv)
            ? Path.GetFullPath(fromEnv)
            : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, ".."));
        dir = Path.TrimEndingDirectorySeparator(dir);
        PrependModulePath(dir);
        return dir;
    }

    private static void PrependModulePath(string dir)
    {
        string current = Environment.GetEnvironmentVariable("PSModulePath") ?? string.Empty;
        var parts = current.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !string.Equals(Path.TrimEndingDirectorySeparator(p), dir, StringComparison.Ordinal))
            .ToList();
        parts.Insert(0, dir);
        Environment.SetEnvironmentVariable("PSModulePath", string.Join(Path.PathSeparator, parts));
    }

    /// <summary>
    /// Opens the runspace and runs the session. The module is not imported here: command
    /// discovery in a hosted runspace auto-loads modules found on $env:PSModulePath (checked by
    /// the ShellTests), so startup pays nothing until a PSContainers command is first used.
    /// </summary>
    public int Run()
    {
        string moduleDir = ConfigureModulePath();

        InitialSessionState iss = InitialSessionState.CreateDefault2();
        _runspace = RunspaceFactory.CreateRunspace(_host, iss);
        _runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        _runspace.Open();
        Runspace.DefaultRunspace = _runspace;

        // Opening the runspace computes the module path again; make sure ours is still first.
        string? afterOpen = Environment.GetEnvironmentVariable("PSModulePath");
        if (afterOpen is null || !afterOpen.StartsWith(moduleDir + Path.PathSeparator, StringComparison.Ordinal))
        {
            PrependModulePath(moduleDir);
        }

        Console.CancelKeyPress += OnCancelKeyPress;
        try
        {
            return RunInitialized();
        }
        finally
        {
            Console.CancelKeyPress -= OnCancelKeyPress;
        }
    }

    private int RunInitialized()
    {
        if (_commandLine.WorkingDirectory is not null)
        {
            // Set-Location lives in the Management module, which this engine lacks.
            try
            {
                Runspace.SessionStateProxy.Path.SetLocation(_commandLine.WorkingDirectory);
            }
            catch (Exception e) when (e is RuntimeException or ArgumentException or InvalidOperationException)
            {
                _lastInitializationException = e;
                ReportException(e);
            }
        }

        SetProfileVariableAndRunProfiles();

        bool interactiveLoop = _commandLine.NoExit;

        if (_commandLine.File is not null)
        {
            RunFile(_commandLine.File, _commandLine.FileArgs);
        }
        else if (!string.IsNullOrEmpty(_commandLine.Command))
        {
            var pipeline = Runspace.CreatePipeline(_commandLine.Command, addToHistory: true);
            Exception? e = ExecuteWithOutputter(pipeline);
            if (e is not null)
            {
                _lastInitializationException = e;
                ReportException(e, _commandLine.Command);
            }
        }
        else if (!_commandLine.ReadCommandsFromStdin && _commandLine.NonInteractive && _ui.StdinIsTerminal)
        {
            // -NonInteractive with nothing to run and nobody to read from: nothing to do.
            interactiveLoop = false;
        }

        if (interactiveLoop && !_host.ShouldExit)
        {
            bool readsStdin = _commandLine.ReadCommandsFromStdin || !_ui.StdinIsTerminal;
            bool showPrompt = !_commandLine.NoPrompt;
            if (_commandLine.ShowBanner && !readsStdin && showPrompt)
            {
                _ui.WriteLine($"PSContainers shell {ShellHost.ShellVersion} (PowerShell {ShellHost.EngineVersion})");
                _ui.WriteLine();
            }

            RunInputLoop(showPrompt);
        }

        if (_host.ShouldExit)
        {
            return _host.ExitCode;
        }

        bool succeeded = EvaluateBool("$global:?") ?? false;
        return succeeded && _lastInitializationException is null ? 0 : 1;
    }

    // ---- profiles -------------------------------------------------------------------------

    private void SetProfileVariableAndRunProfiles()
    {
        // As pwsh on Unix: $PSHOME/[Microsoft.PowerShell_]profile.ps1 for all users and
        // $XDG_CONFIG_HOME/powershell (default ~/.config/powershell) for the current user.
        string psHome = Path.GetDirectoryName(typeof(PSObject).Assembly.Location) is { Length: > 0 } d ? d : AppContext.BaseDirectory;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        string userConfig = Path.Combine(
            string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config") : xdg,
            "powershell");
        string allUsers = Path.Combine(psHome, "profile.ps1");
        string allUsersHost = Path.Combine(psHome, ShellId + "_profile.ps1");
        string currentUser = Path.Combine(userConfig, "profile.ps1");
        string currentUserHost = Path.Combine(userConfig, ShellId + "_profile.ps1");
        var dollarProfile = new PSObject(currentUserHost);
        dollarProfile.Properties.Add(new PSNoteProperty("AllUsersAllHosts", allUsers));
        dollarProfile.Properties.Add(new PSNoteProperty("AllUsersCurrentHost", allUsersHost));
        dollarProfile.Properties.Add(new PSNoteProperty("CurrentUserAllHosts", currentUser));
        dollarProfile.Properties.Add(new PSNoteProperty("CurrentUserCurrentHost", currentUserHost));
        Runspace.SessionStateProxy.SetVariable("PROFILE", dollarProfile);

        if (_commandLine.NoProfile)
        {
            return;
        }

        foreach (string profile in new[] { allUsers, allUsersHost, currentUser, currentUserHost })
        {
            if (string.IsNullOrEmpty(profile) || !File.Exists(profile))
            {
                continue;
            }

            var pipeline = Runspace.CreatePipeline(". '" + profile.Replace("'", "''", StringComparison.Ordinal) + "'");
            Exception? e = ExecuteWithOutputter(pipeline);
            if (e is not null)
            {
                _lastInitializationException = e;
                ReportException(e);
            }
        }
    }

    // ---- -File ----------------------------------------------------------------------------

    private void RunFile(string path, Collection<CommandParameter> args)
    {
        var pipeline = Runspace.CreatePipeline();
        Command command;
        if (!path.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
        {
            // As pwsh on Unix: a file without the .ps1 extension (a shebang script) is run as script text.
            command = new Command(File.ReadAllText(path), isScript: true, useLocalScope: false);
        }
        else
        {
            command = new Command(path, isScript: false, useLocalScope: false);
        }

        foreach (CommandParameter p in args)
        {
            command.Parameters.Add(p);
        }

        pipeline.Commands.Add(command);

        // As pwsh: unless -NoExit, `exit N` in the script ends the process with N instead of
        // only setting $LASTEXITCODE.
        bool rethrowSet = !_commandLine.NoExit && EngineInternals.TrySetScriptExitRethrow(Runspace, true);
        Exception? e;
        try
        {
            e = ExecuteWithOutputter(pipeline);
        }
        finally
        {
            if (rethrowSet)
            {
                EngineInternals.TrySetScriptExitRethrow(Runspace, false);
            }
        }

        if (e is not null)
        {
            if (!_commandLine.NoExit)
            {
                _host.SetShouldExit(1);
            }

            ReportException(e);
        }
        else if (!_commandLine.NoExit && !rethrowSet && !_host.ShouldExit && path.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
        {
            // Fallback when the engine's switch could not be set: take `exit N` from $LASTEXITCODE.
            if (EvaluateObject("$global:LASTEXITCODE") is int code && code != 0)
            {
                _host.SetShouldExit(code);
            }
        }
    }

    // ---- execution ------------------------------------------------------------------------

    /// <summary>
    /// Runs the pipeline as `... | Out-Default` with the first command's errors merged into the
    /// output, so that results and non-terminating errors are rendered by the format views.
    /// Returns the exception that ended the pipeline, if any.
    /// </summary>
    private Exception? ExecuteWithOutputter(Pipeline pipeline)
    {
        if (pipeline.Commands.Count == 1)
        {
            pipeline.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
        }

        pipeline.Commands.Add(new Command("Out-Default", isScript: false, useLocalScope: true));
        return Invoke(pipeline, out _);
    }

    private Exception? Invoke(Pipeline pipeline, out Collection<PSObject>? results)
    {
        results = null;
        lock (_pipelineLock)
        {
            _currentPipeline = pipeline;
        }

        try
        {
            results = pipeline.Invoke();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            lock (_pipelineLock)
            {
                _currentPipeline = null;
            }

            _ui.ResetProgress();
        }
    }

    private object? EvaluateObject(string script)
    {
        var pipeline = Runspace.CreatePipeline(script, addToHistory: false);
        Exception? e = Invoke(pipeline, out Collection<PSObject>? results);
        if (e is not null || results is null || results.Count == 0)
        {
            return null;
        }

        return results[0]?.BaseObject;
    }

    private bool? EvaluateBool(string script) => EvaluateObject(script) is bool b ? b : null;

    /// <summary>Writes a terminating error through Out-Default as an error record, as pwsh does.</summary>
    private void ReportException(Exception e, string? scriptText = null)
    {
        if (e is PipelineStoppedException)
        {
            return;
        }

        if (e is ParseException parseException && scriptText is not null && parseException.ErrorRecord?.InvocationInfo is null)
        {
            // Input that ends too early (IncompleteParseException) carries no position, and the
            // error view then renders nothing: report the parser's own errors instead.
            Parser.ParseInput(scriptText, out _, out ParseError[] errors);
            if (errors.Length > 0)
            {
                e = new ParseException(errors);
            }
        }

        ErrorRecord record = e is IContainsErrorRecord icer
            ? icer.ErrorRecord
            : new ErrorRecord(e, "ConsoleHost.ReportException", ErrorCategory.NotSpecified, null);
        var wrapped = new PSObject(record);
        if (!EngineInternals.TryMarkAsErrorStream(wrapped))
        {
            WriteErrorFallback(e, record);
            return;
        }

        var pipeline = Runspace.CreatePipeline();
        pipeline.Commands.Add(new Command("Out-Default", isScript: false, useLocalScope: true));
        pipeline.Input.Write(wrapped);
        pipeline.Input.Close();
        Exception? e1 = Invoke(pipeline, out _);
        if (e1 is not null)
        {
            WriteErrorFallback(e, record);
        }
    }

    /// <summary>Last resort: the message and where it happened.</summary>
    private void WriteErrorFallback(Exception e, ErrorRecord record)
    {
        _ui.WriteErrorLine(record.ErrorDetails?.Message ?? e.Message);
        if (record.InvocationInfo?.PositionMessage is { Length: > 0 } position)
        {
            _ui.WriteErrorLine(position);
        }
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs args)
    {
        // Ctrl+C stops the running pipeline, never the shell.
        args.Cancel = true;
        Pipeline? pipeline;
        lock (_pipelineLock)
        {
            pipeline = _currentPipeline;
        }

        try
        {
            pipeline?.StopAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidPipelineStateException or PSInvalidOperationException)
        {
        }
    }

    // ---- interactive loop -----------------------------------------------------------------

    private string EvaluatePrompt()
    {
        string? prompt = null;
        try
        {
            prompt = EvaluateObject("prompt")?.ToString();
        }
        catch (Exception e) when (e is RuntimeException or InvalidOperationException)
        {
        }

        if (string.IsNullOrEmpty(prompt))
        {
            prompt = "PS>";
        }

        return prompt;
    }

    /// <summary>
    /// Reads lines and runs each complete statement. When the parser reports incomplete input
    /// (an open brace, a here-string, a trailing pipe) more lines are read with the `>> `
    /// prompt until the input parses; an empty line ends the block early (then the parse error
    /// is shown). `exit` leaves the loop through SetShouldExit.
    /// </summary>
    private void RunInputLoop(bool showPrompt)
    {
        var block = new StringBuilder();
        while (!_host.ShouldExit)
        {
            bool inBlock = block.Length > 0;
            if (showPrompt)
            {
                if (!inBlock && _ui.Column != 0)
                {
                    _ui.WriteLine();
                }

                _ui.Write(inBlock ? ">> " : EvaluatePrompt());
            }

            string? line = _ui.ReadInputLine();
            if (line is null)
            {
                // End of input (Ctrl+D on a terminal, EOF on a pipe).
                if (showPrompt && _ui.StdinIsTerminal)
                {
                    _ui.WriteLine();
                }

                if (inBlock)
                {
                    ExecuteInteractive(block.ToString());
                }

                break;
            }

            if (inBlock)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    string script = block.ToString();
                    block.Clear();
                    ExecuteInteractive(script);
                    continue;
                }

                block.Append('\n').Append(line);
            }
            else
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                block.Append(line);
            }

            string text = block.ToString();
            if (IsIncomplete(text))
            {
                continue;
            }

            block.Clear();
            ExecuteInteractive(text);
        }
    }

    private static bool IsIncomplete(string text)
    {
        Parser.ParseInput(text, out _, out ParseError[] errors);
        return errors.Length > 0 && errors.Any(e => e.IncompleteInput);
    }

    private void ExecuteInteractive(string script)
    {
        var pipeline = Runspace.CreatePipeline(script, addToHistory: true);
        Exception? e = ExecuteWithOutputter(pipeline);
        if (e is not null)
        {
            ReportException(e, script);
        }
    }

    public void Dispose()
    {
        if (_runspace is not null)
        {
            try
            {
                _runspace.Close();
            }
            catch (Exception e) when (e is InvalidRunspaceStateException or InvalidOperationException)
            {
            }

            _runspace.Dispose();
            _runspace = null;
        }
    }
}
