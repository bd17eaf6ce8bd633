using System.Globalization;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>
/// Write-back: a SetRequest (v2c community or v3 user, as the target polls) of a scalar OID the
/// target declares writable, in the SMI type the agent reported for it.
/// </summary>
public sealed partial class SnmpPoller
{
    private SnmpValueType?[]? _writeTypes;

    /// <summary>
    /// Held by a poll from its first request to its last parse, and by a write's get, set and
    /// read-back: an answer lies in the session's receive buffer until it is parsed.
    /// </summary>
    private readonly SemaphoreSlim _exchange = new(1, 1);

    /// <summary>The writable OIDs stored so far (a scalar's series is made with its first value).</summary>
    public IReadOnlyList<WritablePoint> WritablePoints
    {
        get
        {
            var points = new List<WritablePoint>();
            for (int i = 0; i < _metrics.Length; i++)
            {
                var m = _metrics[i];
                if (m.Options.Write is { } limits && Volatile.Read(ref m.Single) is { } single)
                    points.Add(new WritablePoint(single.Key, limits, $"{m.Options.Oid} on {_session.Remote} (SNMP{(_options.Version == SnmpVersion.V3 ? "v3" : "v2c")})", false, i));
            }
            return points;
        }
    }

    public async Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        var m = _metrics[point.Index];
        await _exchange.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var r = await _session.RequestAsync(PduType.GetRequest, [m.Scalar!.Oid], 1, 0, 0, cancellationToken).ConfigureAwait(false);
            return Answer(m, r, point.Index, "get");
        }
        finally
        {
            _exchange.Release();
        }
    }

    public async Task WritePointAsync(WritablePoint point, PointValue value, CancellationToken cancellationToken)
    {
        var m = _metrics[point.Index];
        var type = _writeTypes?[point.Index] ?? (point.Limits.Kind == WriteKind.Text ? SnmpValueType.OctetString : SnmpValueType.Integer);
        bool textType = type is SnmpValueType.OctetString or SnmpValueType.IpAddress;
        // The point's kind comes from the config, the wire type from the agent: a mismatch is
        // refused, never sent as an empty string or a 0.
        if (textType != value.IsText)
            throw new ArgumentException(textType
                ? $"the agent reports {m.Options.Oid} as {type.Name()}: declare it type = \"string\" with allowed texts to write it"
                : $"the agent reports {m.Options.Oid} as {type.Name()}, a number: this point is declared as text");
        double raw = value.Number / m.Options.Scale;
        if (!textType)
        {
            double whole = Math.Round(raw);
            if (Math.Abs(raw - whole) > 1e-9 * Math.Max(1, Math.Abs(raw)))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{value} is not a step of {m.Options.Oid} (a {type.Name()} at scale {m.Options.Scale:R})"));
            raw = whole;
        }
        var varbinds = new SnmpEncoder().EncodeSetVarbindList(m.Scalar!.Oid, type, raw, value.Text);
        await _exchange.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var r = await _session.SetAsync(varbinds, cancellationToken).ConfigureAwait(false);
            if (r.Header.ErrorStatus != 0)
                throw new DeviceRefusedException($"set {m.Options.Oid} = {value}: the agent answered {((SnmpErrorStatus)r.Header.ErrorStatus).Name()}");
        }
        finally
        {
            _exchange.Release();
        }
    }

    /// <summary>The value a GetResponse carries for the metric's OID, as the point takes it; its SMI type is kept for the write.</summary>
    private PointValue Answer(Metric m, SnmpResponse r, int index, string what)
    {
        if (r.Header.ErrorStatus != 0)
            throw new DeviceRefusedException($"{what} {m.Options.Oid}: the agent answered {((SnmpErrorStatus)r.Header.ErrorStatus).Name()}");
        var reader = new VarbindReader(r.Buffer, r.Header.Varbinds);
        if (!reader.TryRead(out var vb) || !vb.Oid.SequenceEqual(m.Scalar!.Oid))
            throw new DeviceRefusedException($"{what} {m.Options.Oid}: the answer does not carry it");
        if (vb.Type.IsException() || vb.Type == SnmpValueType.Null)
            throw new DeviceRefusedException($"{what} {m.Options.Oid}: {vb.Type.Name()}");
        LazyInitializer.EnsureInitialized(ref _writeTypes, () => new SnmpValueType?[_metrics.Length])[index] = vb.Type;
        if (vb.IsNumber) return PointValue.Of(vb.ToDouble() * m.Options.Scale);
        var slot = new ValueSlot();
        slot.Store(vb, 0, out _);
        return PointValue.Of(slot.Text);
    }
}
