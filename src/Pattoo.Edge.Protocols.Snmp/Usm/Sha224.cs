using System.Buffers.Binary;
using System.Numerics;

namespace Pattoo.Edge.Protocols.Snmp.Usm;

/// <summary>
/// SHA-224 (FIPS 180-4 sec 6.3), which .NET does not expose: SHA-256's compression with its
/// own initial values, output cut to 28 octets. Needed for usmHMAC128SHA224AuthProtocol
/// (RFC 7860). Incremental so that password-to-key can stream its megabyte.
/// </summary>
internal sealed class Sha224
{
    public const int HashSize = 28;
    public const int BlockSize = 64;

    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _h = new uint[8];
    private readonly byte[] _block = new byte[BlockSize];
    private readonly uint[] _w = new uint[64];
    private int _blockLength;
    private ulong _totalLength;

    public Sha224() => Reset();

    public void Reset()
    {
        _h[0] = 0xc1059ed8; _h[1] = 0x367cd507; _h[2] = 0x3070dd17; _h[3] = 0xf70e5939;
        _h[4] = 0xffc00b31; _h[5] = 0x68581511; _h[6] = 0x64f98fa7; _h[7] = 0xbefa4fa4;
        _blockLength = 0;
        _totalLength = 0;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _totalLength += (ulong)data.Length;
        if (_blockLength > 0)
        {
            int take = Math.Min(BlockSize - _blockLength, data.Length);
            data[..take].CopyTo(_block.AsSpan(_blockLength));
            _blockLength += take;
            data = data[take..];
            if (_blockLength < BlockSize) return;
            Compress(_block);
            _blockLength = 0;
        }
        while (data.Length >= BlockSize)
        {
            Compress(data[..BlockSize]);
            data = data[BlockSize..];
        }
        data.CopyTo(_block);
        _blockLength = data.Length;
    }

    /// <summary>Writes the 28-octet digest and resets for the next message.</summary>
    public void Finish(Span<byte> destination)
    {
        ulong bits = _totalLength * 8;
        Span<byte> pad = stackalloc byte[BlockSize * 2];
        pad.Clear();
        pad[0] = 0x80;
        int padLength = (_blockLength < 56 ? 56 : 120) - _blockLength;
        BinaryPrimitives.WriteUInt64BigEndian(pad[padLength..], bits);
        Append(pad[..(padLength + 8)]);
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteUInt32BigEndian(destination[(i * 4)..], _h[i]);
        Reset();
    }

    public static void HashData(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var h = new Sha224();
        h.Append(data);
        h.Finish(destination);
    }

    /// <summary>HMAC-SHA-224 (RFC 2104), full 28 octets.</summary>
    public static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        Span<byte> k = stackalloc byte[BlockSize];
        k.Clear();
        if (key.Length > BlockSize) HashData(key, k);
        else key.CopyTo(k);
        Span<byte> pad = stackalloc byte[BlockSize];
        var h = new Sha224();
        for (int i = 0; i < BlockSize; i++) pad[i] = (byte)(k[i] ^ 0x36);
        h.Append(pad);
        h.Append(data);
        Span<byte> inner = stackalloc byte[HashSize];
        h.Finish(inner);
        for (int i = 0; i < BlockSize; i++) pad[i] = (byte)(k[i] ^ 0x5c);
        h.Append(pad);
        h.Append(inner);
        h.Finish(destination);
    }

    private void Compress(ReadOnlySpan<byte> block)
    {
        var w = _w;
        for (int t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        for (int t = 16; t < 64; t++)
        {
            uint s0 = BitOperations.RotateRight(w[t - 15], 7) ^ BitOperations.RotateRight(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint s1 = BitOperations.RotateRight(w[t - 2], 17) ^ BitOperations.RotateRight(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint a = _h[0], b = _h[1], c = _h[2], d = _h[3], e = _h[4], f = _h[5], g = _h[6], hh = _h[7];
        for (int t = 0; t < 64; t++)
        {
            uint S1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
            uint ch = (e & f) ^ (~e & g);
            uint t1 = hh + S1 + ch + K[t] + w[t];
            uint S0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
            uint maj = (a & b) ^ (a & c) ^ (b & c);
            uint t2 = S0 + maj;
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        _h[0] += a; _h[1] += b; _h[2] += c; _h[3] += d; _h[4] += e; _h[5] += f; _h[6] += g; _h[7] += hh;
    }
}
