using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace PSContainers.Shell;

/// <summary>
/// Console user interface of the shell. Output goes to stdout, errors to stderr; ANSI styling
/// (PSStyle, the error view's colours) is kept only where the target stream is a terminal and
/// NO_COLOR is unset, so redirected output is plain text. Warnings, verbose and debug messages
/// go to stdout as in pwsh. Progress is drawn as one line on a terminal and dropped otherwise.
/// With <see cref="NonInteractive"/>, reads and prompts throw as pwsh's -NonInteractive does.
/// </summary>
public sealed class ShellHostUserInterface : PSHostUserInterface
{
    internal const string NonInteractiveMessage =
        "PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.";

    private readonly object _lock = new();
    private readonly ShellRawUserInterface _rawUI;
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Dictionary<(long SourceId, int ActivityId), ProgressRecord> _progress = new();
    private readonly List<(long SourceId, int ActivityId)> _progressOrder = new();
    private bool _progressVisible;
    private int _column;

    public ShellHostUserInterface()
    {
        StdoutIsTerminal = !Console.IsOutputRedirected;
        StderrIsTerminal = !Console.IsErrorRedirected;
        StdinIsTerminal = !Console.IsInputRedirected;

        string? term = Environment.GetEnvironmentVariable("TERM");
        bool dumb = string.Equals(term, "dumb", StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("NO_COLOR") is not null
            || term is "xterm-mono" or "xtermm")
        {
            PSStyle.Instance.OutputRendering = OutputRendering.PlainText;
        }

        ColorEnabled = !dumb && PSStyle.Instance.OutputRendering != OutputRendering.PlainText;
        SupportsVirtualTerminal = StdoutIsTerminal && !dumb;

        _out = Console.Out;
        _err = Console.Error;
        _rawUI = new ShellRawUserInterface(this);
    }

    internal bool StdoutIsTerminal { get; }

    internal bool StderrIsTerminal { get; }

    internal bool StdinIsTerminal { get; }

    /// <summary>Colours may be used (TERM is not dumb, NO_COLOR is unset).</summary>
    internal bool ColorEnabled { get; }

    /// <summary>Reads and prompts throw (pwsh -NonInteractive).</summary>
    public bool NonInteractive { get; set; }

    /// <summary>The column of the cursor on stdout, as far as this UI wrote it.</summary>
    internal int Column
    {
        get
        {
            lock (_lock)
            {
                return _column;
            }
        }
    }

    public override bool SupportsVirtualTerminal { get; }

    public override PSHostRawUserInterface RawUI => _rawUI;

    // ---- output ---------------------------------------------------------------------------

    private static string Render(string value, bool toTerminal) =>
        GetOutputString(value, supportsVirtualTerminal: toTerminal);

    private void WriteOut(string value, bool newLine)
    {
        lock (_lock)
        {
            ClearProgressLocked();
            string text = Render(value, StdoutIsTerminal && SupportsVirtualTerminal);
            if (newLine)
            {
                _out.WriteLine(text);
                _column = 0;
            }
            else
            {
                _out.Write(text);
                TrackColumn(text);
            }

            _out.Flush();
        }
    }

    private void TrackColumn(string text)
    {
        int nl = text.LastIndexOf('\n');
        if (nl >= 0)
        {
            _column = text.Length - nl - 1;
        }
        else
        {
            _column += text.Length;
        }
    }

    private static string Sgr(ConsoleColor color, bool background)
    {
        int code = color switch
        {
            ConsoleColor.Black => 30,
            ConsoleColor.DarkRed => 31,
            ConsoleColor.DarkGreen => 32,
            ConsoleColor.DarkYellow => 33,
            ConsoleColor.DarkBlue => 34,
            ConsoleColor.DarkMagenta => 35,
            ConsoleColor.DarkCyan => 36,
            ConsoleColor.Gray => 37,
            ConsoleColor.DarkGray => 90,
            ConsoleColor.Red => 91,
            ConsoleColor.Green => 92,
            ConsoleColor.Yellow => 93,
            ConsoleColor.Blue => 94,
            ConsoleColor.Magenta => 95,
            ConsoleColor.Cyan => 96,
            ConsoleColor.White => 97,
            _ => -1,
        };
        if (code < 0)
        {
            return string.Empty;
        }

        return "\u001b[" + (background ? code + 10 : code).ToString(CultureInfo.InvariantCulture) + "m";
    }

    private string Colorize(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value)
    {
        if (!StdoutIsTerminal || !ColorEnabled || string.IsNullOrEmpty(value))
        {
            return value;
        }

        var sb = new StringBuilder();
        if (foregroundColor != _rawUI.ForegroundColor)
        {
            sb.Append(Sgr(foregroundColor, background: false));
        }

        if (backgroundColor != _rawUI.BackgroundColor)
        {
            sb.Append(Sgr(backgroundColor, background: true));
        }

        if (sb.Length == 0)
        {
            return value;
        }

        return sb.Append(value).Append("\u001b[0m").ToString();
    }

    public override void Write(string value) => WriteOut(value ?? string.Empty, newLine: false);

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) =>
        WriteOut(Colorize(foregroundColor, backgroundColor, value ?? string.Empty), newLine: false);

    public override void WriteLine() => WriteOut(string.Empty, newLine: true);

    public override void WriteLine(string value) => WriteOut(value ?? string.Empty, newLine: true);

    public override void WriteLine(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) =>
        WriteOut(Colorize(foregroundColor, backgroundColor, value ?? string.Empty), newLine: true);

    /// <summary>Errors go to stderr; on a terminal they are red (PSStyle.Formatting.Error) unless already styled.</summary>
    public override void WriteErrorLine(string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        lock (_lock)
        {
            ClearProgressLocked();
            if (_column != 0 && StdoutIsTerminal && StderrIsTerminal)
            {
                // Keep the error on its own line when stdout and stderr share the terminal.
                _out.WriteLine();
                _out.Flush();
                _column = 0;
            }

            bool styled = StderrIsTerminal && ColorEnabled;
            if (styled && !value.Contains('\u001b'))
            {
                value = PSStyle.Instance.Formatting.Error + value + PSStyle.Instance.Reset;
            }

            _err.WriteLine(Render(value, styled));
            _err.Flush();
        }
    }

    private void WriteStyledLine(string style, string text)
    {
        if (StdoutIsTerminal && ColorEnabled)
        {
            text = style + text + PSStyle.Instance.Reset;
        }

        WriteOut(text, newLine: true);
    }

    public override void WriteDebugLine(string message) =>
        WriteStyledLine(PSStyle.Instance.Formatting.Debug, "DEBUG: " + message);

    public override void WriteVerboseLine(string message) =>
        WriteStyledLine(PSStyle.Instance.Formatting.Verbose, "VERBOSE: " + message);

    public override void WriteWarningLine(string message) =>
        WriteStyledLine(PSStyle.Instance.Formatting.Warning, "WARNING: " + message);

    /// <summary>
    /// The engine itself displays information records that are meant to be shown (Write-Host,
    /// -InformationAction Continue) through Write/WriteLine; the host only gets to see them here,
    /// as pwsh's console host, which does nothing with them either.
    /// </summary>
    public override void WriteInformation(InformationRecord record)
    {
    }

    // ---- progress -------------------------------------------------------------------------

    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        if (!StdoutIsTerminal || record is null)
        {
            return;
        }

        lock (_lock)
        {
            var key = (sourceId, record.ActivityId);
            if (record.RecordType == ProgressRecordType.Completed)
            {
                _progress.Remove(key);
                _progressOrder.Remove(key);
            }
            else
            {
                if (!_progress.ContainsKey(key))
                {
                    _progressOrder.Add(key);
                }

                _progress[key] = record;
            }

            if (_progressOrder.Count == 0)
            {
                ClearProgressLocked();
                return;
            }

            DrawProgressLocked(_progress[_progressOrder[^1]]);
        }
    }

    private void DrawProgressLocked(ProgressRecord record)
    {
        var sb = new StringBuilder();
        sb.Append(record.Activity);
        if (!string.IsNullOrEmpty(record.StatusDescription))
        {
            sb.Append(": ").Append(record.StatusDescription);
        }

        if (record.PercentComplete >= 0)
        {
            sb.Append(" [").Append(Math.Min(record.PercentComplete, 100).ToString(CultureInfo.InvariantCulture)).Append("%]");
        }

        if (record.SecondsRemaining >= 0)
        {
            sb.Append(' ').Append(TimeSpan.FromSeconds(record.SecondsRemaining).ToString("c", CultureInfo.InvariantCulture)).Append(" remaining");
        }

        if (!string.IsNullOrEmpty(record.CurrentOperation))
        {
            sb.Append(" - ").Append(record.CurrentOperation);
        }

        string text = sb.ToString().Replace('\n', ' ').Replace('\r', ' ');
        int width = Math.Max(10, _rawUI.BufferSize.Width - 1);
        if (text.Length > width)
        {
            text = text.Substring(0, width - 3) + "...";
        }

        if (_column != 0 && !_progressVisible)
        {
            _out.WriteLine();
            _column = 0;
        }

        string style = ColorEnabled ? PSStyle.Instance.Progress.Style : string.Empty;
        string reset = ColorEnabled ? PSStyle.Instance.Reset : string.Empty;
        _out.Write("\r\u001b[2K" + style + text + reset);
        _out.Flush();
        _progressVisible = true;
    }

    private void ClearProgressLocked()
    {
        if (_progressVisible)
        {
            _out.Write("\r\u001b[2K");
            _out.Flush();
            _progressVisible = false;
        }
    }

    /// <summary>Takes down the progress line (before a native program writes, or when a pipeline ends).</summary>
    internal void ClearProgress()
    {
        lock (_lock)
        {
            ClearProgressLocked();
        }
    }

    /// <summary>Forgets all progress records (called when a pipeline ends).</summary>
    internal void ResetProgress()
    {
        lock (_lock)
        {
            _progress.Clear();
            _progressOrder.Clear();
            ClearProgressLocked();
        }
    }

    // ---- input ----------------------------------------------------------------------------

    private void ThrowIfNonInteractive()
    {
        if (NonInteractive)
        {
            throw new PSInvalidOperationException(NonInteractiveMessage);
        }
    }

    /// <summary>Reads one line from stdin (the interactive loop's reader); null at end of input.</summary>
    internal string? ReadInputLine()
    {
        ClearProgress();
        string? line = Console.In.ReadLine();
        lock (_lock)
        {
            _column = 0;
        }

        return line;
    }

    public override string ReadLine()
    {
        ThrowIfNonInteractive();
        return ReadInputLine() ?? string.Empty;
    }

    public override SecureString ReadLineAsSecureString()
    {
        ThrowIfNonInteractive();
        var secure = new SecureString();
        if (!StdinIsTerminal)
        {
            foreach (char c in ReadInputLine() ?? string.Empty)
            {
                secure.AppendChar(c);
            }

            secure.MakeReadOnly();
            return secure;
        }

        ClearProgress();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (secure.Length > 0)
                {
                    secure.RemoveAt(secure.Length - 1);
                    WriteOut("\b \b", newLine: false);
                }

                continue;
            }

            if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar))
            {
                secure.AppendChar(key.KeyChar);
                WriteOut("*", newLine: false);
            }
        }

        WriteLine();
        secure.MakeReadOnly();
        return secure;
    }

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
    {
        ThrowIfNonInteractive();
        ArgumentNullException.ThrowIfNull(descriptions);
        if (descriptions.Count == 0)
        {
            throw new ArgumentException("The \"descriptions\" collection must have at least one element.", nameof(descriptions));
        }

        if (!string.IsNullOrEmpty(caption))
        {
            WriteLine(caption);
        }

        if (!string.IsNullOrEmpty(message))
        {
            WriteLine(message);
        }

        var results = new Dictionary<string, PSObject>();
        foreach (FieldDescription field in descriptions)
        {
            string label = string.IsNullOrEmpty(field.Label) ? field.Name : RemoveHotKeyMarker(field.Label);
            Type? type = ResolveFieldType(field);

            if (type == typeof(SecureString))
            {
                Write(label + ": ");
                results[field.Name] = PSObject.AsPSObject(ReadLineAsSecureString());
                continue;
            }

            if (type == typeof(PSCredential))
            {
                results[field.Name] = PSObject.AsPSObject(PromptForCredential(caption, message, string.Empty, string.Empty));
                continue;
            }

            if (type is not null && type.IsArray)
            {
                Type elementType = type.GetElementType() ?? typeof(object);
                var items = new List<object?>();
                for (int index = 0; ; index++)
                {
                    Write(string.Create(CultureInfo.InvariantCulture, $"{label}[{index}]: "));
                    string? line = ReadInputLine();
                    if (string.IsNullOrEmpty(line))
                    {
                        break;
                    }

                    items.Add(ConvertInput(line, elementType));
                }

                Array array = Array.CreateInstance(elementType, items.Count);
                for (int k = 0; k < items.Count; k++)
                {
                    array.SetValue(items[k], k);
                }

                results[field.Name] = PSObject.AsPSObject(array);
                continue;
            }

            while (true)
            {
                Write(label + ": ");
                string? input = ReadInputLine();
                if (input is null)
                {
                    throw new PSInvalidOperationException("The prompt was canceled: end of input.");
                }

                if (input == "!?")
                {
                    WriteLine(string.IsNullOrEmpty(field.HelpMessage) ? $"No help is available for {label}." : field.HelpMessage);
                    continue;
                }

                if (input.Length == 0 && field.DefaultValue is not null)
                {
                    results[field.Name] = field.DefaultValue;
                    break;
                }

                try
                {
                    object? value = type is null ? input : ConvertInput(input, type);
                    results[field.Name] = PSObject.AsPSObject(value ?? string.Empty);
                    break;
                }
                catch (PSInvalidCastException e)
                {
                    WriteErrorLine(e.Message);
                }
            }
        }

        return results;
    }

    private static object? ConvertInput(string input, Type type) =>
        type == typeof(string) || type == typeof(object) ? input : LanguagePrimitives.ConvertTo(input, type, CultureInfo.InvariantCulture);

    private static Type? ResolveFieldType(FieldDescription field)
    {
        string? name = field.ParameterAssemblyFullName;
        Type? type = null;
        if (!string.IsNullOrEmpty(name))
        {
            type = Type.GetType(name, throwOnError: false);
        }

        if (type is null && !string.IsNullOrEmpty(field.ParameterTypeFullName))
        {
            LanguagePrimitives.TryConvertTo(field.ParameterTypeFullName, out type);
        }

        return type;
    }

    private static string RemoveHotKeyMarker(string label)
    {
        int amp = label.IndexOf('&');
        return amp >= 0 ? label.Remove(amp, 1) : label;
    }

    private static (string Label, string HotKey) SplitHotKey(string label)
    {
        int amp = label.IndexOf('&');
        if (amp >= 0 && amp + 1 < label.Length)
        {
            return (label.Remove(amp, 1), label[amp + 1].ToString().ToUpperInvariant());
        }

        return (label, string.Empty);
    }

    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        ThrowIfNonInteractive();
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0)
        {
            throw new ArgumentException("\"choices\" should have at least one element.", nameof(choices));
        }

        if (defaultChoice < -1 || defaultChoice >= choices.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(defaultChoice), $"\"defaultChoice\" must be a valid index into \"choices\" or -1 for no default choice.");
        }

        var parsed = choices.Select(c => SplitHotKey(c.Label)).ToList();

        if (!string.IsNullOrEmpty(caption))
        {
            WriteLine(caption);
        }

        if (!string.IsNullOrEmpty(message))
        {
            WriteLine(message);
        }

        var line = new StringBuilder();
        for (int i = 0; i < parsed.Count; i++)
        {
            string hot = parsed[i].HotKey.Length > 0 ? parsed[i].HotKey : parsed[i].Label;
            line.Append('[').Append(hot).Append("] ").Append(parsed[i].Label).Append("  ");
        }

        line.Append("[?] Help ");
        if (defaultChoice >= 0)
        {
            string def = parsed[defaultChoice].HotKey.Length > 0 ? parsed[defaultChoice].HotKey : parsed[defaultChoice].Label;
            line.Append("(default is \"").Append(def).Append("\"): ");
        }

        while (true)
        {
            Write(line.ToString());
            string? response = ReadInputLine();
            if (response is null)
            {
                throw new PSInvalidOperationException("The prompt was canceled: end of input.");
            }

            response = response.Trim();
            if (response.Length == 0)
            {
                if (defaultChoice >= 0)
                {
                    return defaultChoice;
                }

                continue;
            }

            if (response == "?")
            {
                for (int i = 0; i < parsed.Count; i++)
                {
                    string hot = parsed[i].HotKey.Length > 0 ? parsed[i].HotKey : parsed[i].Label;
                    WriteLine($"{hot} - {choices[i].HelpMessage}");
                }

                continue;
            }

            for (int i = 0; i < parsed.Count; i++)
            {
                if (string.Equals(response, parsed[i].Label, StringComparison.OrdinalIgnoreCase))
                {
                    return i;
                }
            }

            for (int i = 0; i < parsed.Count; i++)
            {
                if (parsed[i].HotKey.Length > 0 && string.Equals(response, parsed[i].HotKey, StringComparison.OrdinalIgnoreCase))
                {
                    return i;
                }
            }
        }
    }

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        PromptForCredential(caption, message, userName, targetName, PSCredentialTypes.Default, PSCredentialUIOptions.Default);

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
    {
        ThrowIfNonInteractive();
        if (!string.IsNullOrEmpty(caption))
        {
            WriteLine(caption);
        }

        if (!string.IsNullOrEmpty(message))
        {
            WriteLine(message);
        }

        string user = userName ?? string.Empty;
        if (string.IsNullOrEmpty(user))
        {
            Write("User: ");
            user = ReadInputLine() ?? string.Empty;
        }

        Write(string.IsNullOrEmpty(targetName) ? $"Password for user {user}: " : $"Password for user {user} on {targetName}: ");
        SecureString password = ReadLineAsSecureString();
        return new PSCredential(user, password);
    }
}
