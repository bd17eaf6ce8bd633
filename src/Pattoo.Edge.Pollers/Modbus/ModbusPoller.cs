using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// One Modbus unit (a <c>[[modbus.devices]]</c> entry): every cycle it runs the device's
/// request plan over its (possibly shared) link and stores each value under program "modbus",
/// target = device name, key = value key, metadata unit_id.
/// A timeout or lost connection fails the whole poll (a dead unit costs one timeout per attempt,
/// then the link is free for the other units); an exception answer skips only the values of
/// that request, and a merged request refused with "illegal data address/value" is split
/// into one request per value from then on, so one bad address does not hide its neighbours.
/// </summary>
public sealed partial class ModbusPoller : IPollTarget, IPollTargetDiagnostics, IWritableTarget
{
    private readonly ModbusDeviceOptions _device;
    private readonly Lease<ModbusLink> _lease;
    private readonly SeriesKey[] _series;
    private readonly IReadOnlyList<PlanItem> _items;
    private readonly List<PlannedRequest> _plan;
    private readonly byte[] _response = new byte[ModbusPdu.MaxLength];
    private long _exceptionAnswers;

    internal ModbusPoller(AgentIdentity agent, ModbusDeviceOptions device, Lease<ModbusLink> lease)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(device);
        if (agent.Program != ModbusOptions.ProgramName)
            throw new ArgumentException($"the Modbus poller stores under program '{ModbusOptions.ProgramName}', not '{agent.Program}'", nameof(agent));
        _device = device;
        _lease = lease;
        var metadata = new[] { new KeyValuePair<string, string>("unit_id", device.UnitId.ToString(CultureInfo.InvariantCulture)) };
        _series = new SeriesKey[device.Values.Count];
        for (int i = 0; i < _series.Length; i++)
            _series[i] = new SeriesKey(agent, device.Values[i].Key, device.Values[i].DataType, device.Interval, metadata);
        WritablePoints = [.. device.Values.Select((v, i) => v.Write is null ? null
            : new WritablePoint(_series[i], v.Write, $"{v.Table.Name()} {v.Address} ({(v.Table.IsBits() ? "bit" : v.Type.Name())}), unit {device.UnitId}", false, i)).OfType<WritablePoint>()];
        _items = device.PlanItems();
        _plan = RequestPlanner.Plan(_items, device.Limits);
        ConfigFingerprint = device.Fingerprint();
    }

    public string Program => ModbusOptions.ProgramName;
    public string Name => _device.Name;
    public TimeSpan Interval => _device.Interval;
    public string ConfigFingerprint { get; }

    public ModbusDeviceOptions Device => _device;

    /// <summary>Requests one cycle costs now (it grows when a refused merged request was split).</summary>
    public int RequestsPerCycle => _plan.Count;

    /// <summary>What the link this device uses (shared with others on the same port or address) has seen.</summary>
    public Counters<ModbusLinkCounter> LinkStatistics => _lease.Resource.Statistics;

    /// <summary>Exception answers this device received.</summary>
    public long ExceptionAnswers => Interlocked.Read(ref _exceptionAnswers);

    /// <summary>link.*: the TCP connection or serial port, shared with the other devices on it.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Diagnostics
    {
        get
        {
            var list = new List<KeyValuePair<string, long>> { new("requestsPerCycle", RequestsPerCycle), new("exceptionAnswers", ExceptionAnswers) };
            LinkStatistics.AppendTo(list, "link.");
            return list;
        }
    }

    public async Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(report);
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string? firstRefusal = null;
        int refused = 0;
        for (int r = 0; r < _plan.Count; r++)
        {
            var request = _plan[r];
            int length;
            try
            {
                length = await _lease.Resource.ReadAsync(_device.UnitId, request.Function, request.Address, request.Count, _response,
                    _device.Timeout, _device.Retries, cancellationToken).ConfigureAwait(false);
            }
            catch (ModbusTransportException e)
            {
                throw new ModbusTransportException(e.Failure, $"{Context(request)}: {e.Message}", e);
            }
            var code = Decode(request, length, timestamp, batch, report);
            if (code == ModbusExceptionCode.None) continue;

            Interlocked.Increment(ref _exceptionAnswers);
            string message = $"{Context(request)}: {code.Describe()}";
            if (code.IsUnitUnavailable()) throw new ModbusDeviceException(message, code);
            if (request.Items.Count > 1 && code is ModbusExceptionCode.IllegalDataAddress or ModbusExceptionCode.IllegalDataValue)
            {
                var parts = RequestPlanner.Split(request, _items);
                _plan.RemoveAt(r);
                _plan.InsertRange(r, parts);
                Log.Info($"modbus/{Name}: {message}; reading its {parts.Count} values one request each from now on");
                r--;
                continue;
            }
            foreach (int i in request.Items) report.Skip($"{_device.Values[i].Key}: {message}");
            refused += request.Items.Count;
            firstRefusal ??= message;
        }
        if (batch.Count == 0 && firstRefusal is not null)
            throw new ModbusDeviceException(refused > 1 ? $"{firstRefusal} (every value was refused)" : firstRefusal, ModbusExceptionCode.None);
    }

    /// <summary>"device plc-1 unit 1: read holding registers (3) at 100, 4 registers".</summary>
    private string Context(PlannedRequest request)
        => string.Create(CultureInfo.InvariantCulture,
            $"device {Name} unit {_device.UnitId}: {request.Function.Describe()} at {request.Address}, {request.Count} {(request.Table.IsBits() ? "bit" : "register")}{(request.Count == 1 ? "" : "s")}");

    private ModbusExceptionCode Decode(PlannedRequest request, int length, long timestamp, SampleBatch batch, PollReport report)
    {
        var code = ModbusPdu.ReadResponse(_response.AsSpan(0, length), request.Function, request.Count, out var data);
        if (code != ModbusExceptionCode.None) return code;
        foreach (int i in request.Items)
        {
            var value = _device.Values[i];
            var series = _series[i];
            int offset = value.Address - request.Address;
            if (request.Table.IsBits())
            {
                batch.Add(series, timestamp, RegisterDecoder.ReadBit(data, offset) ? 1 : 0);
                continue;
            }
            var wire = data.Slice(offset * 2, value.Count * 2);
            switch (value.Type)
            {
                case ModbusValueType.Bool:
                    batch.Add(series, timestamp, RegisterDecoder.DecodeRegisterBit(wire, value.ByteOrder, value.Bit ?? 0) ? 1 : 0);
                    break;
                case ModbusValueType.String:
                    batch.AddText(series, timestamp, RegisterDecoder.DecodeString(wire, value.ByteOrder));
                    break;
                default:
                    double number = RegisterDecoder.DecodeNumber(wire, value.Type, value.ByteOrder);
                    if (!double.IsFinite(number))
                    {
                        report.Skip($"{value.Key}: the {value.Type.Name()} at {value.Address} is {(double.IsNaN(number) ? "NaN" : "infinite")}");
                        break;
                    }
                    batch.Add(series, timestamp, number * value.Scale + value.Offset);
                    break;
            }
        }
        return ModbusExceptionCode.None;
    }

    public ValueTask DisposeAsync() => _lease.DisposeAsync();
}
