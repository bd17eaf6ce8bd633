using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>Change of value: the subscriptions of a device's <c>cov</c> objects and their notifications.</summary>
public sealed partial class BacnetPoller
{
    private readonly Func<SampleBatch, Task>? _push;
    /// <summary>Per object: when its subscription is renewed (Environment.TickCount64 ms); 0: not subscribed.</summary>
    private readonly long[] _covRenewAt;
    /// <summary>Per object: the device refused to subscribe it; it is polled.</summary>
    private readonly bool[] _covRefused;
    private readonly SampleBatch _covPending = new(16);
    private uint _covProcessId;
    private bool _covRefusalLogged;
    private long _lastFullReadAt;
    private long _covNotifications;

    /// <summary>Objects subscribed now.</summary>
    public int CovSubscriptions
    {
        get
        {
            int n = 0;
            for (int i = 0; i < _covRenewAt.Length; i++) if (Subscribed(i)) n++;
            return n;
        }
    }

    private bool Subscribed(int objectIndex) => _device.Objects[objectIndex].Cov && Volatile.Read(ref _covRenewAt[objectIndex]) != 0;

    private void ForgetSubscriptions()
    {
        for (int i = 0; i < _covRenewAt.Length; i++) Volatile.Write(ref _covRenewAt[i], 0);
    }

    /// <summary>Subscribes the cov objects whose units are known and whose subscription is missing or half through its lifetime.</summary>
    private async Task SubscribeDueAsync(CancellationToken cancellationToken)
    {
        long now = Environment.TickCount64;
        long lifetimeMs = (long)_device.CovLifetime.TotalMilliseconds;
        var buffer = new byte[32];
        for (int i = 0; i < _device.Objects.Count; i++)
        {
            var o = _device.Objects[i];
            if (!o.Cov || _covRefused[i] || _units[i] is null) continue;
            long renewAt = Volatile.Read(ref _covRenewAt[i]);
            if (renewAt != 0 && now < renewAt) continue;
            if (_covProcessId == 0) _covProcessId = _lease.Resource.RegisterCovSink(OnCov);
            BacnetServices.TryWriteSubscribeCov(buffer, _covProcessId, o.Object, _device.CovConfirmed, (uint)_device.CovLifetime.TotalSeconds, out int n);
            RequestsLastPoll++;
            var reply = await _lease.Resource.RequestAsync(_address!.Value, BacnetService.SubscribeCov, buffer.AsMemory(0, n), Limits, cancellationToken).ConfigureAwait(false);
            if (reply.Kind == ReplyKind.Ack)
            {
                if (renewAt == 0) Log.Debug($"bacnet/{Name}: subscribed {o.Object} for {Duration.Format(_device.CovLifetime)} ({(_device.CovConfirmed ? "confirmed" : "unconfirmed")} notifications)");
                Volatile.Write(ref _covRenewAt[i], now + lifetimeMs / 2);
                continue;
            }
            // Refused: this object (or, when the service is not supported, every object) is polled every interval.
            bool whole = reply.ServiceUnsupported || reply.Kind is ReplyKind.Reject;
            for (int j = 0; j < _covRefused.Length; j++) if (whole || j == i) _covRefused[j] = true;
            Volatile.Write(ref _covRenewAt[i], 0);
            if (!_covRefusalLogged || !whole)
                Log.Warning($"bacnet/{Name}: SubscribeCOV for {o.Object} refused ({reply.Describe()}); {(whole ? "every object of this device is" : "it is")} polled every {Duration.Format(_device.Interval)} instead");
            _covRefusalLogged |= whole;
            if (whole) return;
        }
    }

    /// <summary>On the transport's receive loop: a notification's present value and status flags as samples, stored at once (or with the next poll).</summary>
    private void OnCov(CovNotification n, DeviceAddress from)
    {
        int i = -1;
        for (int j = 0; j < _device.Objects.Count; j++)
            if (_device.Objects[j].Cov && _device.Objects[j].Object == n.Object) { i = j; break; }
        if (i < 0 || _units[i] is null) return;
        Interlocked.Increment(ref _covNotifications);
        var o = _device.Objects[i];
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new SampleBatch(2);
        foreach (var result in n.Values)
        {
            if (!TryValue(result, out var value, out var problem))
            {
                Log.Debug($"bacnet/{Name}: COV notification of {o.Object} {BacnetNames.PropertyName(result.Reference.Property)} from {from}: {problem}");
                continue;
            }
            if (result.Reference.Property == BacnetServices.PresentValue)
            {
                var type = DataTypeOf(value);
                var series = _valueSeries[i] ??= new SeriesKey(_agent, o.Key, type, _device.Interval, Metadata(i));
                if ((series.DataType == DataType.String) != (type == DataType.String)) continue;
                if (type == DataType.String) batch.AddText(series, timestamp, value.ToString());
                else batch.Add(series, timestamp, value.ToDouble());
            }
            else if (result.Reference.Property == BacnetServices.StatusFlags && o.StatusFlags && value.Tag == ApplicationTag.BitString)
            {
                var series = _statusSeries[i] ??= new SeriesKey(_agent, o.StatusFlagsKey, DataType.Integer, _device.Interval, [new("object", o.Object.ToString())]);
                batch.Add(series, timestamp, value.BitMask & 0xF);
            }
        }
        if (batch.Count == 0) return;
        if (_push is { } push)
        {
            _ = Task.Run(async () =>
            {
                try { await push(batch).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { Log.Warning($"bacnet/{Name}: a COV notification of {o.Object} was not stored: {e.Message}"); }
            });
            return;
        }
        lock (_covPending)
        {
            foreach (ref readonly var sample in batch.Items)
            {
                if (sample.Text is { } text) _covPending.AddText(sample.Series, sample.TimestampMs, text);
                else _covPending.Add(sample.Series, sample.TimestampMs, sample.Value);
            }
        }
    }

    /// <summary>Notifications received since the last poll, when there is nowhere to push them: they go with this poll.</summary>
    private void TakePendingCov(SampleBatch batch)
    {
        lock (_covPending)
        {
            foreach (ref readonly var sample in _covPending.Items)
            {
                if (sample.Text is { } text) batch.AddText(sample.Series, sample.TimestampMs, text);
                else batch.Add(sample.Series, sample.TimestampMs, sample.Value);
            }
            _covPending.Clear();
        }
    }
}
