using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>
/// Write-back: the Write service on the target's own session (so its security mode and user,
/// and the user's rights on the server, apply), in the built-in type the server reports for the
/// node's value. The server's verdict (BadUserAccessDenied, BadNotWritable, BadOutOfRange...) is
/// the device's refusal.
/// </summary>
public sealed partial class OpcUaPoller
{
    private readonly SeriesKey?[] _writableSeries;
    private BuiltInType?[]? _writeTypes;

    /// <summary>The writable scalar nodes stored so far (a node's series is made with its first value).</summary>
    public IReadOnlyList<WritablePoint> WritablePoints
    {
        get
        {
            var points = new List<WritablePoint>();
            for (int i = 0; i < _server.Nodes.Count; i++)
            {
                var n = _server.Nodes[i];
                if (n.Write is not null && Volatile.Read(ref _writableSeries[i]) is { } series)
                    points.Add(new WritablePoint(series, n.Write, $"{n.NodeIdText} on {_server.Endpoint} ({_server.SecurityDescription}{(_server.Username is null ? ", anonymous" : $", user {_server.Username}")})", false, i));
            }
            return points;
        }
    }

    public async Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        var (session, node) = await NodeAsync(point, cancellationToken).ConfigureAwait(false);
        var values = await session.ReadAsync([new ReadValueId(node)], cancellationToken).ConfigureAwait(false);
        var dv = values[0];
        var n = _server.Nodes[point.Index];
        if (dv.Status.IsBad) throw new DeviceRefusedException($"read {n.NodeIdText}: {dv.Status}");
        if (dv.Value.IsArray) throw new DeviceRefusedException($"read {n.NodeIdText}: an array; only scalar nodes are written");
        if (!OpcUaValues.TryConvert(dv.Value, out var type, out double value, out string? text, out string? why))
            throw new DeviceRefusedException($"read {n.NodeIdText}: {why}");
        LazyInitializer.EnsureInitialized(ref _writeTypes, () => new BuiltInType?[_server.Nodes.Count])[point.Index] = dv.Value.Type;
        return type == DataType.String ? PointValue.Of(text!) : PointValue.Of(value);
    }

    public async Task WritePointAsync(WritablePoint point, PointValue value, CancellationToken cancellationToken)
    {
        var n = _server.Nodes[point.Index];
        var type = _writeTypes?[point.Index] ?? BuiltInType.Double;
        var variant = Encode(type, value.Number) ?? throw new ArgumentException($"{value} cannot be written to {n.NodeIdText}, whose value is a {type}");
        var (session, node) = await NodeAsync(point, cancellationToken).ConfigureAwait(false);
        var status = await session.WriteAsync(node, variant, cancellationToken).ConfigureAwait(false);
        if (status.IsBad || status.IsUncertain) throw new DeviceRefusedException($"write {n.NodeIdText} = {value}: {status}");
    }

    /// <summary>The value as <paramref name="type"/>, or null when that type cannot hold it (or is not a number).</summary>
    internal static Variant? Encode(BuiltInType type, double v)
    {
        bool whole = v == Math.Floor(v);
        return type switch
        {
            BuiltInType.Boolean when v is 0 or 1 => Variant.From(v == 1),
            BuiltInType.SByte when whole && v is >= sbyte.MinValue and <= sbyte.MaxValue => Variant.From((sbyte)v),
            BuiltInType.Byte when whole && v is >= byte.MinValue and <= byte.MaxValue => Variant.From((byte)v),
            BuiltInType.Int16 when whole && v is >= short.MinValue and <= short.MaxValue => Variant.From((short)v),
            BuiltInType.UInt16 when whole && v is >= ushort.MinValue and <= ushort.MaxValue => Variant.From((ushort)v),
            BuiltInType.Int32 when whole && v is >= int.MinValue and <= int.MaxValue => Variant.From((int)v),
            BuiltInType.UInt32 when whole && v is >= uint.MinValue and <= uint.MaxValue => Variant.From((uint)v),
            BuiltInType.Int64 when whole && Math.Abs(v) <= 9007199254740992 => Variant.From((long)v),
            BuiltInType.UInt64 when whole && v is >= 0 and <= 9007199254740992 => Variant.From((ulong)v),
            BuiltInType.Float when Math.Abs(v) <= float.MaxValue => Variant.From((float)v),
            BuiltInType.Double => Variant.From(v),
            _ => null,
        };
    }

    /// <summary>The open session (reopened as a poll would) and the node's id resolved in it.</summary>
    private async Task<(UaSession Session, NodeId Node)> NodeAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        var session = await EnsureSessionAsync(cancellationToken, honourBackoff: true).ConfigureAwait(false);
        foreach (var (node, id) in _resolved)
        {
            if (node == point.Index) return (session, id);
        }
        throw new DeviceRefusedException($"{_server.Nodes[point.Index].NodeIdText} is not in the server's address space now");
    }
}
