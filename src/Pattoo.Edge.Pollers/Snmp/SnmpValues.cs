using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>
/// The last value read for one OID (a scalar, or one row of a column). Numbers are kept as
/// doubles; string-like values as their octets, turned into text only when the octets
/// change, so a steady poll allocates nothing for them.
/// </summary>
internal class ValueSlot
{
    private byte[] _raw = [];
    private int _rawLength;
    private string? _text;

    public bool Present;
    public SnmpValueType Type;
    public double Number;
    /// <summary>The poll cycle that last stored a value here.</summary>
    public int Stamp;

    public ReadOnlySpan<byte> Raw => _raw.AsSpan(0, _rawLength);

    /// <summary>Stores a varbind's value; false (and a problem) for an exception or unreadable value.</summary>
    public bool Store(in Varbind vb, int stamp, out string? problem)
    {
        problem = null;
        Stamp = stamp;
        if (vb.Type.IsException() || vb.Type == SnmpValueType.Null)
        {
            Present = false;
            problem = vb.Type.Name();
            return false;
        }
        if (vb.IsNumber)
        {
            double number = vb.ToDouble();
            if (Type != vb.Type || Number != number) _text = null;
            Number = number;
        }
        else if (!Raw.SequenceEqual(vb.Value) || Type != vb.Type)
        {
            if (_raw.Length < vb.Value.Length) _raw = new byte[Math.Max(16, vb.Value.Length)];
            vb.Value.CopyTo(_raw);
            _rawLength = vb.Value.Length;
            _text = null;
        }
        Type = vb.Type;
        Present = true;
        return true;
    }

    /// <summary>The value as text: numbers invariant, printable strings as such, other octets as hex, addresses dotted.</summary>
    public string Text
    {
        get
        {
            if (_text is not null) return _text;
            _text = Type switch
            {
                SnmpValueType.Integer or SnmpValueType.Counter32 or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks or SnmpValueType.Counter64
                    => Number.ToString("R", CultureInfo.InvariantCulture),
                SnmpValueType.IpAddress => $"{Raw[0]}.{Raw[1]}.{Raw[2]}.{Raw[3]}",
                SnmpValueType.ObjectIdentifier => Oid.Format(Raw),
                _ => OctetsToText(Raw),
            };
            return _text;
        }
    }

    /// <summary>UTF-8 text when the octets are printable (trailing NULs dropped), else colon-separated hex (MAC addresses).</summary>
    public static string OctetsToText(ReadOnlySpan<byte> octets)
    {
        var trimmed = octets;
        while (trimmed.Length > 0 && trimmed[^1] == 0) trimmed = trimmed[..^1];
        if (IsPrintable(trimmed)) return Encoding.UTF8.GetString(trimmed);
        if (octets.IsEmpty) return "";
        var sb = new StringBuilder(octets.Length * 3);
        foreach (byte b in octets)
        {
            if (sb.Length > 0) sb.Append(':');
            sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static bool IsPrintable(ReadOnlySpan<byte> s)
    {
        if (!System.Text.Unicode.Utf8.IsValid(s)) return false;
        foreach (byte b in s)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r')) return false;
            if (b == 0x7F) return false;
        }
        return true;
    }
}

/// <summary>Turns a stored value into what pattoo keeps, by the OID's configured type.</summary>
internal static class SnmpValueConversion
{
    /// <summary>False with a problem when the value cannot be stored as configured.</summary>
    public static bool TryConvert(SnmpOidOptions o, ValueSlot v, out DataType type, out double number, out string? text, out string? problem)
    {
        type = DataType.None;
        number = 0;
        text = null;
        problem = null;
        bool numeric = v.Type is SnmpValueType.Integer or SnmpValueType.Counter32 or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks or SnmpValueType.Counter64;
        bool stringy = v.Type is SnmpValueType.OctetString or SnmpValueType.IpAddress or SnmpValueType.ObjectIdentifier;
        if (!numeric && !stringy)
        {
            problem = $"{v.Type.Name()} values are not read";
            return false;
        }
        switch (o.Type)
        {
            case SnmpValueKind.String:
                type = DataType.String;
                text = v.Text;
                return true;

            case SnmpValueKind.Counter:
                if (numeric)
                {
                    if (v.Number < 0) { problem = $"a counter cannot be negative ({v.Number})"; return false; }
                    type = v.Type == SnmpValueType.Counter64 ? DataType.Counter64 : DataType.Counter32;
                    number = v.Number;
                    return true;
                }
                if (v.Type == SnmpValueType.OctetString && ulong.TryParse(v.Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong c))
                {
                    type = DataType.Counter64;
                    number = c;
                    return true;
                }
                problem = $"\"{v.Text}\" is not a counter";
                return false;

            case SnmpValueKind.Gauge:
                if (numeric)
                {
                    number = v.Number * o.Scale;
                    type = o.Scale == 1 ? DataType.Integer : DataType.Float;
                    return true;
                }
                if (v.Type == SnmpValueType.OctetString && double.TryParse(v.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double g) && double.IsFinite(g))
                {
                    type = DataType.Float;
                    number = g * o.Scale;
                    return true;
                }
                problem = $"\"{v.Text}\" is not a number";
                return false;

            default:
                if (v.Type is SnmpValueType.Counter32 or SnmpValueType.Counter64)
                {
                    if (o.Scale != 1)
                    {
                        problem = $"scale does not apply to a {v.Type.Name()} (rates are computed from raw counters); set type = \"gauge\" to scale it";
                        return false;
                    }
                    type = v.Type == SnmpValueType.Counter64 ? DataType.Counter64 : DataType.Counter32;
                    number = v.Number;
                    return true;
                }
                if (numeric)
                {
                    number = v.Number * o.Scale;
                    type = o.Scale == 1 ? DataType.Integer : DataType.Float;
                    return true;
                }
                type = DataType.String;
                text = v.Text;
                return true;
        }
    }
}
