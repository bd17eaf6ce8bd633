using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Protocols.Snmp;

/// <summary>
/// OBJECT IDENTIFIER values kept as their BER content octets (X.690 sec 8.19): each arc in
/// base 128, high bit set on all but its last octet, the first two arcs folded into one.
/// Because an arc's encoding is self-delimiting, an OID lies under another exactly when
/// its content starts with the other's content, so subtree tests and index extraction work
/// on bytes without decoding.
/// </summary>
public static class Oid
{
    /// <summary>The most arcs an OID may have (RFC 2578 sec 3.5).</summary>
    public const int MaxArcs = 128;

    /// <summary>Reads "1.3.6.1.2.1.1.3.0" (a leading dot is allowed) into content octets.</summary>
    public static bool TryParse(string text, out byte[] content, out string? error)
    {
        content = [];
        error = null;
        var s = text.AsSpan().Trim();
        if (s.StartsWith(".")) s = s[1..];
        if (s.IsEmpty) { error = "an OID is empty"; return false; }
        Span<uint> arcs = stackalloc uint[MaxArcs];
        int n = 0;
        foreach (var range in s.Split('.'))
        {
            var part = s[range];
            if (part.IsEmpty || part.Length > 10 || !uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out uint arc))
            {
                error = $"\"{part.ToString()}\" is not a number from 0 to 4294967295";
                return false;
            }
            if (n == MaxArcs) { error = $"an OID has at most {MaxArcs} arcs"; return false; }
            arcs[n++] = arc;
        }
        if (n < 2) { error = "an OID has at least two arcs"; return false; }
        if (arcs[0] > 2) { error = "the first arc of an OID is 0, 1 or 2"; return false; }
        if (arcs[0] < 2 && arcs[1] > 39) { error = "the second arc is at most 39 when the first is 0 or 1"; return false; }
        if (arcs[0] == 2 && arcs[1] > uint.MaxValue - 80) { error = "the second arc is too large"; return false; }
        Span<byte> buf = stackalloc byte[MaxArcs * 5];
        int len = WriteArc(buf, arcs[0] * 40 + arcs[1]);
        for (int i = 2; i < n; i++) len += WriteArc(buf[len..], arcs[i]);
        content = buf[..len].ToArray();
        return true;
    }

    /// <summary>Content octets of a dotted OID; throws <see cref="ArgumentException"/> for a bad one.</summary>
    public static byte[] Parse(string text)
        => TryParse(text, out var content, out var error) ? content : throw new ArgumentException($"bad OID \"{text}\": {error}", nameof(text));

    /// <summary>Appends the encoding of one arc; returns the octets written (1-5).</summary>
    public static int WriteArc(Span<byte> destination, uint arc)
    {
        int len = 1;
        for (uint v = arc >> 7; v != 0; v >>= 7) len++;
        for (int i = len - 1; i >= 0; i--)
        {
            destination[i] = (byte)((arc & 0x7F) | (i == len - 1 ? 0u : 0x80u));
            arc >>= 7;
        }
        return len;
    }

    /// <summary>Checks content octets: non-empty, every arc ends, fits 32 bits and is minimally encoded.</summary>
    public static bool IsValid(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty || content[^1] >= 0x80) return false;
        int arcLen = 0;
        for (int i = 0; i < content.Length; i++)
        {
            if (arcLen == 0 && content[i] == 0x80) return false; // leading 0x80: not minimal (X.690 8.19.2)
            arcLen++;
            if (arcLen > 5 || (arcLen == 5 && content[i - 4] > 0x8F)) return false; // more than 32 bits
            if (content[i] < 0x80) arcLen = 0;
        }
        return true;
    }

    /// <summary>Dotted text of content octets ("1.3.6.1.2.1.1.3.0").</summary>
    /// <exception cref="SnmpFormatException">the octets are not a valid OID.</exception>
    public static string Format(ReadOnlySpan<byte> content)
    {
        if (!IsValid(content)) SnmpFormatException.Throw("bad OBJECT IDENTIFIER encoding");
        var sb = new StringBuilder(content.Length * 3);
        bool first = true;
        uint arc = 0;
        foreach (byte b in content)
        {
            arc = (arc << 7) | (uint)(b & 0x7F);
            if (b >= 0x80) continue;
            if (first)
            {
                uint a0 = arc < 40 ? 0u : arc < 80 ? 1u : 2u;
                sb.Append(a0).Append('.').Append(arc - a0 * 40);
                first = false;
            }
            else sb.Append('.').Append(arc);
            arc = 0;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Dotted text of arcs that follow a prefix (a table row's index): no first-two-arcs folding.
    /// Empty content gives "".
    /// </summary>
    /// <exception cref="SnmpFormatException">the octets do not end on an arc or an arc exceeds 32 bits.</exception>
    public static string FormatSuffix(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) return "";
        if (!IsValid(content)) SnmpFormatException.Throw("bad OBJECT IDENTIFIER encoding");
        var sb = new StringBuilder(content.Length * 3);
        uint arc = 0;
        foreach (byte b in content)
        {
            arc = (arc << 7) | (uint)(b & 0x7F);
            if (b >= 0x80) continue;
            if (sb.Length > 0) sb.Append('.');
            sb.Append(arc);
            arc = 0;
        }
        return sb.ToString();
    }

    /// <summary>True when <paramref name="oid"/> lies strictly below <paramref name="prefix"/>.</summary>
    public static bool IsUnder(ReadOnlySpan<byte> oid, ReadOnlySpan<byte> prefix)
        => oid.Length > prefix.Length && oid.StartsWith(prefix);

    /// <summary>
    /// Compares two OIDs in lexicographic order of their arcs (the order GETNEXT walks).
    /// Works on content octets: within one arc a longer encoding is a larger number.
    /// </summary>
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int si = i, sj = j;
            while (i < a.Length && a[i] >= 0x80) i++;
            while (j < b.Length && b[j] >= 0x80) j++;
            i++; j++;
            int la = i - si, lb = j - sj;
            if (la != lb) return la < lb ? -1 : 1;
            int c = a.Slice(si, Math.Min(la, a.Length - si)).SequenceCompareTo(b.Slice(sj, Math.Min(lb, b.Length - sj)));
            if (c != 0) return c;
        }
        return (a.Length - i).CompareTo(b.Length - j) switch { < 0 => -1, > 0 => 1, _ => 0 };
    }
}
