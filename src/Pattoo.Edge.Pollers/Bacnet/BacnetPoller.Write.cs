using System.Globalization;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>
/// Write-back: WriteProperty of present-value at the object's write_priority (8 by default),
/// with the application type the device reported for it; relinquish writes NULL at that priority.
/// </summary>
public sealed partial class BacnetPoller
{
    private ApplicationTag?[]? _writeTags;

    /// <summary>The writable objects stored so far (a point's series is made with its first value, units included).</summary>
    public IReadOnlyList<WritablePoint> WritablePoints
    {
        get
        {
            var points = new List<WritablePoint>();
            for (int i = 0; i < _device.Objects.Count; i++)
            {
                var o = _device.Objects[i];
                if (o.Write is not null && Volatile.Read(ref _valueSeries[i]) is { } series)
                    points.Add(new WritablePoint(series, o.Write, string.Create(CultureInfo.InvariantCulture, $"{o.Object} present-value at priority {o.WritePriority}"), true, i));
            }
            return points;
        }
    }

    public async Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        var o = _device.Objects[point.Index];
        var address = await AddressAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[32];
        BacnetServices.TryWriteReadProperty(buffer, o.Reference, out int n);
        var reply = await _lease.Resource.RequestAsync(address, BacnetService.ReadProperty, buffer.AsMemory(0, n), Limits, cancellationToken).ConfigureAwait(false);
        if (reply.Kind != ReplyKind.Ack) throw new DeviceRefusedException($"read-property {o.Reference}: {reply.Describe()}");
        var result = BacnetServices.ReadReadPropertyAck(reply.Data);
        if (result.Error is { } error) throw new DeviceRefusedException($"read-property {o.Reference}: {error}");
        if (result.Values.Count != 1) throw new DeviceRefusedException($"read-property {o.Reference}: {result.Values.Count} values, expected one");
        var value = result.Values[0];
        LazyInitializer.EnsureInitialized(ref _writeTags, () => new ApplicationTag?[_device.Objects.Count])[point.Index] = value.Tag;
        return DataTypeOf(value) == Common.DataType.String ? PointValue.Of(value.ToString()) : PointValue.Of(value.ToDouble());
    }

    public Task WritePointAsync(WritablePoint point, PointValue value, CancellationToken cancellationToken)
        => SendWriteAsync(point, Encode(point, value), cancellationToken);

    public Task RelinquishPointAsync(WritablePoint point, CancellationToken cancellationToken)
        => SendWriteAsync(point, BacnetValue.Null, cancellationToken);

    private async Task SendWriteAsync(WritablePoint point, BacnetValue value, CancellationToken cancellationToken)
    {
        var o = _device.Objects[point.Index];
        var address = await AddressAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 + (value.Tag == ApplicationTag.CharacterString ? value.Text.Length * 4 : 0)];
        if (!BacnetServices.TryWriteWriteProperty(buffer, o.Reference, value, o.WritePriority, out int n))
            throw new ArgumentException($"the value is too long for one write-property request");
        var reply = await _lease.Resource.RequestAsync(address, BacnetService.WriteProperty, buffer.AsMemory(0, n), Limits, cancellationToken).ConfigureAwait(false);
        if (reply.Kind != ReplyKind.Ack)
            throw new DeviceRefusedException($"write-property {o.Reference} at priority {o.WritePriority}: {reply.Describe()}");
    }

    /// <summary>The device's address, located first if the poll has not (or has forgotten it); read once, as a poll may clear it meanwhile.</summary>
    private async Task<DeviceAddress> AddressAsync(CancellationToken cancellationToken)
    {
        if (_address is { } known) return known;
        await LocateAsync(cancellationToken).ConfigureAwait(false);
        return _address ?? throw new BacnetTransportException($"device {Name} could not be located");
    }

    /// <summary>The value as the application type the device reported for the property (REAL unless it said otherwise).</summary>
    private BacnetValue Encode(WritablePoint point, PointValue value)
    {
        var tag = _writeTags?[point.Index] ?? point.Limits.Kind switch
        {
            WriteKind.Bool => ApplicationTag.Enumerated,
            WriteKind.Integer => ApplicationTag.Unsigned,
            WriteKind.Text => ApplicationTag.CharacterString,
            _ => ApplicationTag.Real,
        };
        // The point's kind comes from the config, the type from the device: a text for a number
        // (or the reverse) is refused, never sent as 0.
        if ((tag == ApplicationTag.CharacterString) != value.IsText)
            throw new ArgumentException($"the device reports {_device.Objects[point.Index].Object} present-value as {tag}; {value} is {(value.IsText ? "a text" : "a number")}");
        double n = value.Number;
        return tag switch
        {
            ApplicationTag.Real when Math.Abs(n) <= float.MaxValue => BacnetValue.FromReal((float)n),
            ApplicationTag.Double => BacnetValue.FromDouble(n),
            ApplicationTag.Unsigned when n >= 0 && n == Math.Floor(n) && n <= uint.MaxValue => BacnetValue.FromUnsigned((ulong)n),
            ApplicationTag.Signed when n == Math.Floor(n) && Math.Abs(n) <= int.MaxValue => BacnetValue.FromSigned((long)n),
            ApplicationTag.Enumerated when n >= 0 && n == Math.Floor(n) && n <= uint.MaxValue => BacnetValue.FromEnumerated((ulong)n),
            ApplicationTag.Boolean when n is 0 or 1 => BacnetValue.FromBoolean(n == 1),
            ApplicationTag.CharacterString => BacnetValue.FromCharacterString(value.Text ?? value.ToString()),
            _ => throw new ArgumentException($"{value} cannot be written as the {tag} the device reports for {_device.Objects[point.Index].Object} present-value"),
        };
    }
}
