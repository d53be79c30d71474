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
}
