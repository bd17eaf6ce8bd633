using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>
/// One BACnet device (a <c>[[bacnet.devices]]</c> entry). It locates the device by Who-Is when
/// it has no address, reads the engineering units of its objects once, then every cycle reads
/// each object's property (and Status_Flags) in as few ReadPropertyMultiple requests as the
/// device's max APDU allows, falling back to ReadProperty for a device that refuses
/// ReadPropertyMultiple. Values are stored under program "bacnet", target = device name,
/// key = object key, metadata <c>object</c> and <c>units</c>.
/// A silent device fails the poll; a refused property is skipped and reported by key, object
/// and property; a poll where every value was refused fails.
/// <para>
/// Objects with <c>cov</c> are subscribed with SubscribeCOV once their units are known, each
/// renewed at half its lifetime (and again at once after the device was unreachable, as a
/// restarted device has forgotten them); their notifications are stored when they arrive, and
/// the objects are read only every <c>cov_safety_interval</c>. A device that refuses
/// SubscribeCOV is polled every interval instead (logged once); an object it refuses is polled.
/// </para>
/// </summary>
public sealed partial class BacnetPoller : IPollTarget, IPollTargetDiagnostics, IWritableTarget
{
    private const string NoUnits = "no-units";
    private const int TimeoutsBeforeRediscovery = 3;

    private enum Slot : byte { Value, StatusFlags, Units }

    private readonly record struct Read(int Object, Slot Slot, PropertyReference Reference);

    private readonly AgentIdentity _agent;
    private readonly BacnetOptions _section;
    private readonly BacnetDeviceOptions _device;
    private readonly Lease<BacnetTransport> _lease;
    private readonly string?[] _units;
    private readonly SeriesKey?[] _valueSeries;
    private readonly SeriesKey?[] _statusSeries;
    private DeviceAddress? _address;
    private IAm? _iAm;
    private bool _probed;
    private bool _readMultiple;
    private int _answerCap = int.MaxValue;
    private int _timeoutsInRow;

    internal BacnetPoller(AgentIdentity agent, BacnetOptions section, BacnetDeviceOptions device, Lease<BacnetTransport> lease, Func<SampleBatch, Task>? pushSamples = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(device);
        if (agent.Program != BacnetOptions.ProgramName)
            throw new ArgumentException($"the BACnet poller stores under program '{BacnetOptions.ProgramName}', not '{agent.Program}'", nameof(agent));
        _agent = agent;
        _section = section;
        _device = device;
        _lease = lease;
        _units = new string?[device.Objects.Count];
        _valueSeries = new SeriesKey?[device.Objects.Count];
        _statusSeries = new SeriesKey?[device.Objects.Count];
        _readMultiple = device.ReadMultiple;
        if (device.Address is not null) _address = new DeviceAddress(device.Address, device.Route);
        ConfigFingerprint = device.Fingerprint(section);
        _push = pushSamples;
        _covRenewAt = new long[device.Objects.Count];
        _covRefused = new bool[device.Objects.Count];
    }

    public string Program => BacnetOptions.ProgramName;
    public string Name => _device.Name;
    public TimeSpan Interval => _device.Interval;
    public string ConfigFingerprint { get; }

    public BacnetDeviceOptions Device => _device;

    /// <summary>False once the device refused ReadPropertyMultiple (or read_multiple = false): one ReadProperty per property.</summary>
    public bool UsesReadPropertyMultiple => _readMultiple;

    /// <summary>Confirmed requests the last poll sent (retries not counted).</summary>
    public int RequestsLastPoll { get; private set; }

    /// <summary>Where the device answers, once known.</summary>
    public string? LocatedAt => _address?.ToString();

    /// <summary>What the shared socket has seen (all devices together).</summary>
    public Counters<BacnetSocketCounter> TransportStatistics => _lease.Resource.Statistics;

    private RequestLimits Limits => new(_section.MaxApduAccepted, _section.MaxSegmentsAccepted, _device.Timeout, _device.Retries);

    private int DeviceMaxApdu => _device.MaxApdu ?? (_iAm is IAm i ? Math.Min(i.MaxApdu, Apdu.MaxApduLength) : Apdu.MaxApduLength);

    /// <summary>The largest answer to plan for: one APDU both sides take, times the segments when the device can segment.</summary>
    private int AnswerLimit
    {
        get
        {
            int one = Math.Min(_section.MaxApduAccepted, DeviceMaxApdu);
            long limit = _iAm is { CanTransmitSegments: true } && _section.MaxSegmentsAccepted > 1 ? (long)one * _section.MaxSegmentsAccepted : one;
            return (int)Math.Min(Math.Min(limit, _answerCap), 1 << 20);
        }
    }

    /// <summary>socket.*: the one UDP socket every BACnet device shares.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Diagnostics
    {
        get
        {
            var list = new List<KeyValuePair<string, long>> { new("requestsLastPoll", RequestsLastPoll), new("readPropertyMultiple", UsesReadPropertyMultiple ? 1 : 0),
                new("covSubscriptions", CovSubscriptions), new("covNotifications", Interlocked.Read(ref _covNotifications)) };
            TransportStatistics.AppendTo(list, "socket.");
            return list;
        }
    }

    public async Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(report);
        RequestsLastPoll = 0;
        try
        {
            await LocateAsync(cancellationToken).ConfigureAwait(false);
            long now = Environment.TickCount64;
            bool full = now - _lastFullReadAt >= (long)_device.CovSafetyInterval.TotalMilliseconds || _lastFullReadAt == 0;
            var reads = BuildReads(full);
            var results = new PropertyResult?[reads.Count];
            var failures = new string?[reads.Count];
            if (_readMultiple) await ReadMultipleAsync(reads, results, failures, cancellationToken).ConfigureAwait(false);
            else await ReadEachAsync(reads, 0, reads.Count, results, failures, cancellationToken).ConfigureAwait(false);
            _timeoutsInRow = 0;
            TakePendingCov(batch); // older than this poll's values: first, so the series stay in time order
            Store(reads, results, failures, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), batch, report);
            if (full) _lastFullReadAt = now;
            await SubscribeDueAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (BacnetTransportException e)
        {
            ForgetSubscriptions(); // a device that was away may have restarted without them
            if (++_timeoutsInRow >= TimeoutsBeforeRediscovery && _device.Address is null && _device.DeviceInstance is int instance)
            {
                _address = null; // it may have moved: ask again next time
                _lease.Resource.Forget(instance);
            }
            throw new BacnetTransportException($"device {Name} ({_address?.ToString() ?? _device.Endpoint}): {e.Message}", e);
        }
    }

    private async Task LocateAsync(CancellationToken cancellationToken)
    {
        var transport = _lease.Resource;
        if (_address is null)
        {
            int instance = _device.DeviceInstance!.Value;
            if (!transport.TryGetSeen(instance, out var found))
            {
                // A global broadcast (DNET 65535) also reaches devices behind routers; a network number narrows it to that network.
                var route = _device.Route.IsLocal ? new BacnetRoute(BacnetRoute.GlobalBroadcast, 0, 0) : _device.Route;
                found = await transport.WhoIsAsync(instance, _section.BroadcastAddress, broadcast: true, route, _device.Timeout, _device.Retries, cancellationToken).ConfigureAwait(false);
            }
            _address = found.Address;
            _iAm = found.IAm;
            _probed = true;
            Log.Info($"bacnet/{Name}: device {instance} answers at {_address} (max APDU {found.IAm.MaxApdu}, segmentation {SegmentationName(found.IAm.Segmentation)}, vendor {found.IAm.VendorId})");
        }
        else if (!_probed && _device.DeviceInstance is int instance)
        {
            // A directed Who-Is tells the device's max APDU and segmentation; a device that stays silent is polled with the defaults.
            try
            {
                var found = await transport.WhoIsAsync(instance, _address.Value.EndPoint, broadcast: false, _address.Value.Route, _device.Timeout, 0, cancellationToken).ConfigureAwait(false);
                _iAm = found.IAm;
                _probed = true;
            }
            // Only silence means "wrong instance?"; a socket that cannot even be bound is the
            // poll's failure, reported as such (and the probe runs again once it binds).
            catch (BacnetTransportException e) when (e.InnerException is not System.Net.Sockets.SocketException)
            {
                _probed = true;
                Log.Warning($"bacnet/{Name}: no I-Am from {_address} for device_instance {instance} (wrong instance?); reading it with max APDU {DeviceMaxApdu}, no segmentation");
            }
        }
    }

    private static string SegmentationName(int s) => s switch { 0 => "both", 1 => "transmit", 2 => "receive", _ => "none" };

    /// <param name="full">Also the objects whose changes come by COV (their safety read is due).</param>
    private List<Read> BuildReads(bool full)
    {
        // Grouped by object, so each object is named once in a ReadPropertyMultiple request.
        var reads = new List<Read>(_device.Objects.Count * 3);
        for (int i = 0; i < _device.Objects.Count; i++)
        {
            var o = _device.Objects[i];
            if (!full && _units[i] is not null && Subscribed(i)) continue;
            reads.Add(new Read(i, Slot.Value, o.Reference));
            if (o.StatusFlags) reads.Add(new Read(i, Slot.StatusFlags, new PropertyReference(o.Object, BacnetServices.StatusFlags)));
            if (_units[i] is null) reads.Add(new Read(i, Slot.Units, new PropertyReference(o.Object, BacnetServices.Units)));
        }
        // Every object comes by COV: one value is still read each interval, so a device that went
        // away fails its poll (and is subscribed again when it is back) instead of looking fine.
        if (reads.Count == 0 && _device.Objects.Count > 0) reads.Add(new Read(0, Slot.Value, _device.Objects[0].Reference));
        return reads;
    }

    private async Task ReadMultipleAsync(List<Read> reads, PropertyResult?[] results, string?[] failures, CancellationToken cancellationToken)
    {
        var references = new PropertyReference[reads.Count];
        for (int i = 0; i < references.Length; i++) references[i] = reads[i].Reference;
        var queue = new LinkedList<PlannedRead>(ReadPlanner.Plan(references, DeviceMaxApdu, AnswerLimit));
        var buffer = new byte[Apdu.MaxApduLength];
        var decoded = new List<PropertyResult>();
        while (queue.First is { } node)
        {
            var part = node.Value;
            queue.RemoveFirst();
            if (!_readMultiple)
            {
                await ReadEachAsync(reads, part.Start, part.Count, results, failures, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (!BacnetServices.TryWriteReadPropertyMultiple(buffer, references.AsSpan(part.Start, part.Count), out int n))
                throw new BacnetTransportException($"read-property-multiple request of {part.Count} properties does not fit {buffer.Length} octets");
            RequestsLastPoll++;
            var reply = await _lease.Resource.RequestAsync(_address!.Value, BacnetService.ReadPropertyMultiple, buffer.AsMemory(0, n), Limits, cancellationToken).ConfigureAwait(false);
            if (reply.Kind == ReplyKind.Ack)
            {
                decoded.Clear();
                try
                {
                    BacnetServices.ReadReadPropertyMultipleAck(reply.Data, decoded);
                }
                catch (BacnetFormatException e)
                {
                    throw new BacnetTransportException($"malformed read-property-multiple answer: {e.Message}", e);
                }
                Match(reads, part, decoded, results, failures);
                continue;
            }
            if (reply.ServiceUnsupported)
            {
                _readMultiple = false;
                Log.Info($"bacnet/{Name}: read-property-multiple refused ({reply.Describe()}); reading one property per read-property request from now on");
                queue.AddFirst(part);
                continue;
            }
            if (part.Count > 1)
            {
                // Too big for the device, or one bad object spoils the request on some devices: halve it, and plan smaller from now on when it was the size.
                int half = part.Count / 2;
                if (reply.TooBig)
                {
                    _answerCap = Math.Max(64, Math.Min(_answerCap, AnswerLimit) / 2);
                    Log.Info($"bacnet/{Name}: read-property-multiple of {part.Count} properties refused ({reply.Describe()}); planning answers of at most {_answerCap} octets from now on");
                }
                queue.AddFirst(new PlannedRead(part.Start + half, part.Count - half));
                queue.AddFirst(new PlannedRead(part.Start, half));
                continue;
            }
            // One property refused as a whole request: ReadProperty tells its own error.
            await ReadEachAsync(reads, part.Start, part.Count, results, failures, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Pairs the answer's results with the reads of the request, in order; a read the answer left out is a failure.</summary>
    private static void Match(List<Read> reads, PlannedRead part, List<PropertyResult> decoded, PropertyResult?[] results, string?[] failures)
    {
        int cursor = part.Start, end = part.Start + part.Count;
        foreach (var result in decoded)
        {
            for (int j = cursor; j < end; j++)
            {
                var r = reads[j].Reference;
                if (r.Object == result.Reference.Object && r.Property == result.Reference.Property && (result.Reference.ArrayIndex is null || result.Reference.ArrayIndex == r.ArrayIndex))
                {
                    results[j] = result;
                    cursor = j + 1;
                    break;
                }
            }
        }
        for (int j = part.Start; j < end; j++)
        {
            if (results[j] is null) failures[j] = "missing from the read-property-multiple answer";
        }
    }

    private async Task ReadEachAsync(List<Read> reads, int start, int count, PropertyResult?[] results, string?[] failures, CancellationToken cancellationToken)
    {
        var buffer = new byte[32];
        for (int j = start; j < start + count; j++)
        {
            var reference = reads[j].Reference;
            BacnetServices.TryWriteReadProperty(buffer, reference, out int n);
            RequestsLastPoll++;
            var reply = await _lease.Resource.RequestAsync(_address!.Value, BacnetService.ReadProperty, buffer.AsMemory(0, n), Limits, cancellationToken).ConfigureAwait(false);
            switch (reply.Kind)
            {
                case ReplyKind.Ack:
                    try
                    {
                        results[j] = BacnetServices.ReadReadPropertyAck(reply.Data);
                    }
                    catch (BacnetFormatException e)
                    {
                        throw new BacnetTransportException($"malformed read-property answer for {reference}: {e.Message}", e);
                    }
                    break;
                case ReplyKind.Error:
                    results[j] = new PropertyResult(reference) { Error = reply.Error };
                    break;
                default:
                    failures[j] = reply.Describe();
                    break;
            }
        }
    }

    private void Store(List<Read> reads, PropertyResult?[] results, string?[] failures, long timestamp, SampleBatch batch, PollReport report)
    {
        for (int j = 0; j < reads.Count; j++)
        {
            if (reads[j].Slot != Slot.Units) continue;
            int o = reads[j].Object;
            var r = results[j];
            if (r is { Error: null, Values.Count: > 0 } && r.Values[0].Tag == ApplicationTag.Enumerated)
                _units[o] = BacnetNames.UnitsName((int)Math.Min(r.Values[0].Enumerated, int.MaxValue));
            else if (r is not null)
                _units[o] = NoUnits; // binary, multi-state and most non-analog objects have no Units property
        }
        int stored = 0, refused = 0;
        string? firstRefusal = null;
        for (int j = 0; j < reads.Count; j++)
        {
            var read = reads[j];
            if (read.Slot == Slot.Units) continue;
            var o = _device.Objects[read.Object];
            string key = read.Slot == Slot.Value ? o.Key : o.StatusFlagsKey;
            string what = $"device {Name}: {read.Reference}";
            string? problem = failures[j];
            var result = results[j];
            if (problem is null && result?.Error is BacnetError error) problem = error.ToString();
            if (problem is not null)
            {
                report.Skip($"{key}: {what}: {problem}");
                refused++;
                firstRefusal ??= $"{what}: {problem}";
                continue;
            }
            if (result is null) continue;
            if (_units[read.Object] is null)
            {
                report.Skip($"{key}: {what}: units not read yet");
                continue;
            }
            if (!TryValue(result, out var value, out problem))
            {
                report.Skip($"{key}: {what}: {problem}");
                continue;
            }
            if (read.Slot == Slot.StatusFlags)
            {
                if (value.Tag != ApplicationTag.BitString) { report.Skip($"{key}: {what}: expected a bit string, got {value.Tag}"); continue; }
                _statusSeries[read.Object] ??= new SeriesKey(_agent, key, DataType.Integer, _device.Interval,
                    [new("object", o.Object.ToString())]);
                batch.Add(_statusSeries[read.Object]!, timestamp, value.BitMask & 0xF);
                stored++;
                continue;
            }
            var type = DataTypeOf(value);
            var series = _valueSeries[read.Object] ??= new SeriesKey(_agent, key, type, _device.Interval, Metadata(read.Object));
            if ((series.DataType == DataType.String) != (type == DataType.String))
            {
                report.Skip($"{key}: {what}: the value is now {value.Tag}, stored as {series.DataType.Name()} until now");
                continue;
            }
            if (type == DataType.String) batch.AddText(series, timestamp, value.ToString());
            else batch.Add(series, timestamp, value.ToDouble());
            stored++;
        }
        if (stored == 0 && refused > 0)
            throw new BacnetDeviceException(refused > 1 ? $"{firstRefusal} (every value was refused)" : firstRefusal!);
    }

    private List<KeyValuePair<string, string>> Metadata(int objectIndex)
    {
        var o = _device.Objects[objectIndex];
        var list = new List<KeyValuePair<string, string>> { new("object", o.Object.ToString()), new("units", _units[objectIndex] ?? NoUnits) };
        if (o.Property != BacnetServices.PresentValue || o.ArrayIndex is not null)
            list.Add(new("property", o.ArrayIndex is uint i ? $"{BacnetNames.PropertyName(o.Property)}[{i.ToString(CultureInfo.InvariantCulture)}]" : BacnetNames.PropertyName(o.Property)));
        return list;
    }

    /// <summary>REAL and Double are floats; Boolean, Unsigned, Signed, Enumerated and BitString integers; the rest strings.</summary>
    internal static DataType DataTypeOf(in BacnetValue v) => v.Tag switch
    {
        ApplicationTag.Real or ApplicationTag.Double => DataType.Float,
        ApplicationTag.Boolean or ApplicationTag.Unsigned or ApplicationTag.Signed or ApplicationTag.Enumerated or ApplicationTag.BitString => DataType.Integer,
        _ => DataType.String,
    };

    private static bool TryValue(PropertyResult result, out BacnetValue value, out string? problem)
    {
        value = default;
        problem = null;
        if (result.Constructed) problem = "is a constructed value (not supported)";
        else if (result.Values.Count == 0) problem = "the device returned no value";
        else if (result.Values.Count > 1) problem = $"the device returned {result.Values.Count} values (a list or an array): set array_index";
        else if (result.Values[0].Tag == ApplicationTag.Null) problem = "is null";
        else if (result.Values[0].Tag is ApplicationTag.Real && !float.IsFinite(result.Values[0].Real)) problem = $"is {result.Values[0]}";
        else if (result.Values[0].Tag is ApplicationTag.Double && !double.IsFinite(result.Values[0].Double)) problem = $"is {result.Values[0]}";
        if (problem is not null) return false;
        value = result.Values[0];
        return true;
    }

    public ValueTask DisposeAsync()
    {
        if (_covProcessId != 0) _lease.Resource.UnregisterCovSink(_covProcessId);
        return _lease.DisposeAsync();
    }
}
