using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>The four kinds of NodeId identifier (Part 3, sec 8.2.3).</summary>
public enum NodeIdType : byte
{
    Numeric = 0,
    String = 1,
    Guid = 2,
    Opaque = 3,
}

/// <summary>
/// A NodeId: a namespace index and a numeric, string, GUID or opaque (ByteString) identifier
/// (Part 3, sec 8.2; binary encodings Part 6, sec 5.2.2.9; string form Part 6, sec 5.3.1.10).
/// Immutable; equal when namespace, kind and identifier are equal.
/// </summary>
public sealed class NodeId : IEquatable<NodeId>
{
    public static readonly NodeId Null = new(0, 0u);

    private readonly uint _numeric;
    private readonly string? _string;
    private readonly Guid _guid;
    private readonly byte[]? _opaque;

    public NodeId(ushort namespaceIndex, uint identifier)
    {
        NamespaceIndex = namespaceIndex;
        IdType = NodeIdType.Numeric;
        _numeric = identifier;
    }

    public NodeId(ushort namespaceIndex, string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        NamespaceIndex = namespaceIndex;
        IdType = NodeIdType.String;
        _string = identifier;
    }

    public NodeId(ushort namespaceIndex, Guid identifier)
    {
        NamespaceIndex = namespaceIndex;
        IdType = NodeIdType.Guid;
        _guid = identifier;
    }

    public NodeId(ushort namespaceIndex, byte[] identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        NamespaceIndex = namespaceIndex;
        IdType = NodeIdType.Opaque;
        _opaque = (byte[])identifier.Clone();
    }

    public ushort NamespaceIndex { get; }
    public NodeIdType IdType { get; }
    public uint Numeric => IdType == NodeIdType.Numeric ? _numeric : throw new InvalidOperationException($"{this} is not numeric");
    public string StringId => _string ?? throw new InvalidOperationException($"{this} is not a string NodeId");
    public Guid GuidId => IdType == NodeIdType.Guid ? _guid : throw new InvalidOperationException($"{this} is not a GUID NodeId");
    public ReadOnlySpan<byte> OpaqueId => _opaque ?? throw new InvalidOperationException($"{this} is not an opaque NodeId");

    public bool IsNull => IdType == NodeIdType.Numeric && NamespaceIndex == 0 && _numeric == 0;

    /// <summary>The same identifier in another namespace (after resolving a namespace URI).</summary>
    public NodeId WithNamespace(ushort namespaceIndex) => IdType switch
    {
        NodeIdType.Numeric => new NodeId(namespaceIndex, _numeric),
        NodeIdType.String => new NodeId(namespaceIndex, _string!),
        NodeIdType.Guid => new NodeId(namespaceIndex, _guid),
        _ => new NodeId(namespaceIndex, _opaque!),
    };

    /// <summary>"ns=2;s=Line3.Temperature", "i=2255", "ns=1;g=...", "ns=1;b=base64" (ns=0 is left out).</summary>
    public override string ToString()
    {
        string prefix = NamespaceIndex == 0 ? "" : $"ns={NamespaceIndex.ToString(CultureInfo.InvariantCulture)};";
        return prefix + IdentifierText();
    }

    /// <summary>"i=5001", "s=Line3.Temperature", "g=...", "b=...".</summary>
    public string IdentifierText() => IdType switch
    {
        NodeIdType.Numeric => "i=" + _numeric.ToString(CultureInfo.InvariantCulture),
        NodeIdType.String => "s=" + _string,
        NodeIdType.Guid => "g=" + _guid.ToString("D"),
        _ => "b=" + Convert.ToBase64String(_opaque!),
    };

    public bool Equals(NodeId? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (NamespaceIndex != other.NamespaceIndex || IdType != other.IdType) return false;
        return IdType switch
        {
            NodeIdType.Numeric => _numeric == other._numeric,
            NodeIdType.String => string.Equals(_string, other._string, StringComparison.Ordinal),
            NodeIdType.Guid => _guid == other._guid,
            _ => _opaque.AsSpan().SequenceEqual(other._opaque),
        };
    }

    public override bool Equals(object? obj) => obj is NodeId n && Equals(n);

    public override int GetHashCode() => IdType switch
    {
        NodeIdType.Numeric => HashCode.Combine(NamespaceIndex, _numeric),
        NodeIdType.String => HashCode.Combine(NamespaceIndex, StringComparer.Ordinal.GetHashCode(_string!)),
        NodeIdType.Guid => HashCode.Combine(NamespaceIndex, _guid),
        _ => HashCode.Combine(NamespaceIndex, _opaque!.Length, _opaque.Length > 0 ? _opaque[0] : 0),
    };

    /// <summary>Encoding byte 0x00-0x05, ORed with the ExpandedNodeId flags 0x80 (URI) and 0x40 (server index).</summary>
    internal void Encode(UaWriter w, byte expandedFlags)
    {
        switch (IdType)
        {
            case NodeIdType.Numeric when NamespaceIndex == 0 && _numeric <= 0xFF:
                w.Byte((byte)(0x00 | expandedFlags)); // TwoByte: identifier only
                w.Byte((byte)_numeric);
                break;
            case NodeIdType.Numeric when NamespaceIndex <= 0xFF && _numeric <= 0xFFFF:
                w.Byte((byte)(0x01 | expandedFlags)); // FourByte: namespace byte, UInt16 identifier
                w.Byte((byte)NamespaceIndex);
                w.UInt16((ushort)_numeric);
                break;
            case NodeIdType.Numeric:
                w.Byte((byte)(0x02 | expandedFlags));
                w.UInt16(NamespaceIndex);
                w.UInt32(_numeric);
                break;
            case NodeIdType.String:
                w.Byte((byte)(0x03 | expandedFlags));
                w.UInt16(NamespaceIndex);
                w.String(_string);
                break;
            case NodeIdType.Guid:
                w.Byte((byte)(0x04 | expandedFlags));
                w.UInt16(NamespaceIndex);
                w.Guid(_guid);
                break;
            default:
                w.Byte((byte)(0x05 | expandedFlags));
                w.UInt16(NamespaceIndex);
                w.ByteString(_opaque);
                break;
        }
    }

    internal static NodeId Decode(ref UaReader r, bool expanded, out string? namespaceUri, out uint serverIndex)
    {
        byte encoding = r.Byte();
        byte flags = (byte)(encoding & 0xC0);
        if (flags != 0 && !expanded)
            OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"NodeId encoding 0x{encoding:X2} carries ExpandedNodeId flags");
        NodeId id;
        switch (encoding & 0x3F)
        {
            case 0x00: id = new NodeId(0, r.Byte()); break;
            case 0x01: { byte ns = r.Byte(); id = new NodeId(ns, r.UInt16()); break; }
            case 0x02: { ushort ns = r.UInt16(); id = new NodeId(ns, r.UInt32()); break; }
            case 0x03:
                {
                    ushort ns = r.UInt16();
                    string? s = r.String();
                    id = new NodeId(ns, s ?? "");
                    break;
                }
            case 0x04: { ushort ns = r.UInt16(); id = new NodeId(ns, r.Guid()); break; }
            case 0x05:
                {
                    ushort ns = r.UInt16();
                    id = new NodeId(ns, r.ByteString() ?? []);
                    break;
                }
            default:
                OpcUaFormatException.Throw(OpcUaFormatError.BadEncoding, $"NodeId encoding 0x{encoding:X2}");
                id = Null;
                break;
        }
        namespaceUri = (flags & 0x80) != 0 ? r.String() : null;
        serverIndex = (flags & 0x40) != 0 ? r.UInt32() : 0;
        return id;
    }

    /// <summary>Parses the standard string form; an "nsu=" form is an <see cref="ExpandedNodeId"/>, see <see cref="ExpandedNodeId.TryParse"/>.</summary>
    public static bool TryParse(string text, out NodeId nodeId, out string? error)
    {
        if (!ExpandedNodeId.TryParse(text, out var e, out error)) { nodeId = Null; return false; }
        if (e.NamespaceUri is not null) { nodeId = Null; error = "an nsu= NodeId needs the server's namespace table; use ExpandedNodeId"; return false; }
        nodeId = e.NodeId;
        return true;
    }

    /// <exception cref="OpcUaFormatException">the text is not a NodeId.</exception>
    public static NodeId Parse(string text)
    {
        if (!TryParse(text, out var id, out string? error)) OpcUaFormatException.Throw(OpcUaFormatError.BadNodeId, error!);
        return id;
    }

    /// <summary>Reads the identifier part: "i=", "s=", "g=" or "b=".</summary>
    internal static bool TryParseIdentifier(ReadOnlySpan<char> s, ushort ns, out NodeId id, out string? error)
    {
        id = Null;
        error = null;
        if (s.Length < 2 || s[1] != '=')
        {
            error = "expected i=, s=, g= or b= followed by the identifier";
            return false;
        }
        var value = s[2..];
        switch (s[0])
        {
            case 'i':
                if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n))
                {
                    error = $"\"i={value}\": a numeric identifier is a whole number from 0 to 4294967295";
                    return false;
                }
                id = new NodeId(ns, n);
                return true;
            case 's':
                if (value.IsEmpty) { error = "\"s=\": a string identifier cannot be empty"; return false; }
                id = new NodeId(ns, value.ToString());
                return true;
            case 'g':
                if (!System.Guid.TryParseExact(value, "D", out var g))
                {
                    error = $"\"g={value}\": expected a GUID like 09087e75-8e5e-499b-954f-f2a9603db28a";
                    return false;
                }
                id = new NodeId(ns, g);
                return true;
            case 'b':
                {
                    var bytes = new byte[(value.Length * 3 / 4) + 3];
                    if (value.IsEmpty || !Convert.TryFromBase64Chars(value, bytes, out int written))
                    {
                        error = $"\"b={value}\": an opaque identifier is base64 (b=AQIDBA==)";
                        return false;
                    }
                    id = new NodeId(ns, bytes.AsSpan(0, written).ToArray());
                    return true;
                }
            default:
                error = $"\"{s[0]}=\": expected i=, s=, g= or b=";
                return false;
        }
    }
}

/// <summary>A NodeId that may name its namespace by URI (nsu=) and a server (Part 6, sec 5.2.2.10).</summary>
public sealed class ExpandedNodeId(NodeId nodeId, string? namespaceUri = null, uint serverIndex = 0)
{
    public NodeId NodeId { get; } = nodeId;
    public string? NamespaceUri { get; } = namespaceUri;
    public uint ServerIndex { get; } = serverIndex;

    public override string ToString()
    {
        var sb = new StringBuilder();
        if (ServerIndex != 0) sb.Append(CultureInfo.InvariantCulture, $"svr={ServerIndex};");
        if (NamespaceUri is not null) sb.Append("nsu=").Append(NamespaceUri).Append(';').Append(NodeId.IdentifierText());
        else sb.Append(NodeId.ToString());
        return sb.ToString();
    }

    internal void Encode(UaWriter w)
    {
        byte flags = (byte)((NamespaceUri is null ? 0 : 0x80) | (ServerIndex == 0 ? 0 : 0x40));
        NodeId.Encode(w, flags);
        if (NamespaceUri is not null) w.String(NamespaceUri);
        if (ServerIndex != 0) w.UInt32(ServerIndex);
    }

    /// <summary>
    /// Parses "i=85", "ns=2;s=Line3.Temperature", "nsu=urn:x;s=Tag", "ns=1;g=&lt;guid&gt;", "ns=1;b=&lt;base64&gt;".
    /// Keywords are case-sensitive as the spec writes them. A string identifier runs to the end
    /// of the text and may contain ';' and '='.
    /// </summary>
    public static bool TryParse(string text, out ExpandedNodeId nodeId, out string? error)
    {
        nodeId = new ExpandedNodeId(NodeId.Null);
        error = null;
        ArgumentNullException.ThrowIfNull(text);
        var s = text.AsSpan();
        if (s.IsEmpty) { error = "empty NodeId"; return false; }
        ushort ns = 0;
        string? uri = null;
        if (s.StartsWith("ns="))
        {
            int semi = s.IndexOf(';');
            if (semi < 0) { error = $"\"{text}\": expected ns=<index>;<i|s|g|b>=<identifier>"; return false; }
            if (!ushort.TryParse(s[3..semi], NumberStyles.None, CultureInfo.InvariantCulture, out ns))
            {
                error = $"\"{text}\": the namespace index is a whole number from 0 to 65535";
                return false;
            }
            s = s[(semi + 1)..];
        }
        else if (s.StartsWith("nsu="))
        {
            // The URI ends at the first ';' followed by an identifier keyword.
            int at = -1;
            for (int i = 4; i + 2 < s.Length; i++)
            {
                if (s[i] == ';' && s[i + 2] == '=' && s[i + 1] is 'i' or 's' or 'g' or 'b') { at = i; break; }
            }
            if (at <= 4) { error = $"\"{text}\": expected nsu=<namespace uri>;<i|s|g|b>=<identifier>"; return false; }
            uri = s[4..at].ToString();
            s = s[(at + 1)..];
        }
        if (!NodeId.TryParseIdentifier(s, ns, out var id, out string? idError))
        {
            error = $"\"{text}\": {idError}";
            return false;
        }
        nodeId = new ExpandedNodeId(id, uri);
        return true;
    }
}

/// <summary>A name qualified by a namespace index (Part 3, sec 8.3).</summary>
public readonly record struct QualifiedName(ushort NamespaceIndex, string? Name)
{
    public override string ToString() => NamespaceIndex == 0 ? Name ?? "" : $"{NamespaceIndex}:{Name}";
}

/// <summary>Text with an optional locale (Part 3, sec 8.5).</summary>
public readonly record struct LocalizedText(string? Locale, string? Text)
{
    public override string ToString() => Text ?? "";
}

/// <summary>An encoded structure: its encoding's NodeId and the body (null when it has none).</summary>
public readonly record struct ExtensionObject(NodeId TypeId, byte Encoding, byte[]? Body)
{
    /// <summary>The binary encoding id when TypeId is numeric in namespace 0, else 0.</summary>
    public uint BinaryTypeId => TypeId.IdType == NodeIdType.Numeric && TypeId.NamespaceIndex == 0 && Encoding == 1 ? TypeId.Numeric : 0;
}
