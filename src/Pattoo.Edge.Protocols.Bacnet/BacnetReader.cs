using System.Buffers.Binary;
using System.Text;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>What a tag octet says (clause 20.2.1): a value of some length, or the start or end of a constructed value.</summary>
public enum TagKind : byte { Value, Opening, Closing }

/// <summary>A decoded tag header (clause 20.2.1.1-20.2.1.3).</summary>
public readonly record struct TagHeader(byte Number, bool IsContext, TagKind Kind, uint Length, int HeaderLength)
{
    /// <summary>An application Boolean carries its value in the length field and has no content octets.</summary>
    public bool IsApplicationBoolean => !IsContext && Number == (byte)ApplicationTag.Boolean && Kind == TagKind.Value;
    public int ContentLength => IsApplicationBoolean || Kind != TagKind.Value ? 0 : (int)Length;
}

/// <summary>
/// A forward-only cursor over tagged BACnet data (ASHRAE 135 clause 20.2). Every read checks
/// the bounds and the tag it expects, and throws <see cref="BacnetFormatException"/> otherwise.
/// </summary>
public ref struct BacnetReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public BacnetReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;
    public readonly bool End => _pos >= _data.Length;
    public readonly int Remaining => _data.Length - _pos;

    /// <summary>The next tag header without consuming it.</summary>
    public readonly TagHeader PeekTag() => DecodeTag(_data[_pos..]);

    /// <summary>True when the next tag is context tag <paramref name="number"/> of the given kind.</summary>
    public readonly bool IsNextContext(byte number, TagKind kind = TagKind.Value)
    {
        if (End) return false;
        var t = PeekTag();
        return t.IsContext && t.Number == number && t.Kind == kind;
    }

    public TagHeader ReadTag()
    {
        var t = PeekTag();
        _pos += t.HeaderLength;
        if (t.ContentLength > Remaining) BacnetFormatException.Truncated($"tag {t.Number} content", t.ContentLength, Remaining);
        return t;
    }

    public ReadOnlySpan<byte> ReadContent(TagHeader tag)
    {
        var content = _data.Slice(_pos, tag.ContentLength);
        _pos += tag.ContentLength;
        return content;
    }

    public void ExpectOpening(byte number)
    {
        var t = ReadTag();
        if (!t.IsContext || t.Kind != TagKind.Opening || t.Number != number) BacnetFormatException.Throw($"expected opening tag [{number}], got {Describe(t)}");
    }

    public void ExpectClosing(byte number)
    {
        if (End) BacnetFormatException.Throw($"expected closing tag [{number}], got the end of the data");
        var t = ReadTag();
        if (!t.IsContext || t.Kind != TagKind.Closing || t.Number != number) BacnetFormatException.Throw($"expected closing tag [{number}], got {Describe(t)}");
    }

    /// <summary>Content of a context-tagged primitive [<paramref name="number"/>].</summary>
    public ReadOnlySpan<byte> ReadContext(byte number)
    {
        if (End) BacnetFormatException.Throw($"expected context tag [{number}], got the end of the data");
        var t = ReadTag();
        if (!t.IsContext || t.Kind != TagKind.Value || t.Number != number) BacnetFormatException.Throw($"expected context tag [{number}], got {Describe(t)}");
        return ReadContent(t);
    }

    public uint ReadContextUnsigned(byte number) => DecodeUnsigned32(ReadContext(number), "unsigned");

    public uint ReadContextEnumerated(byte number) => DecodeUnsigned32(ReadContext(number), "enumerated");

    public BacnetObjectId ReadContextObjectId(byte number) => DecodeObjectId(ReadContext(number));

    /// <summary>The next application-tagged primitive value.</summary>
    public BacnetValue ReadApplicationValue()
    {
        if (End) BacnetFormatException.Throw("expected an application value, got the end of the data");
        var t = ReadTag();
        if (t.IsContext || t.Kind != TagKind.Value) BacnetFormatException.Throw($"expected an application value, got {Describe(t)}");
        return DecodeApplication(t, ReadContent(t));
    }

    public BacnetValue ReadApplication(ApplicationTag expected)
    {
        var start = _pos;
        var v = ReadApplicationValue();
        if (v.Tag != expected) BacnetFormatException.Throw($"expected an application {expected} at offset {start}, got {v.Tag}");
        return v;
    }

    /// <summary>Skips one element: a primitive, or a constructed value with everything up to its closing tag.</summary>
    public void Skip()
    {
        var t = ReadTag();
        if (t.Kind == TagKind.Closing) BacnetFormatException.Throw($"unexpected closing tag [{t.Number}]");
        if (t.Kind == TagKind.Value) { _pos += t.ContentLength; return; }
        int depth = 1;
        while (depth > 0)
        {
            if (End) BacnetFormatException.Throw($"opening tag [{t.Number}] is never closed");
            var inner = ReadTag();
            if (inner.Kind == TagKind.Opening) depth++;
            else if (inner.Kind == TagKind.Closing) depth--;
            else _pos += inner.ContentLength;
        }
    }

    private static string Describe(in TagHeader t) => t.Kind switch
    {
        TagKind.Opening => $"opening tag [{t.Number}]",
        TagKind.Closing => $"closing tag [{t.Number}]",
        _ => t.IsContext ? $"context tag [{t.Number}]" : $"application tag {t.Number}",
    };

    /// <summary>Decodes a tag header at the start of <paramref name="data"/> (clause 20.2.1).</summary>
    public static TagHeader DecodeTag(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) BacnetFormatException.Throw("expected a tag, got the end of the data");
        byte first = data[0];
        int pos = 1;
        int number = first >> 4;
        bool context = (first & 0x08) != 0;
        int lvt = first & 0x07;
        if (number == 15)
        {
            if (data.Length < 2) BacnetFormatException.Truncated("extended tag number", 2, data.Length);
            number = data[1];
            if (number == 255) BacnetFormatException.Throw("tag number 255 is reserved");
            pos = 2;
        }
        if (lvt == 6 || lvt == 7)
        {
            if (!context) BacnetFormatException.Throw($"application tag {number} cannot open or close a constructed value");
            return new TagHeader((byte)number, true, lvt == 6 ? TagKind.Opening : TagKind.Closing, 0, pos);
        }
        if (!context && number > 12) BacnetFormatException.Throw($"application tag {number} is reserved");
        uint length = (uint)lvt;
        if (lvt == 5)
        {
            if (data.Length < pos + 1) BacnetFormatException.Truncated("extended length", pos + 1, data.Length);
            byte ext = data[pos++];
            if (ext < 254) length = ext;
            else if (ext == 254)
            {
                if (data.Length < pos + 2) BacnetFormatException.Truncated("16-bit length", pos + 2, data.Length);
                length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
                pos += 2;
            }
            else
            {
                if (data.Length < pos + 4) BacnetFormatException.Truncated("32-bit length", pos + 4, data.Length);
                length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
                pos += 4;
            }
        }
        if (!context && number == (int)ApplicationTag.Boolean && length > 1)
            BacnetFormatException.Throw($"application Boolean with value {length}");
        if (length > int.MaxValue) BacnetFormatException.Throw($"length {length} is too large");
        return new TagHeader((byte)number, context, TagKind.Value, length, pos);
    }

    /// <summary>Decodes the content of an application-tagged primitive (clauses 20.2.2-20.2.14).</summary>
    public static BacnetValue DecodeApplication(in TagHeader tag, ReadOnlySpan<byte> content)
    {
        switch ((ApplicationTag)tag.Number)
        {
            case ApplicationTag.Null:
                if (tag.Length != 0) BacnetFormatException.Throw($"application Null with length {tag.Length}");
                return BacnetValue.Null;
            case ApplicationTag.Boolean:
                return BacnetValue.FromBoolean(tag.Length == 1);
            case ApplicationTag.Unsigned:
                return BacnetValue.FromUnsigned(DecodeUnsigned(content, "Unsigned"));
            case ApplicationTag.Signed:
                return BacnetValue.FromSigned(DecodeSigned(content));
            case ApplicationTag.Real:
                if (content.Length != 4) BacnetFormatException.Throw($"REAL with length {content.Length}, expected 4");
                return BacnetValue.FromReal(BinaryPrimitives.ReadSingleBigEndian(content));
            case ApplicationTag.Double:
                if (content.Length != 8) BacnetFormatException.Throw($"Double with length {content.Length}, expected 8");
                return BacnetValue.FromDouble(BinaryPrimitives.ReadDoubleBigEndian(content));
            case ApplicationTag.OctetString:
                return BacnetValue.FromOctetString(content.ToArray());
            case ApplicationTag.CharacterString:
                return BacnetValue.FromCharacterString(DecodeCharacterString(content));
            case ApplicationTag.BitString:
                return DecodeBitString(content);
            case ApplicationTag.Enumerated:
                return BacnetValue.FromEnumerated(DecodeUnsigned(content, "Enumerated"));
            case ApplicationTag.Date:
                if (content.Length != 4) BacnetFormatException.Throw($"Date with length {content.Length}, expected 4");
                return BacnetValue.FromDate(content[0], content[1], content[2], content[3]);
            case ApplicationTag.Time:
                if (content.Length != 4) BacnetFormatException.Throw($"Time with length {content.Length}, expected 4");
                return BacnetValue.FromTime(content[0], content[1], content[2], content[3]);
            case ApplicationTag.ObjectIdentifier:
                return BacnetValue.FromObjectId(DecodeObjectId(content));
            default:
                return BacnetFormatException.Throw<BacnetValue>($"application tag {tag.Number} is reserved");
        }
    }

    /// <summary>Unsigned and Enumerated: 1-8 octets, most significant first (clause 20.2.4).</summary>
    public static ulong DecodeUnsigned(ReadOnlySpan<byte> content, string what)
    {
        if (content.Length is 0 or > 8) BacnetFormatException.Throw($"{what} with length {content.Length}, expected 1 to 8");
        ulong v = 0;
        foreach (byte b in content) v = (v << 8) | b;
        return v;
    }

    internal static uint DecodeUnsigned32(ReadOnlySpan<byte> content, string what)
    {
        ulong v = DecodeUnsigned(content, what);
        if (v > uint.MaxValue) BacnetFormatException.Throw($"{what} {v} does not fit in 32 bits");
        return (uint)v;
    }

    /// <summary>Signed: 1-8 octets, two's complement (clause 20.2.5).</summary>
    public static long DecodeSigned(ReadOnlySpan<byte> content)
    {
        if (content.Length is 0 or > 8) BacnetFormatException.Throw($"Signed with length {content.Length}, expected 1 to 8");
        long v = (sbyte)content[0];
        for (int i = 1; i < content.Length; i++) v = (v << 8) | content[i];
        return v;
    }

    public static BacnetObjectId DecodeObjectId(ReadOnlySpan<byte> content)
    {
        if (content.Length != 4) BacnetFormatException.Throw($"ObjectIdentifier with length {content.Length}, expected 4");
        return BacnetObjectId.FromEncoded(BinaryPrimitives.ReadUInt32BigEndian(content));
    }

    private static readonly Encoding Utf32BigEndian = new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: false);

    /// <summary>
    /// CharacterString (clause 20.2.9): a character-set octet, then the characters. UTF-8 (0),
    /// UCS-4 (3), UCS-2 (4) and ISO 8859-1 (5) are decoded; the double-byte sets (1, 2) are
    /// returned as "charset N: hex" rather than guessed.
    /// </summary>
    public static string DecodeCharacterString(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) BacnetFormatException.Throw("CharacterString without its character-set octet");
        var text = content[1..];
        return content[0] switch
        {
            0 => Encoding.UTF8.GetString(text),
            3 => text.Length % 4 == 0 ? Utf32BigEndian.GetString(text) : BacnetFormatException.Throw<string>($"UCS-4 string of {text.Length} octets"),
            4 => text.Length % 2 == 0 ? Encoding.BigEndianUnicode.GetString(text) : BacnetFormatException.Throw<string>($"UCS-2 string of {text.Length} octets"),
            5 => Encoding.Latin1.GetString(text),
            1 or 2 => $"charset {content[0]}: {Convert.ToHexStringLower(text)}",
            _ => BacnetFormatException.Throw<string>($"CharacterString character set {content[0]} is not defined"),
        };
    }

    /// <summary>BitString (clause 20.2.10): unused-bit count, then bits, bit 0 = the first octet's most significant bit.</summary>
    public static BacnetValue DecodeBitString(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) BacnetFormatException.Throw("BitString without its unused-bits octet");
        int unused = content[0];
        if (unused > 7 || (content.Length == 1 && unused != 0)) BacnetFormatException.Throw($"BitString with {unused} unused bits in {content.Length - 1} octets");
        int bits = (content.Length - 1) * 8 - unused;
        ulong mask = 0;
        for (int i = 0; i < bits && i < 64; i++)
        {
            if ((content[1 + (i >> 3)] & (0x80 >> (i & 7))) != 0) mask |= 1UL << i;
        }
        return BacnetValue.FromBitString(mask, bits);
    }
}
