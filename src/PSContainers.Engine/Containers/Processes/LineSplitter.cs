using System.Text;

namespace PSContainers.Containers;

/// <summary>Bytes of one stream to lines: UTF-8 decoded across chunk boundaries, "\n" or "\r\n" ended, the rest flushed at the end.</summary>
internal sealed class LineSplitter
{
    private readonly Action<string> _onLine;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly StringBuilder _line = new();

    public LineSplitter(Action<string> onLine) => _onLine = onLine;

    public void Add(byte[] bytes)
    {
        var chars = new char[_decoder.GetCharCount(bytes, 0, bytes.Length)];
        int n = _decoder.GetChars(bytes, 0, bytes.Length, chars, 0);
        int start = 0;
        for (int i = 0; i < n; i++)
        {
            if (chars[i] != '\n')
            {
                continue;
            }
            _line.Append(chars, start, i - start);
            Emit();
            start = i + 1;
        }
        _line.Append(chars, start, n - start);
    }

    public void Flush()
    {
        var chars = new char[_decoder.GetCharCount(Array.Empty<byte>(), 0, 0, flush: true)];
        _decoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, flush: true);
        _line.Append(chars);
        if (_line.Length > 0)
        {
            Emit();
        }
    }

    private void Emit()
    {
        if (_line.Length > 0 && _line[^1] == '\r')
        {
            _line.Length--;
        }
        string s = _line.ToString();
        _line.Clear();
        _onLine(s);
    }
}
