using System.Text;

namespace PSContainers.Containers;

public enum LogStream
{
    All,
    Stdout,
    Stderr,
}

/// <summary>Reads the stdout.log and stderr.log the container's main process writes, whole or as they grow.</summary>
public sealed class ContainerLogs : ILogFollower
{
    private readonly string _stdout;
    private readonly string _stderr;
    private long _stdoutPos;
    private long _stderrPos;
    private readonly StringBuilder _stdoutPartial = new();
    private readonly StringBuilder _stderrPartial = new();

    public ContainerLogs(Depot depot, string name)
    {
        _stdout = depot.FileOf(name, "stdout.log");
        _stderr = depot.FileOf(name, "stderr.log");
    }

    /// <summary>The last <paramref name="tail"/> lines (all when null) of one stream or both (stdout first).</summary>
    public IEnumerable<(LogStream Stream, string Line)> Read(LogStream stream, int? tail)
    {
        var lines = new List<(LogStream, string)>();
        if (stream is LogStream.All or LogStream.Stdout)
        {
            lines.AddRange(Lines(_stdout, tail).Select(l => (LogStream.Stdout, l)));
        }
        if (stream is LogStream.All or LogStream.Stderr)
        {
            lines.AddRange(Lines(_stderr, tail).Select(l => (LogStream.Stderr, l)));
        }
        return lines;
    }

    private static IEnumerable<string> Lines(string file, int? tail)
    {
        if (!File.Exists(file))
        {
            return Array.Empty<string>();
        }
        var all = File.ReadAllLines(file);
        return tail is int n ? all.Skip(Math.Max(0, all.Length - n)) : all;
    }

    /// <summary>Complete lines written since the last call; with <paramref name="final"/>, also an unterminated last line.</summary>
    public IEnumerable<(LogStream Stream, string Line)> ReadNew(bool final = false)
    {
        var result = new List<(LogStream, string)>();
        Follow(_stdout, ref _stdoutPos, _stdoutPartial, LogStream.Stdout, final, result);
        Follow(_stderr, ref _stderrPos, _stderrPartial, LogStream.Stderr, final, result);
        return result;
    }

    private static void Follow(string file, ref long pos, StringBuilder partial, LogStream stream, bool final, List<(LogStream, string)> into)
    {
        if (File.Exists(file))
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (fs.Length > pos)
            {
                fs.Seek(pos, SeekOrigin.Begin);
                var buffer = new byte[fs.Length - pos];
                int read = fs.Read(buffer, 0, buffer.Length);
                pos += read;
                partial.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
        string text = partial.ToString();
        int last = text.LastIndexOf('\n');
        if (last >= 0)
        {
            foreach (string line in text[..last].Split('\n'))
            {
                into.Add((stream, line));
            }
            partial.Clear().Append(text[(last + 1)..]);
        }
        if (final && partial.Length > 0)
        {
            into.Add((stream, partial.ToString()));
            partial.Clear();
        }
    }
}
