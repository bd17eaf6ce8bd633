using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Storage.Encoding;

/// <summary>
/// A compressed chunk is malformed or truncated. The message says what was wrong and where;
/// <see cref="BitOffset"/> is the offset from the start of the chunk (byte offset = bit offset / 8),
/// or -1 when no position applies.
/// </summary>
public sealed class ChunkFormatException : Exception
{
    public ChunkFormatException()
        : this("The chunk is malformed.", -1)
    {
    }

    public ChunkFormatException(string message)
        : this(message, -1)
    {
    }

    public ChunkFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        BitOffset = -1;
    }

    public ChunkFormatException(string message, long bitOffset)
        : base(bitOffset >= 0 ? $"{message} (at byte {bitOffset >> 3}, bit offset {bitOffset})" : message)
    {
        BitOffset = bitOffset;
    }

    /// <summary>Bit offset from the start of the chunk where the problem was found, or -1.</summary>
    public long BitOffset { get; }

    /// <summary>Byte offset from the start of the chunk where the problem was found, or -1.</summary>
    public long ByteOffset => BitOffset < 0 ? -1 : BitOffset >> 3;

    /// <summary>Throw helper kept out of line so that hot decode loops stay small.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Throw(string message, long bitOffset) => throw new ChunkFormatException(message, bitOffset);
}
