using System.Globalization;
using System.Text;

namespace PSContainers.Containers;

public enum LogStream
{
    All,
    Stdout,
    Stderr,
}

/// <summary>New lines of a process's output since the last look: the main program's logs or a tracked process's.</summary>
public interface ILogFollower
{
    /// <summary>Complete lines written since the last call, in order; with <paramref name="final"/>, also an unterminated last line.</summary>
    IEnumerable<(LogStream Stream, string Line)> ReadNew(bool final = false);
}

/// <summary>
/// The output of a process as psc-init writes it (psc-init/README.md, "Output logs"): the container's init for the
/// main program (in the depot entry), its tracker for a process started with Start-ContainerProcess (in its record).
/// output.log.1 (the part rotated away) then output.log, each a sequence of records "o &lt;n&gt;\n" or "e &lt;n&gt;\n"
/// followed by n bytes of stdout or stderr, in the order they were read from the program's pipes. Follows a rotation:
/// the file held open is read to its end before the new output.log.
/// </summary>
public sealed class ProcessLogs : ILogFollower
{
    private readonly string _dir;
    private FileStream? _current;
    private bool _begun;
    private byte[] _pending = Array.Empty<byte>();
    private readonly List<(LogStream, string)> _lines = new();
    private readonly LineSplitter _stdout;
    private readonly LineSplitter _stderr;

    public ProcessLogs(string recordDir)
    {
        _dir = recordDir;
        _stdout = new LineSplitter(l => _lines.Add((LogStream.Stdout, l)));
        _stderr = new LineSplitter(l => _lines.Add((LogStream.Stderr, l)));
    }

    public IEnumerable<(LogStream Stream, string Line)> ReadNew(bool final = false)
    {
        if (!_begun)
        {
            _begun = true;
            using (FileStream? old = Open("output.log.1"))
            {
                if (old is not null)
                {
                    Drain(old);
                }
            }
            _pending = Array.Empty<byte>(); // a record cut by the rotation is not joined to the next file
            _current = Open("output.log");
        }
        if (_current is not null)
        {
            Drain(_current);
            if (Rotated())
            {
                _current.Dispose();
                _pending = Array.Empty<byte>();
                _current = Open("output.log");
                if (_current is not null)
                {
                    Drain(_current);
                }
            }
        }
        else
        {
            _current = Open("output.log");
        }
        if (final)
        {
            _stdout.Flush();
            _stderr.Flush();
            _current?.Dispose();
            _current = null;
        }
        var result = _lines.ToList();
        _lines.Clear();
        return result;
    }

    private FileStream? Open(string file)
    {
        try
        {
            return new FileStream(Path.Combine(_dir, file), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Whether output.log is now another file than the one held (the tracker renamed it to output.log.1).</summary>
    private bool Rotated()
    {
        var now = Native.Sys.StatInode(Path.Combine(_dir, "output.log"));
        var held = Native.Sys.FStatInode(_current!.SafeFileHandle);
        return now is not null && held is not null && now != held;
    }

    /// <summary>Reads what the file holds beyond what was read, and splits whole records into the two streams' lines.</summary>
    private void Drain(FileStream fs)
    {
        var chunk = new byte[65536];
        int n;
        while ((n = fs.Read(chunk, 0, chunk.Length)) > 0)
        {
            var joined = new byte[_pending.Length + n];
            _pending.CopyTo(joined, 0);
            Array.Copy(chunk, 0, joined, _pending.Length, n);
            _pending = Records(joined);
        }
    }

    /// <summary>Feeds every whole record in <paramref name="data"/> to its stream; returns the unfinished rest.</summary>
    private byte[] Records(byte[] data)
    {
        int pos = 0;
        while (true)
        {
            int nl = Array.IndexOf(data, (byte)'\n', pos, Math.Min(32, data.Length - pos));
            if (nl < 0)
            {
                break;
            }
            string head = Encoding.ASCII.GetString(data, pos, nl - pos);
            if (head.Length < 3 || head[1] != ' ' || head[0] is not ('o' or 'e')
                || !int.TryParse(head.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int len))
            {
                return Array.Empty<byte>(); // not a record: the rest of this read is skipped
            }
            if (data.Length - (nl + 1) < len)
            {
                break;
            }
            (head[0] == 'o' ? _stdout : _stderr).Add(data[(nl + 1)..(nl + 1 + len)]);
            pos = nl + 1 + len;
        }
        return data[pos..];
    }
}
