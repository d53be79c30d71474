using System.Management.Automation.Host;

namespace PSContainers.Shell;

/// <summary>
/// Raw console UI. On a terminal the buffer and window width is the terminal's; when stdout is
/// redirected it is 120 columns, so formatted tables look the same in files and pipes on every
/// machine. Buffer-cell access (GetBufferContents etc.) is not supported.
/// </summary>
public sealed class ShellRawUserInterface : PSHostRawUserInterface
{
    /// <summary>Width used for formatting when stdout is not a terminal.</summary>
    public const int RedirectedWidth = 120;

    private const int RedirectedHeight = 50;

    private readonly ShellHostUserInterface _ui;
    private string _windowTitle = "pscsh";

    internal ShellRawUserInterface(ShellHostUserInterface ui)
    {
        _ui = ui;
    }

    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

    public override Coordinates CursorPosition
    {
        get => new(_ui.Column, 0);
        set
        {
            if (_ui.StdoutIsTerminal)
            {
                try
                {
                    Console.SetCursorPosition(value.X, value.Y);
                }
                catch (Exception e) when (e is IOException or ArgumentOutOfRangeException or PlatformNotSupportedException)
                {
                }
            }
        }
    }

    public override int CursorSize { get; set; } = 25;

    private Size TerminalSize()
    {
        if (_ui.StdoutIsTerminal)
        {
            try
            {
                int w = Console.WindowWidth;
                int h = Console.WindowHeight;
                if (w > 0)
                {
                    return new Size(w, h > 0 ? h : RedirectedHeight);
                }
            }
            catch (Exception e) when (e is IOException or PlatformNotSupportedException)
            {
            }
        }

        return new Size(RedirectedWidth, RedirectedHeight);
    }

    public override Size BufferSize
    {
        get
        {
            Size s = TerminalSize();
            return new Size(s.Width, _ui.StdoutIsTerminal ? Math.Max(s.Height, 9001) : 9001);
        }

        set
        {
            // The buffer size of a terminal is not ours to change.
        }
    }

    public override Size WindowSize
    {
        get => TerminalSize();
        set
        {
        }
    }

    public override Size MaxWindowSize => TerminalSize();

    public override Size MaxPhysicalWindowSize => TerminalSize();

    public override Coordinates WindowPosition { get; set; }

    public override bool KeyAvailable
    {
        get
        {
            if (!_ui.StdinIsTerminal)
            {
                return false;
            }

            try
            {
                return Console.KeyAvailable;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    public override string WindowTitle
    {
        get => _windowTitle;
        set
        {
            _windowTitle = value ?? string.Empty;
            if (_ui.StdoutIsTerminal && _ui.SupportsVirtualTerminal)
            {
                Console.Out.Write("\u001b]0;" + _windowTitle + "\u0007");
                Console.Out.Flush();
            }
        }
    }

    public override KeyInfo ReadKey(ReadKeyOptions options)
    {
        if (_ui.NonInteractive)
        {
            throw new System.Management.Automation.PSInvalidOperationException(ShellHostUserInterface.NonInteractiveMessage);
        }

        if (!_ui.StdinIsTerminal)
        {
            int c = Console.In.Read();
            char ch = c < 0 ? '\0' : (char)c;
            return new KeyInfo(ch, ch, ControlKeyStates.NumLockOn, keyDown: (options & ReadKeyOptions.IncludeKeyDown) != 0 || (options & ReadKeyOptions.IncludeKeyUp) == 0);
        }

        ConsoleKeyInfo key = Console.ReadKey(intercept: (options & ReadKeyOptions.NoEcho) != 0);
        ControlKeyStates state = 0;
        if ((key.Modifiers & ConsoleModifiers.Shift) != 0)
        {
            state |= ControlKeyStates.ShiftPressed;
        }

        if ((key.Modifiers & ConsoleModifiers.Control) != 0)
        {
            state |= ControlKeyStates.LeftCtrlPressed;
        }

        if ((key.Modifiers & ConsoleModifiers.Alt) != 0)
        {
            state |= ControlKeyStates.LeftAltPressed;
        }

        return new KeyInfo((int)key.Key, key.KeyChar, state, keyDown: true);
    }

    public override void FlushInputBuffer()
    {
    }

    public override BufferCell[,] GetBufferContents(Rectangle rectangle) =>
        throw new NotSupportedException("Reading the screen buffer is not supported by this shell.");

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) =>
        throw new NotSupportedException("Writing the screen buffer is not supported by this shell.");

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill)
    {
        // Clear-Host passes a rectangle of -1s: clear the screen.
        if (rectangle.Left == -1 && rectangle.Top == -1 && rectangle.Right == -1 && rectangle.Bottom == -1)
        {
            if (_ui.StdoutIsTerminal)
            {
                Console.Out.Write("\u001b[2J\u001b[3J\u001b[H");
                Console.Out.Flush();
            }

            return;
        }

        throw new NotSupportedException("Writing the screen buffer is not supported by this shell.");
    }

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) =>
        throw new NotSupportedException("Scrolling the screen buffer is not supported by this shell.");

    public override int LengthInBufferCells(string source) => LengthInBufferCells(source, 0);

    public override int LengthInBufferCells(string source, int offset)
    {
        ArgumentNullException.ThrowIfNull(source);
        int length = 0;
        for (int i = offset; i < source.Length; i++)
        {
            length += LengthInBufferCells(source[i]);
        }

        return length;
    }

    /// <summary>East Asian wide and fullwidth characters take two cells.</summary>
    public override int LengthInBufferCells(char source)
    {
        int c = source;
        bool wide =
            (c >= 0x1100 && c <= 0x115F) ||
            (c >= 0x2E80 && c <= 0x303E) ||
            (c >= 0x3041 && c <= 0x33FF) ||
            (c >= 0x3400 && c <= 0x4DBF) ||
            (c >= 0x4E00 && c <= 0x9FFF) ||
            (c >= 0xA000 && c <= 0xA4CF) ||
            (c >= 0xAC00 && c <= 0xD7A3) ||
            (c >= 0xF900 && c <= 0xFAFF) ||
            (c >= 0xFE30 && c <= 0xFE4F) ||
            (c >= 0xFF00 && c <= 0xFF60) ||
            (c >= 0xFFE0 && c <= 0xFFE6);
        return wide ? 2 : 1;
    }
}
