using System.Collections.ObjectModel;
using System.Management.Automation.Runspaces;
using System.Text;

namespace PSContainers.Shell;

/// <summary>
/// The parsed command line. Mirrors pwsh's CommandLineParameterParser for the parameters this
/// shell supports: a parameter is matched case-insensitively by any prefix at least as long as
/// pwsh's shortest unambiguous form (-c, -f, -e/-ec, -nop, -noni, -nol, -noe, -h/-?, -v, -wd),
/// '-', '--' and '/' all introduce a parameter, and the first argument that is not a known
/// parameter is taken as the script file (so `pscsh script.ps1 a b` works as with pwsh).
/// </summary>
public sealed class CommandLine
{
    /// <summary>pwsh's exit code for a bad command line (EX_USAGE).</summary>
    public const int ExitCodeBadCommandLineParameter = 64;

    private static readonly string[] s_validParameters =
    {
        "command", "encodedcommand", "executionpolicy", "file", "help", "inputformat", "interactive",
        "login", "noexit", "nologo", "noninteractive", "noprofile", "outputformat", "version", "workingdirectory",
    };

    /// <summary>The script text from -Command or -EncodedCommand.</summary>
    public string? Command { get; private set; }

    /// <summary>True when the command came from -EncodedCommand.</summary>
    public bool WasCommandEncoded { get; private set; }

    /// <summary>Full path of the -File script.</summary>
    public string? File { get; private set; }

    /// <summary>Arguments after the -File path, as pwsh collects them (named, switch or positional).</summary>
    public Collection<CommandParameter> FileArgs { get; } = new();

    /// <summary>`-Command -` or `-File -`: read the commands from standard input.</summary>
    public bool ReadCommandsFromStdin { get; private set; }

    /// <summary>`-Command -` reads without printing prompts; `-File -` prints them.</summary>
    public bool NoPrompt { get; private set; }

    public bool NoProfile { get; private set; }

    public bool NonInteractive { get; private set; }

    public bool ShowBanner { get; private set; } = true;

    /// <summary>Stay in the interactive loop after the command or file (-NoExit).</summary>
    public bool NoExit { get; private set; } = true;

    public bool ShowHelp { get; private set; }

    public bool ShowVersion { get; private set; }

    public string? WorkingDirectory { get; private set; }

    /// <summary>The message to print when the command line is invalid; <see cref="ExitCode"/> is then 64.</summary>
    public string? Error { get; private set; }

    /// <summary>Print the usage text after the error (as pwsh does for some errors).</summary>
    public bool ShowUsageWithError { get; private set; }

    public int ExitCode { get; private set; }

    /// <summary>Startup must stop after printing help, version or an error.</summary>
    public bool AbortStartup => Error is not null || ShowHelp || ShowVersion;

    /// <summary>The synopsis printed after a command-line error.</summary>
    public static string Synopsis { get; } =
        """
        Usage: pscsh [[-File] <filePath> [args]]
                     [-Command { - | <string> } ]
                     [-EncodedCommand <Base64EncodedCommand>]
                     [-NoExit] [-NoLogo] [-NonInteractive] [-NoProfile]
                     [-WorkingDirectory <directoryPath>]
                     [-Version]

               pscsh -h | -Help | -? | /?

        """;

    /// <summary>The full help (-Help).</summary>
    public static string Usage { get; } = Synopsis +
        """

        A minimal PowerShell host (the PowerShell engine, without the Utility and Management
        modules) for the PSContainers module. The module is found through $env:PSModulePath.

        -File | -f           Runs the script with the arguments that follow it; they bind to the
                             script's param() block ("-Name value", "-Name:value", switches,
                             positional values). `-File -` reads commands from standard input.
        -Command | -c        Runs the rest of the command line as a script; `-Command -` reads the
                             script from standard input.
        -EncodedCommand | -e | -ec
                             Runs a Base64-encoded (UTF-16LE) script.
        -NoExit | -noe       Enters the interactive prompt after the command or file.
        -NoLogo | -nol       Hides the banner of the interactive prompt.
        -NonInteractive | -noni
                             Read-Host, prompts and confirmations fail instead of waiting for input.
        -NoProfile | -nop    Does not run the profile scripts ($PROFILE).
        -WorkingDirectory | -wd
                             Sets the initial location.
        -Version | -v        Prints the version and exits.

        Exit codes: `exit N` gives N; otherwise 0 when the last pipeline succeeded and 1 when it
        failed or a terminating error ended the script; 64 for a bad command line.
        All parameters are case-insensitive and may be abbreviated.

        """;

    public static CommandLine Parse(string[] args, bool stdinRedirected)
    {
        var cl = new CommandLine();
        cl.ParseHelper(args, stdinRedirected);
        return cl;
    }

    private static bool MatchSwitch(string switchKey, string match, string smallestUnambiguousMatch) =>
        switchKey.Length >= smallestUnambiguousMatch.Length
        && match.StartsWith(switchKey, StringComparison.OrdinalIgnoreCase);

    private static bool IsDash(char c) => c is '-' or '\u2013' or '\u2014' or '\u2015';

    private void ParseHelper(string[] args, bool stdinRedirected)
    {
        bool noExitSeen = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i].Trim();
            if (arg.Length == 0)
            {
                continue;
            }

            if (!IsDash(arg[0]) && arg[0] != '/')
            {
                // The first argument that is not a parameter is the script file.
                i--;
                ParseFile(args, ref i, noExitSeen);
                break;
            }

            string key = arg.Substring(1);
            if (key.Length > 0 && IsDash(key[0]))
            {
                key = key.Substring(1);
            }

            if (MatchSwitch(key, "version", "v"))
            {
                ShowVersion = true;
                ShowBanner = false;
                break;
            }

            if (MatchSwitch(key, "help", "h") || key == "?")
            {
                ShowHelp = true;
            }
            else if (MatchSwitch(key, "login", "l"))
            {
                // Accepted for compatibility with pwsh; does nothing here.
            }
            else if (MatchSwitch(key, "noexit", "noe"))
            {
                NoExit = true;
                noExitSeen = true;
            }
            else if (MatchSwitch(key, "noprofile", "nop"))
            {
                NoProfile = true;
            }
            else if (MatchSwitch(key, "nologo", "nol"))
            {
                ShowBanner = false;
            }
            else if (MatchSwitch(key, "noninteractive", "noni"))
            {
                NonInteractive = true;
            }
            else if (MatchSwitch(key, "interactive", "i"))
            {
                NonInteractive = false;
            }
            else if (MatchSwitch(key, "command", "c"))
            {
                if (!ParseCommand(args, ref i, noExitSeen, isEncoded: false, stdinRedirected))
                {
                    break;
                }
            }
            else if (MatchSwitch(key, "file", "f"))
            {
                ParseFile(args, ref i, noExitSeen);
                break;
            }
            else if (MatchSwitch(key, "encodedcommand", "e") || MatchSwitch(key, "ec", "e"))
            {
                WasCommandEncoded = true;
                if (!ParseCommand(args, ref i, noExitSeen, isEncoded: true, stdinRedirected))
                {
                    break;
                }
            }
            else if (MatchSwitch(key, "executionpolicy", "ex") || MatchSwitch(key, "ep", "ep"))
            {
                // Execution policies do not apply on Linux; the value is accepted and ignored as pwsh does.
                if (++i >= args.Length)
                {
                    SetError("Cannot process the execution policy because of a missing policy name. A policy name must follow -ExecutionPolicy.", showUsage: true);
                    break;
                }
            }
            else if (MatchSwitch(key, "inputformat", "inp") || MatchSwitch(key, "if", "if")
                     || MatchSwitch(key, "outputformat", "o") || MatchSwitch(key, "of", "o"))
            {
                // Only the Text format is supported.
                if (++i >= args.Length)
                {
                    SetError($"Cannot process the command because the -{key} parameter requires an argument. Only the format Text is supported.", showUsage: true);
                    break;
                }

                if (!string.Equals(args[i], "text", StringComparison.OrdinalIgnoreCase))
                {
                    SetError($"Cannot process the command because of an incorrect parameter value. \"{args[i]}\" is not a supported format. Only Text is supported by this shell.", showUsage: true);
                    break;
                }
            }
            else if (MatchSwitch(key, "workingdirectory", "wo") || MatchSwitch(key, "wd", "wd"))
            {
                if (++i >= args.Length)
                {
                    SetError("Cannot process the command because -WorkingDirectory requires an argument that is a directory path.");
                    break;
                }

                WorkingDirectory = args[i];
            }
            else
            {
                // The first parameter we fail to recognize marks the beginning of the file string (as in pwsh).
                i--;
                ParseFile(args, ref i, noExitSeen);
                break;
            }
        }
    }

    private void SetError(string message, bool showUsage = false)
    {
        if (Error is not null)
        {
            return;
        }

        Error = message;
        ShowUsageWithError = showUsage;
        ShowBanner = false;
        ExitCode = ExitCodeBadCommandLineParameter;
    }

    private static object ConvertToBoolIfPossible(string arg) =>
        arg.Length > 0 && bool.TryParse(arg.AsSpan(arg[0] == '$' ? 1 : 0), out bool b) ? b : arg;

    private void ParseFile(string[] args, ref int i, bool noExitSeen)
    {
        if (++i >= args.Length)
        {
            SetError("The command cannot be run because the File parameter requires a file path. Supply a path for the File parameter and then try the command again.", showUsage: true);
            return;
        }

        if (!noExitSeen)
        {
            ShowBanner = false;
        }

        if (args[i] == "-")
        {
            ReadCommandsFromStdin = true;
            NoPrompt = false;
            return;
        }

        if (!noExitSeen)
        {
            NoExit = false;
        }

        string path;
        try
        {
            path = Path.GetFullPath(args[i]);
        }
        catch (Exception e)
        {
            SetError($"Processing -File '{args[i]}' failed: {e.Message} Specify a valid path for the -File parameter.");
            return;
        }

        if (!System.IO.File.Exists(path))
        {
            if (args[i].Length > 1 && IsDash(args[i][0]))
            {
                string param = args[i].TrimStart('-', '\u2013', '\u2014', '\u2015');
                var possible = new StringBuilder();
                if (param.Length > 0)
                {
                    foreach (string valid in s_validParameters)
                    {
                        if (valid.Contains(param, StringComparison.OrdinalIgnoreCase))
                        {
                            possible.Append("\n  -").Append(valid);
                        }
                    }
                }

                if (possible.Length > 0)
                {
                    SetError($"Invalid argument '{args[i]}', did you mean:" + Environment.NewLine + possible);
                    return;
                }
            }

            SetError($"The argument '{args[i]}' is not recognized as the name of a script file. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", showUsage: true);
            return;
        }

        File = path;
        i++;
        string? pendingParameter = null;
        for (; i < args.Length; i++)
        {
            string arg = args[i];
            if (pendingParameter is not null)
            {
                FileArgs.Add(new CommandParameter(pendingParameter, arg));
                pendingParameter = null;
            }
            else if (arg.Length > 1 && IsDash(arg[0]))
            {
                int colon = arg.IndexOf(':');
                if (colon >= 0)
                {
                    if (colon == arg.Length - 1)
                    {
                        pendingParameter = arg.TrimEnd(':');
                    }
                    else
                    {
                        FileArgs.Add(new CommandParameter(arg.Substring(0, colon), ConvertToBoolIfPossible(arg.Substring(colon + 1))));
                    }
                }
                else
                {
                    FileArgs.Add(new CommandParameter(arg));
                }
            }
            else
            {
                FileArgs.Add(new CommandParameter(null, arg));
            }
        }

        if (pendingParameter is not null)
        {
            FileArgs.Add(new CommandParameter(pendingParameter));
        }
    }

    private bool ParseCommand(string[] args, ref int i, bool noExitSeen, bool isEncoded, bool stdinRedirected)
    {
        if (Command is not null || ReadCommandsFromStdin)
        {
            SetError("Cannot process command because a command is already specified with -Command or -EncodedCommand.", showUsage: true);
            return false;
        }

        if (++i >= args.Length)
        {
            SetError(isEncoded
                ? "Cannot process the command because of a missing parameter. A command must follow -EncodedCommand."
                : "Cannot process the command because of a missing parameter. A command must follow -Command.", showUsage: true);
            return false;
        }

        if (isEncoded)
        {
            try
            {
                Command = Encoding.Unicode.GetString(Convert.FromBase64String(args[i]));
            }
            catch (FormatException)
            {
                SetError("Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.", showUsage: true);
                return false;
            }
        }
        else if (args[i] == "-")
        {
            ReadCommandsFromStdin = true;
            NoPrompt = true;
            if (++i != args.Length)
            {
                SetError("'-' was specified with the -Command parameter; no other arguments to -Command are permitted.", showUsage: true);
                return false;
            }

            if (!stdinRedirected)
            {
                SetError("'-' was specified as the argument to -Command but standard input has not been redirected for this process.", showUsage: true);
                return false;
            }
        }
        else
        {
            // The rest of the command line, joined with spaces, is the command.
            Command = string.Join(' ', args, i, args.Length - i);
            i = args.Length;
        }

        if (!noExitSeen && !ReadCommandsFromStdin)
        {
            NoExit = false;
        }

        ShowBanner = false;
        return true;
    }
}
