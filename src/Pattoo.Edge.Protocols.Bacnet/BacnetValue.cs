using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>Application tag numbers (clause 20.2.1.4).</summary>
public enum ApplicationTag : byte
{
    Null = 0,
    Boolean = 1,
    Unsigned = 2,
    Signed = 3,
    Real = 4,
    Double = 5,
    OctetString = 6,
    CharacterString = 7,
    BitString = 8,
    Enumerated = 9,
    Date = 10,
    Time = 11,
    ObjectIdentifier = 12,
}

/// <summary>
/// One decoded primitive application value. Numbers, booleans, enumerations, dates, times and
/// object identifiers are held inline; strings and octet strings as managed objects.
/// </summary>
public readonly struct BacnetValue
{
    private readonly ulong _bits;
    private readonly object? _ref;

    private BacnetValue(ApplicationTag tag, ulong bits, object? reference = null, int bitLength = 0)
    {
        Tag = tag;
        _bits = bits;
        _ref = reference;
        BitLength = bitLength;
    }

    public ApplicationTag Tag { get; }

    /// <summary>Bits of a BitString (0 otherwise).</summary>
    public int BitLength { get; }

    public static BacnetValue Null => new(ApplicationTag.Null, 0);
    public static BacnetValue FromBoolean(bool v) => new(ApplicationTag.Boolean, v ? 1UL : 0UL);
    public static BacnetValue FromUnsigned(ulong v) => new(ApplicationTag.Unsigned, v);
    public static BacnetValue FromSigned(long v) => new(ApplicationTag.Signed, unchecked((ulong)v));
    public static BacnetValue FromReal(float v) => new(ApplicationTag.Real, BitConverter.SingleToUInt32Bits(v));
    public static BacnetValue FromDouble(double v) => new(ApplicationTag.Double, BitConverter.DoubleToUInt64Bits(v));
    public static BacnetValue FromEnumerated(ulong v) => new(ApplicationTag.Enumerated, v);
    public static BacnetValue FromOctetString(byte[] v) => new(ApplicationTag.OctetString, 0, v);
    public static BacnetValue FromCharacterString(string v) => new(ApplicationTag.CharacterString, 0, v);
    public static BacnetValue FromObjectId(BacnetObjectId v) => new(ApplicationTag.ObjectIdentifier, v.Encoded);

    /// <summary>A BitString of <paramref name="length"/> bits; bit i of the standard's numbering is bit i of <paramref name="mask"/> (length at most 64).</summary>
    public static BacnetValue FromBitString(ulong mask, int length) => new(ApplicationTag.BitString, mask, null, length);

    /// <summary>year (1900-2154, or 255 + 1900 for "any"), month 1-14 (13 odd, 14 even, 255 any), day 1-34, weekday 1-7.</summary>
    public static BacnetValue FromDate(byte yearMinus1900, byte month, byte day, byte weekday)
        => new(ApplicationTag.Date, (ulong)yearMinus1900 << 24 | (ulong)month << 16 | (ulong)day << 8 | weekday);

    public static BacnetValue FromTime(byte hour, byte minute, byte second, byte hundredths)
        => new(ApplicationTag.Time, (ulong)hour << 24 | (ulong)minute << 16 | (ulong)second << 8 | hundredths);

    public bool Boolean => _bits != 0;
    public ulong Unsigned => _bits;
    public long Signed => unchecked((long)_bits);
    public float Real => BitConverter.UInt32BitsToSingle((uint)_bits);
    public double Double => BitConverter.UInt64BitsToDouble(_bits);
    public ulong Enumerated => _bits;
    /// <summary>BitString bits, bit i = the standard's bit i (first 64 bits).</summary>
    public ulong BitMask => _bits;
    public BacnetObjectId ObjectId => BacnetObjectId.FromEncoded((uint)_bits);
    public string Text => _ref as string ?? "";
    public ReadOnlySpan<byte> Octets => _ref as byte[] ?? [];

    /// <summary>True for values that are numbers (or read as one: booleans, enumerations, bit strings).</summary>
    public bool IsNumeric => Tag is ApplicationTag.Boolean or ApplicationTag.Unsigned or ApplicationTag.Signed or ApplicationTag.Real
        or ApplicationTag.Double or ApplicationTag.Enumerated or ApplicationTag.BitString;

    /// <summary>The value as a number (booleans 0/1, bit strings as their bit mask); NaN when it is not numeric.</summary>
    public double ToDouble() => Tag switch
    {
        ApplicationTag.Boolean => _bits,
        ApplicationTag.Unsigned or ApplicationTag.Enumerated or ApplicationTag.BitString => _bits,
        ApplicationTag.Signed => Signed,
        ApplicationTag.Real => Real,
        ApplicationTag.Double => Double,
        _ => double.NaN,
    };

    /// <summary>Text form: numbers invariant, dates "2024-05-01" ("*" for any), times "13:45:30.25", object ids "analog-input:0", bit strings "0101" (bit 0 first), octets in hex.</summary>
    public override string ToString() => Tag switch
    {
        ApplicationTag.Null => "null",
        ApplicationTag.Boolean => Boolean ? "true" : "false",
        ApplicationTag.Unsigned or ApplicationTag.Enumerated => _bits.ToString(CultureInfo.InvariantCulture),
        ApplicationTag.Signed => Signed.ToString(CultureInfo.InvariantCulture),
        ApplicationTag.Real => Real.ToString("R", CultureInfo.InvariantCulture),
        ApplicationTag.Double => Double.ToString("R", CultureInfo.InvariantCulture),
        ApplicationTag.OctetString => Convert.ToHexStringLower(Octets),
        ApplicationTag.CharacterString => Text,
        ApplicationTag.BitString => BitsText(),
        ApplicationTag.Date => DateText(),
        ApplicationTag.Time => TimeText(),
        ApplicationTag.ObjectIdentifier => ObjectId.ToString(),
        _ => "",
    };

    private string BitsText()
    {
        var sb = new StringBuilder(BitLength);
        for (int i = 0; i < BitLength && i < 64; i++) sb.Append(((_bits >> i) & 1) != 0 ? '1' : '0');
        return sb.ToString();
    }

    private string DateText()
    {
        int year = (int)(_bits >> 24) & 0xFF, month = (int)(_bits >> 16) & 0xFF, day = (int)(_bits >> 8) & 0xFF;
        return string.Concat(year == 255 ? "*" : (1900 + year).ToString(CultureInfo.InvariantCulture), "-", Two(month), "-", Two(day));
    }

    private string TimeText()
    {
        int h = (int)(_bits >> 24) & 0xFF, m = (int)(_bits >> 16) & 0xFF, s = (int)(_bits >> 8) & 0xFF, hs = (int)_bits & 0xFF;
        return string.Concat(Two(h), ":", Two(m), ":", Two(s), ".", Two(hs));
    }

    private static string Two(int v) => v == 255 ? "*" : v.ToString("00", CultureInfo.InvariantCulture);
}
