using System.Security.Cryptography;

namespace PSContainers.Containers;

/// <summary>
/// A read-only, forward-only view of another stream, as the image imports stack them (a file, its decompression, a
/// blob's bounds, its hash, the bytes read so far). Disposes the stream below when it owns it.
/// </summary>
internal abstract class ForwardStream(Stream inner, bool owns) : Stream
{
    protected Stream Inner => inner;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && owns)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Bytes already read from a stream that cannot seek back, put in front of the rest of it.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream rest, bool leaveOpen) : ForwardStream(rest, owns: !leaveOpen)
{
    private int _at;

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_at < prefix.Length)
        {
            int n = Math.Min(count, prefix.Length - _at);
            Array.Copy(prefix, _at, buffer, offset, n);
            _at += n;
            return n;
        }
        return Inner.Read(buffer, offset, count);
    }
}

/// <summary>The next <c>size</c> bytes of a stream (which it owns); the stream ending before them is damage.</summary>
internal sealed class BoundedStream(Stream inner, long size) : ForwardStream(inner, owns: true)
{
    private readonly long _length = size;
    private long _left = size;

    public override long Length => _length;
    public override long Position { get => _length - _left; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_left <= 0)
        {
            return 0;
        }
        int n = Inner.Read(buffer, offset, (int)Math.Min(count, _left));
        if (n == 0)
        {
            throw new EndOfStreamException("the archive ends inside a blob");
        }
        _left -= n;
        return n;
    }
}

/// <summary>Counts the bytes read through it (for progress); owns the stream below.</summary>
internal sealed class CountingStream(Stream inner) : ForwardStream(inner, owns: true)
{
    public long Count { get; private set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Inner.Read(buffer, offset, count);
        Count += n;
        return n;
    }
}

/// <summary>Hashes (sha256) what is read through it, and tells <c>onRead</c> how much; leaves the stream below open.</summary>
internal sealed class HashingStream(Stream inner, Action<int>? onRead) : ForwardStream(inner, owns: false)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string Hex() => Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Inner.Read(buffer, offset, count);
        _hash.AppendData(buffer, offset, n);
        onRead?.Invoke(n);
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
