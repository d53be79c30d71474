using System.Text;

namespace PSContainers.Containers;

/// <summary>How an exec's output arrives: psc-init's record stream, and each stream's bytes cut into lines.</summary>
public sealed partial class PreparedExec
{
    /// <summary>psc-init's record stream: ASCII header lines, and raw payloads of a given length.</summary>
    private sealed class RecordReader
    {
        private readonly Stream _stream;
        private readonly byte[] _buf = new byte[65536];
        private int _pos, _len;

        public RecordReader(Stream stream) => _stream = stream;

        private bool Fill()
        {
            _pos = 0;
            _len = _stream.Read(_buf, 0, _buf.Length);
            return _len > 0;
        }

        /// <summary>One header line without its newline; null at the end of the stream.</summary>
        public string? ReadLine()
        {
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos == _len && !Fill())
                {
                    return sb.Length > 0 ? sb.ToString() : null;
                }
                int nl = Array.IndexOf(_buf, (byte)'\n', _pos, _len - _pos);
                int end = nl < 0 ? _len : nl;
                sb.Append(Encoding.UTF8.GetString(_buf, _pos, end - _pos));
                _pos = nl < 0 ? _len : nl + 1;
                if (nl >= 0)
                {
                    return sb.ToString();
                }
                if (sb.Length > 4096)
                {
                    return sb.ToString(); // not a record header: reported as a protocol error
                }
            }
        }

        public byte[] ReadBytes(int n)
        {
            var result = new byte[n];
            int got = 0;
            while (got < n)
            {
                if (_pos == _len && !Fill())
                {
                    throw new EndOfStreamException("psc-init's output ended inside a record.");
                }
                int take = Math.Min(n - got, _len - _pos);
                Buffer.BlockCopy(_buf, _pos, result, got, take);
                _pos += take;
                got += take;
            }
            return result;
        }
    }

    /// <summary>Bytes of one stream to lines: UTF-8 decoded across chunk boundaries, "\n" or "\r\n" ended, the rest flushed at the end.</summary>
    private sealed class LineSplitter
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
}
