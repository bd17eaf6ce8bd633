using Pattoo.Edge.Alerts;
using Pattoo.Edge.Api;
using Pattoo.Edge.Common;
using Pattoo.Edge.Control;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Write;

/// <summary>
/// A device point in memory, for the write service's own tests: it records every value that
/// reaches it, and can clamp, refuse or time out as devices do. Protocol writes are tested
/// against the real peers; this checks what the service lets through to any of them.
/// </summary>
internal sealed class RecordingTarget : IPollTarget, IWritableTarget
{
    private readonly List<WritablePoint> _points = [];

    public RecordingTarget(params (string Key, WriteLimits Limits, double Value)[] points)
    {
        var agent = AgentIdentity.ForPoller("box", "modbus", "plc");
        foreach (var (key, limits, value) in points)
        {
            _points.Add(new WritablePoint(new SeriesKey(agent, key, limits.Kind == WriteKind.Text ? DataType.String : DataType.Float, TimeSpan.FromSeconds(10)), limits, $"holding {_points.Count}", false, _points.Count));
            Values.Add(value);
        }
    }

    public List<double> Values { get; } = [];
    public List<(string Key, PointValue Value)> Received { get; } = [];
    public int Reads;
    public double? ClampAt;
    public Exception? FailWrite;
    public Exception? FailRead;

    public string Program => "modbus";
    public string Name => "plc";
    public TimeSpan Interval => TimeSpan.FromSeconds(10);
    public string ConfigFingerprint => "recording";
    public IReadOnlyList<WritablePoint> WritablePoints => _points;

    public Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        Reads++;
        if (FailRead is { } e) throw e;
        return Task.FromResult(PointValue.Of(Values[point.Index]));
    }

    /// <summary>Runs as a value reaches the device (to look at the store meanwhile).</summary>
    public Action? OnWrite;

    public Task WritePointAsync(WritablePoint point, PointValue value, CancellationToken cancellationToken)
    {
        if (FailWrite is { } e) throw e;
        OnWrite?.Invoke();
        Received.Add((point.Series.Key, value));
        Values[point.Index] = ClampAt is { } c ? Math.Min(c, value.Number) : value.Number;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Stores one sample of every point, so each has its datapoint; their idx by key.</summary>
    public async Task<Dictionary<string, long>> StoreAsync(TimeSeriesStore store)
    {
        var batch = new SampleBatch(8);
        foreach (var p in _points) batch.Add(p.Series, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Values[p.Index]);
        await store.WriteAsync(batch, CancellationToken.None);
        return _points.ToDictionary(p => p.Series.Key, p => store.ListDatapoints().Single(d => d.Checksum == p.Series.Checksum).IdxDatapoint);
    }
}

/// <summary>The appliance as the API sees it, around a store and a write service.</summary>
internal sealed class WriteApplianceState(TimeSeriesStore store, WriteService writes) : IApplianceState
{
    public string Name => "box";
    public string Version => "0.0.0";
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public TimeSeriesStore Store => store;
    public IReadOnlyList<TargetState> Targets => [];
    public IReadOnlyList<ForwarderStatus> Forwarders => [];
    public IReadOnlyList<IListenerStatus> Listeners => [];
    public IReadOnlyList<ActiveAlert> Alerts => [];
    public ApiOptions Api { get; } = new();
    public WriteService Writes => writes;

    public Task<string> DiscoverAsync(IReadOnlyList<string> arguments, Action<string> progress, CancellationToken cancellationToken)
        => throw new NotSupportedException();
}
