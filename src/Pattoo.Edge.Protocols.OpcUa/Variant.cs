using System.Globalization;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>The built-in types and their ids (Part 6, sec 5.1.2, Table 1).</summary>
public enum BuiltInType : byte
{
    Null = 0,
    Boolean = 1,
    SByte = 2,
    Byte = 3,
    Int16 = 4,
    UInt16 = 5,
    Int32 = 6,
    UInt32 = 7,
    Int64 = 8,
    UInt64 = 9,
    Float = 10,
    Double = 11,
    String = 12,
    DateTime = 13,
    Guid = 14,
    ByteString = 15,
    XmlElement = 16,
    NodeId = 17,
    ExpandedNodeId = 18,
    StatusCode = 19,
    QualifiedName = 20,
    LocalizedText = 21,
    ExtensionObject = 22,
    DataValue = 23,
    Variant = 24,
    DiagnosticInfo = 25,
}

/// <summary>
/// A Variant (Part 6, sec 5.2.2.16): a built-in type id and a scalar or an array of that type.
/// Numbers, booleans and DateTimes are held unboxed; arrays of numbers are typed .NET arrays
/// (int[], double[], ...), other arrays hold Variants. Encoding byte: bits 0-5 the type id,
/// bit 6 array dimensions follow, bit 7 an array.
/// </summary>
public readonly struct Variant
{
    private readonly long _bits;
    private readonly object? _ref;

    private Variant(BuiltInType type, long bits, object? reference, bool isArray, int[]? dimensions)
    {
        Type = type;
        _bits = bits;
        _ref = reference;
        IsArray = isArray;
        Dimensions = dimensions;
    }

    public static readonly Variant Null;

    public BuiltInType Type { get; }
    public bool IsArray { get; }

    /// <summary>Array dimensions for a multi-dimensional array, else null (the array is flat, row-major).</summary>
    public int[]? Dimensions { get; }

    public bool IsNull => Type == BuiltInType.Null;

    public static Variant From(bool v) => new(BuiltInType.Boolean, v ? 1 : 0, null, false, null);
    public static Variant From(sbyte v) => new(BuiltInType.SByte, v, null, false, null);
    public static Variant From(byte v) => new(BuiltInType.Byte, v, null, false, null);
    public static Variant From(short v) => new(BuiltInType.Int16, v, null, false, null);
    public static Variant From(ushort v) => new(BuiltInType.UInt16, v, null, false, null);
    public static Variant From(int v) => new(BuiltInType.Int32, v, null, false, null);
    public static Variant From(uint v) => new(BuiltInType.UInt32, v, null, false, null);
    public static Variant From(long v) => new(BuiltInType.Int64, v, null, false, null);
    public static Variant From(ulong v) => new(BuiltInType.UInt64, unchecked((long)v), null, false, null);
    public static Variant From(float v) => new(BuiltInType.Float, BitConverter.SingleToInt32Bits(v), null, false, null);
    public static Variant From(double v) => new(BuiltInType.Double, BitConverter.DoubleToInt64Bits(v), null, false, null);
    public static Variant From(string? v) => new(BuiltInType.String, 0, v, false, null);
    public static Variant From(DateTime v) => new(BuiltInType.DateTime, UaDateTime.ToTicks(v), null, false, null);
    public static Variant From(StatusCode v) => new(BuiltInType.StatusCode, v.Code, null, false, null);
    public static Variant From(Guid v) => new(BuiltInType.Guid, 0, v, false, null);
    public static Variant FromByteString(byte[]? v) => new(BuiltInType.ByteString, 0, v, false, null);
    public static Variant From(NodeId v) => new(BuiltInType.NodeId, 0, v, false, null);
    public static Variant From(ExpandedNodeId v) => new(BuiltInType.ExpandedNodeId, 0, v, false, null);
    public static Variant From(QualifiedName v) => new(BuiltInType.QualifiedName, 0, v, false, null);
    public static Variant From(LocalizedText v) => new(BuiltInType.LocalizedText, 0, v, false, null);
    public static Variant From(ExtensionObject v) => new(BuiltInType.ExtensionObject, 0, v, false, null);
    public static Variant From(DataValue v) => new(BuiltInType.DataValue, 0, v, false, null);

    /// <summary>
    /// An array: <paramref name="values"/> is bool[], sbyte[], byte[], short[], ushort[], int[],
    /// uint[], long[], ulong[], float[], double[], string?[], DateTime[] for those types, else a
    /// Variant[] whose elements are scalars of <paramref name="type"/> (or any type for Variant).
    /// </summary>
    public static Variant FromArray(BuiltInType type, Array values, int[]? dimensions = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (type == BuiltInType.Null) throw new ArgumentException("an array needs an element type", nameof(type));
        if (ExpectedArrayType(type) is { } expected && values.GetType() != expected)
            throw new ArgumentException($"a {type} array is a {expected.Name}, not {values.GetType().Name}", nameof(values));
        return new Variant(type, 0, values, true, dimensions);
    }

    private static Type? ExpectedArrayType(BuiltInType t) => t switch
    {
        BuiltInType.Boolean => typeof(bool[]),
        BuiltInType.SByte => typeof(sbyte[]),
        BuiltInType.Byte => typeof(byte[]),
        BuiltInType.Int16 => typeof(short[]),
        BuiltInType.UInt16 => typeof(ushort[]),
        BuiltInType.Int32 => typeof(int[]),
        BuiltInType.UInt32 => typeof(uint[]),
        BuiltInType.Int64 => typeof(long[]),
        BuiltInType.UInt64 => typeof(ulong[]),
        BuiltInType.Float => typeof(float[]),
        BuiltInType.Double => typeof(double[]),
        BuiltInType.String => typeof(string[]),
        BuiltInType.DateTime => typeof(DateTime[]),
        _ => typeof(Variant[]),
    };

    /// <summary>Elements of an array (1 for a scalar, 0 for Null).</summary>
    public int Count => IsArray ? ((Array)_ref!).Length : IsNull ? 0 : 1;

    /// <summary>The element at <paramref name="index"/> of an array as a scalar Variant; a scalar returns itself for 0.</summary>
    public Variant this[int index]
    {
        get
        {
            if (!IsArray)
            {
                if (index != 0 || IsNull) throw new ArgumentOutOfRangeException(nameof(index));
                return this;
            }
            return _ref switch
            {
                bool[] a => From(a[index]),
                sbyte[] a => From(a[index]),
                byte[] a => From(a[index]),
                short[] a => From(a[index]),
                ushort[] a => From(a[index]),
                int[] a => From(a[index]),
                uint[] a => From(a[index]),
                long[] a => From(a[index]),
                ulong[] a => From(a[index]),
                float[] a => From(a[index]),
                double[] a => From(a[index]),
                string?[] a => From(a[index]),
                DateTime[] a => From(a[index]),
                Variant[] a => a[index],
                _ => throw new InvalidOperationException("unexpected array storage"),
            };
        }
    }

    public bool AsBoolean => Scalar(BuiltInType.Boolean) && _bits != 0;

    /// <summary>A numeric, Boolean (0/1) or StatusCode scalar as a double; false for other types.</summary>
    public bool TryGetDouble(out double value)
    {
        value = 0;
        if (IsArray) return false;
        switch (Type)
        {
            case BuiltInType.Boolean:
            case BuiltInType.SByte:
            case BuiltInType.Byte:
            case BuiltInType.Int16:
            case BuiltInType.UInt16:
            case BuiltInType.Int32:
            case BuiltInType.UInt32:
            case BuiltInType.Int64:
                value = _bits;
                return true;
            case BuiltInType.UInt64:
                value = unchecked((ulong)_bits);
                return true;
            case BuiltInType.Float:
                value = BitConverter.Int32BitsToSingle((int)_bits);
                return true;
            case BuiltInType.Double:
                value = BitConverter.Int64BitsToDouble(_bits);
                return true;
            case BuiltInType.StatusCode:
                value = (uint)_bits;
                return true;
            default:
                return false;
        }
    }

    /// <summary>An integer scalar (SByte to Int64, Boolean) as long; UInt64 above long.MaxValue is false.</summary>
    public bool TryGetInt64(out long value)
    {
        value = _bits;
        if (IsArray) return false;
        return Type switch
        {
            BuiltInType.Boolean or BuiltInType.SByte or BuiltInType.Byte or BuiltInType.Int16 or BuiltInType.UInt16
                or BuiltInType.Int32 or BuiltInType.UInt32 or BuiltInType.Int64 => true,
            BuiltInType.UInt64 => _bits >= 0,
            _ => false,
        };
    }

    public string? AsString => Scalar(BuiltInType.String) || Scalar(BuiltInType.XmlElement) ? (string?)_ref : null;

    public DateTime AsDateTime => Scalar(BuiltInType.DateTime) ? UaDateTime.FromTicks(_bits) : DateTime.MinValue;

    /// <summary>The scalar's reference value (NodeId, LocalizedText, ExtensionObject, ...) or the array's storage.</summary>
    public object? Reference => _ref;

    private bool Scalar(BuiltInType t) => !IsArray && Type == t;

    public override string ToString()
    {
        if (IsNull) return "null";
        if (IsArray)
        {
            var parts = new string[Count];
            for (int i = 0; i < parts.Length; i++) parts[i] = this[i].ToString();
            return $"{Type}[{string.Join(", ", parts)}]";
        }
        return Type switch
        {
            BuiltInType.Boolean => AsBoolean ? "true" : "false",
            BuiltInType.Float => BitConverter.Int32BitsToSingle((int)_bits).ToString("R", CultureInfo.InvariantCulture),
            BuiltInType.Double => BitConverter.Int64BitsToDouble(_bits).ToString("R", CultureInfo.InvariantCulture),
            BuiltInType.UInt64 => unchecked((ulong)_bits).ToString(CultureInfo.InvariantCulture),
            BuiltInType.String or BuiltInType.XmlElement => "\"" + _ref + "\"",
            BuiltInType.DateTime => AsDateTime.ToString("O", CultureInfo.InvariantCulture),
            BuiltInType.StatusCode => new StatusCode((uint)_bits).ToString(),
            BuiltInType.ByteString => _ref is byte[] b ? "0x" + Convert.ToHexString(b) : "null",
            _ when TryGetInt64(out long l) => l.ToString(CultureInfo.InvariantCulture),
            _ => _ref?.ToString() ?? "null",
        };
    }

    internal void Encode(UaWriter w)
    {
        if (IsNull) { w.Byte(0); return; }
        byte mask = (byte)Type;
        if (IsArray) mask |= 0x80;
        if (IsArray && Dimensions is not null) mask |= 0x40;
        w.Byte(mask);
        if (!IsArray)
        {
            EncodeScalar(w);
        }
        else
        {
            int n = Count;
            w.Int32(n);
            for (int i = 0; i < n; i++) this[i].EncodeScalar(w);
            if (Dimensions is not null)
            {
                w.Int32(Dimensions.Length);
                foreach (int d in Dimensions) w.Int32(d);
            }
        }
    }

    private void EncodeScalar(UaWriter w)
    {
        switch (Type)
        {
            case BuiltInType.Boolean: w.Boolean(_bits != 0); break;
            case BuiltInType.SByte: w.SByte((sbyte)_bits); break;
            case BuiltInType.Byte: w.Byte((byte)_bits); break;
            case BuiltInType.Int16: w.Int16((short)_bits); break;
            case BuiltInType.UInt16: w.UInt16((ushort)_bits); break;
            case BuiltInType.Int32: w.Int32((int)_bits); break;
            case BuiltInType.UInt32: w.UInt32((uint)_bits); break;
            case BuiltInType.Int64: w.Int64(_bits); break;
            case BuiltInType.UInt64: w.UInt64(unchecked((ulong)_bits)); break;
            case BuiltInType.Float: w.Int32((int)_bits); break;
            case BuiltInType.Double: w.Int64(_bits); break;
            case BuiltInType.String:
            case BuiltInType.XmlElement: w.String((string?)_ref); break;
            case BuiltInType.DateTime: w.Int64(_bits); break;
            case BuiltInType.Guid: w.Guid((Guid)_ref!); break;
            case BuiltInType.ByteString: w.ByteString((byte[]?)_ref); break;
            case BuiltInType.NodeId: w.NodeId((NodeId)_ref!); break;
            case BuiltInType.ExpandedNodeId: w.ExpandedNodeId((ExpandedNodeId)_ref!); break;
            case BuiltInType.StatusCode: w.UInt32((uint)_bits); break;
            case BuiltInType.QualifiedName: w.QualifiedName((QualifiedName)_ref!); break;
            case BuiltInType.LocalizedText: w.LocalizedText((LocalizedText)_ref!); break;
            case BuiltInType.ExtensionObject:
                {
                    var eo = (ExtensionObject)_ref!;
                    w.NodeId(eo.TypeId);
                    w.Byte(eo.Body is null ? (byte)0 : eo.Encoding);
                    if (eo.Body is not null) w.ByteString(eo.Body);
                    break;
                }
            case BuiltInType.DataValue: w.DataValue((DataValue)_ref!); break;
            case BuiltInType.Variant: w.Variant((Variant)_ref!); break;
            default: throw new InvalidOperationException($"cannot encode a {Type}");
        }
    }

    internal static Variant Decode(ref UaReader r)
    {
        if (++r.Depth > UaReader.MaxDepth) OpcUaFormatException.Throw(OpcUaFormatError.TooDeep, "Variant nested too deep");
        byte mask = r.Byte();
        var type = (BuiltInType)(mask & 0x3F);
        if ((byte)type > (byte)BuiltInType.DiagnosticInfo)
            OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"Variant type id {(byte)type}");
        Variant result;
        if ((mask & 0x80) == 0)
        {
            if ((mask & 0x40) != 0) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"Variant mask 0x{mask:X2}: dimensions without an array");
            result = type == BuiltInType.Null ? Null : DecodeScalar(ref r, type);
        }
        else
        {
            if (type == BuiltInType.Null) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, "a Variant array of type Null");
            int n = r.ArrayLength("Variant array", MinSize(type));
            Array values = DecodeArray(ref r, type, n);
            int[]? dims = null;
            if ((mask & 0x40) != 0)
            {
                int rank = r.ArrayLength("ArrayDimensions", 4);
                dims = new int[rank];
                long product = 1;
                for (int i = 0; i < rank; i++)
                {
                    dims[i] = r.Int32();
                    if (dims[i] < 0) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"array dimension {dims[i]}");
                    product = Math.Min(product * dims[i], int.MaxValue + 1L);
                }
                if (rank == 0 || product != n)
                    OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"array dimensions [{string.Join(",", dims)}] do not match {n} elements");
            }
            result = new Variant(type, 0, values, true, dims);
        }
        r.Depth--;
        return result;
    }

    private static int MinSize(BuiltInType t) => t switch
    {
        BuiltInType.Int16 or BuiltInType.UInt16 => 2,
        BuiltInType.Int32 or BuiltInType.UInt32 or BuiltInType.Float or BuiltInType.StatusCode
            or BuiltInType.String or BuiltInType.ByteString or BuiltInType.XmlElement => 4,
        BuiltInType.Int64 or BuiltInType.UInt64 or BuiltInType.Double or BuiltInType.DateTime => 8,
        BuiltInType.Guid => 16,
        BuiltInType.QualifiedName => 6,
        BuiltInType.ExtensionObject => 3,
        BuiltInType.NodeId or BuiltInType.ExpandedNodeId => 2,
        _ => 1,
    };

    private static Array DecodeArray(ref UaReader r, BuiltInType type, int n)
    {
        switch (type)
        {
            case BuiltInType.Boolean: { var a = new bool[n]; for (int i = 0; i < n; i++) a[i] = r.Boolean(); return a; }
            case BuiltInType.SByte: { var a = new sbyte[n]; for (int i = 0; i < n; i++) a[i] = r.SByte(); return a; }
            case BuiltInType.Byte: return r.Bytes(n, "a Byte array").ToArray();
            case BuiltInType.Int16: { var a = new short[n]; for (int i = 0; i < n; i++) a[i] = r.Int16(); return a; }
            case BuiltInType.UInt16: { var a = new ushort[n]; for (int i = 0; i < n; i++) a[i] = r.UInt16(); return a; }
            case BuiltInType.Int32: { var a = new int[n]; for (int i = 0; i < n; i++) a[i] = r.Int32(); return a; }
            case BuiltInType.UInt32: { var a = new uint[n]; for (int i = 0; i < n; i++) a[i] = r.UInt32(); return a; }
            case BuiltInType.Int64: { var a = new long[n]; for (int i = 0; i < n; i++) a[i] = r.Int64(); return a; }
            case BuiltInType.UInt64: { var a = new ulong[n]; for (int i = 0; i < n; i++) a[i] = r.UInt64(); return a; }
            case BuiltInType.Float: { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = r.Float(); return a; }
            case BuiltInType.Double: { var a = new double[n]; for (int i = 0; i < n; i++) a[i] = r.Double(); return a; }
            case BuiltInType.String: { var a = new string?[n]; for (int i = 0; i < n; i++) a[i] = r.String(); return a; }
            case BuiltInType.DateTime: { var a = new DateTime[n]; for (int i = 0; i < n; i++) a[i] = r.DateTime(); return a; }
            default:
                {
                    var a = new Variant[n];
                    for (int i = 0; i < n; i++) a[i] = type == BuiltInType.Variant ? Decode(ref r) : DecodeScalar(ref r, type);
                    return a;
                }
        }
    }

    private static Variant DecodeScalar(ref UaReader r, BuiltInType type)
    {
        switch (type)
        {
            case BuiltInType.Boolean: return From(r.Boolean());
            case BuiltInType.SByte: return From(r.SByte());
            case BuiltInType.Byte: return From(r.Byte());
            case BuiltInType.Int16: return From(r.Int16());
            case BuiltInType.UInt16: return From(r.UInt16());
            case BuiltInType.Int32: return From(r.Int32());
            case BuiltInType.UInt32: return From(r.UInt32());
            case BuiltInType.Int64: return From(r.Int64());
            case BuiltInType.UInt64: return From(r.UInt64());
            case BuiltInType.Float: return From(r.Float());
            case BuiltInType.Double: return From(r.Double());
            case BuiltInType.String: return From(r.String());
            case BuiltInType.DateTime: return new Variant(BuiltInType.DateTime, Math.Max(0, r.Int64()), null, false, null);
            case BuiltInType.Guid: return From(r.Guid());
            case BuiltInType.ByteString: return FromByteString(r.ByteString());
            case BuiltInType.XmlElement: return new Variant(BuiltInType.XmlElement, 0, r.XmlElement(), false, null);
            case BuiltInType.NodeId: return From(r.NodeId());
            case BuiltInType.ExpandedNodeId: return From(r.ExpandedNodeId());
            case BuiltInType.StatusCode: return From(r.StatusCode());
            case BuiltInType.QualifiedName: return From(r.QualifiedName());
            case BuiltInType.LocalizedText: return From(r.LocalizedText());
            case BuiltInType.ExtensionObject: return From(r.ExtensionObject());
            case BuiltInType.DataValue: return From(r.DataValue());
            case BuiltInType.Variant: return new Variant(BuiltInType.Variant, 0, Decode(ref r), false, null);
            case BuiltInType.DiagnosticInfo:
                r.SkipDiagnosticInfo();
                return new Variant(BuiltInType.DiagnosticInfo, 0, null, false, null);
            default:
                OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"Variant type id {(byte)type}");
                return Null;
        }
    }
}

/// <summary>
/// A DataValue (Part 6, sec 5.2.2.17): value, status and timestamps, each present when its
/// mask bit is set: 0x01 value, 0x02 status, 0x04 source timestamp, 0x08 server timestamp,
/// 0x10 source picoseconds, 0x20 server picoseconds. An absent status is Good.
/// </summary>
public sealed class DataValue
{
    public DataValue(Variant value, StatusCode status = default, DateTime sourceTimestamp = default, DateTime serverTimestamp = default,
        ushort sourcePicoseconds = 0, ushort serverPicoseconds = 0)
    {
        Value = value;
        Status = status;
        SourceTimestamp = sourceTimestamp;
        ServerTimestamp = serverTimestamp;
        SourcePicoseconds = sourcePicoseconds;
        ServerPicoseconds = serverPicoseconds;
    }

    public Variant Value { get; }
    public StatusCode Status { get; }
    /// <summary>DateTime.MinValue when absent.</summary>
    public DateTime SourceTimestamp { get; }
    /// <summary>DateTime.MinValue when absent.</summary>
    public DateTime ServerTimestamp { get; }
    public ushort SourcePicoseconds { get; }
    public ushort ServerPicoseconds { get; }

    internal void Encode(UaWriter w)
    {
        byte mask = 0;
        if (!Value.IsNull) mask |= 0x01;
        if (Status.Code != 0) mask |= 0x02;
        if (SourceTimestamp != DateTime.MinValue) mask |= 0x04;
        if (ServerTimestamp != DateTime.MinValue) mask |= 0x08;
        if (SourcePicoseconds != 0) mask |= 0x10;
        if (ServerPicoseconds != 0) mask |= 0x20;
        w.Byte(mask);
        if ((mask & 0x01) != 0) w.Variant(Value);
        if ((mask & 0x02) != 0) w.StatusCode(Status);
        if ((mask & 0x04) != 0) w.DateTime(SourceTimestamp);
        if ((mask & 0x10) != 0) w.UInt16(SourcePicoseconds);
        if ((mask & 0x08) != 0) w.DateTime(ServerTimestamp);
        if ((mask & 0x20) != 0) w.UInt16(ServerPicoseconds);
    }

    internal static DataValue Decode(ref UaReader r)
    {
        if (++r.Depth > UaReader.MaxDepth) OpcUaFormatException.Throw(OpcUaFormatError.TooDeep, "DataValue nested too deep");
        byte mask = r.Byte();
        if ((mask & 0xC0) != 0) OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"DataValue mask 0x{mask:X2}");
        var value = (mask & 0x01) != 0 ? r.Variant() : Variant.Null;
        var status = (mask & 0x02) != 0 ? r.StatusCode() : default;
        var source = (mask & 0x04) != 0 ? r.DateTime() : DateTime.MinValue;
        ushort sourcePico = (mask & 0x10) != 0 ? r.UInt16() : (ushort)0;
        var server = (mask & 0x08) != 0 ? r.DateTime() : DateTime.MinValue;
        ushort serverPico = (mask & 0x20) != 0 ? r.UInt16() : (ushort)0;
        r.Depth--;
        return new DataValue(value, status, source, server, sourcePico, serverPico);
    }

    public override string ToString() => Status.Code == 0 ? Value.ToString() : $"{Value} {Status}";
}
