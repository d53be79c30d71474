using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace PSContainers.Containers;

/// <summary>
/// The stdin of a program run by <see cref="PreparedExec.Run(Action{string}, Action{string}, CancellationToken, ExecInput?, Action{byte[]}?)"/>:
/// bytes added by one thread (Invoke-ContainerCommand's pipeline) and written to psc-init as "i &lt;n&gt;" records,
/// then "c" (close the program's stdin) once <see cref="Complete"/> is called (psc-init/README.md, "Exec"). Bounded:
/// while the program does not read, <see cref="TryAdd"/> waits, so input is never buffered whole.
/// </summary>
public sealed class ExecInput
{
    /// <summary>The largest record psc-init takes.</summary>
    public const int MaxChunk = 65536;

    private readonly BlockingCollection<byte[]> _chunks = new(boundedCapacity: 16);
    private readonly CancellationTokenSource _abandoned = new();

    /// <summary>Adds bytes for the program's stdin; false when there was no room within <paramref name="wait"/> (try again).</summary>
    public bool TryAdd(byte[] bytes, TimeSpan wait)
    {
        if (bytes.Length == 0)
        {
            return true;
        }
        if (bytes.Length > MaxChunk)
        {
            throw new ArgumentException($"At most {MaxChunk} bytes at a time.", nameof(bytes));
        }
        try
        {
            return _chunks.TryAdd(bytes, (int)wait.TotalMilliseconds, _abandoned.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            return true; // the program has ended or stopped taking input: what comes is dropped, as a closed pipe would
        }
    }

    /// <summary>The end of input: the program's stdin is closed once everything added is written.</summary>
    public void Complete()
    {
        try
        {
            _chunks.CompleteAdding();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>The exec has ended: nothing more is taken.</summary>
    internal void Abandon() => _abandoned.Cancel();

    /// <summary>Writes every chunk as a record through <paramref name="write"/>, then "c".</summary>
    internal void WriteTo(Action<byte[]> write, CancellationToken cancel)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel, _abandoned.Token);
        try
        {
            foreach (byte[] chunk in _chunks.GetConsumingEnumerable(both.Token))
            {
                byte[] head = Encoding.ASCII.GetBytes("i " + chunk.Length.ToString(CultureInfo.InvariantCulture) + "\n");
                write(head.Concat(chunk).ToArray());
            }
            write("c\n"u8.ToArray());
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // cancelled, or psc-init is gone: the exec reports what happened
        }
    }
}
