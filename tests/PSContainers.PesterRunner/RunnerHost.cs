using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace PSContainers.PesterRunner;

/// <summary>A non-interactive host: whatever test code sends to the host (Out-Host, Out-Default, $Host.UI) goes to the runner output.</summary>
internal sealed class RunnerHost(TextWriter output, object writeLock) : PSHost
{
    private readonly RunnerHostUI _ui = new(output, writeLock);

    public override string Name => "PSContainers.PesterRunner";
    public override Version Version { get; } = new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException("The test runner host is not interactive.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("The test runner host is not interactive.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

internal sealed class RunnerHostUI(TextWriter output, object writeLock) : PSHostUserInterface
{
    private readonly RunnerRawUI _raw = new();

    public override PSHostRawUserInterface RawUI => _raw;

    public override void Write(string value)
    {
        lock (writeLock)
        {
            output.Write(value);
        }
    }

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
    public override void WriteLine(string value) => Write(value + Environment.NewLine);
    public override void WriteErrorLine(string value) => WriteLine("ERROR: " + value);
    public override void WriteDebugLine(string message) => WriteLine("DEBUG: " + message);
    public override void WriteVerboseLine(string message) => WriteLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => WriteLine("WARNING: " + message);
    public override void WriteProgress(long sourceId, ProgressRecord record) { }

    public override string ReadLine() => throw NotInteractive();
    public override SecureString ReadLineAsSecureString() => throw NotInteractive();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NotInteractive();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NotInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NotInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NotInteractive();

    private static PSNotSupportedException NotInteractive() => new("The test runner host is not interactive: tests cannot prompt.");
}

internal sealed class RunnerRawUI : PSHostRawUserInterface
{
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override Coordinates CursorPosition { get; set; }
    public override Coordinates WindowPosition { get; set; }
    public override int CursorSize { get; set; } = 1;
    public override Size BufferSize { get; set; } = new(120, 3000);
    public override Size WindowSize { get; set; } = new(120, 50);
    public override Size MaxWindowSize => new(120, 50);
    public override Size MaxPhysicalWindowSize => new(120, 50);
    public override bool KeyAvailable => false;
    public override string WindowTitle { get; set; } = "PesterRunner";
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new PSNotSupportedException("The test runner host is not interactive.");
    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new PSNotSupportedException("The test runner host has no screen buffer.");
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
}
