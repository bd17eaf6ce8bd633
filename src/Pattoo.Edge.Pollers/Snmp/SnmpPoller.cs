using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>
/// One SNMP agent ([[snmp.targets]] entry). Each poll reads the scalar OIDs with as few
/// GetRequests as fit (split in halves on tooBig), walks every table column at once with
/// GetBulkRequest (GetNextRequest for SNMPv1), then turns the values into samples. Series
/// keys are made on first sight of a value and reused, so steady polls allocate little.
/// </summary>
public sealed partial class SnmpPoller : IPollTarget, IPollTargetDiagnostics, IWritableTarget
{
    public const string ProgramName = "snmp";

    /// <summary>A walk stops at this many rows per column: a guard against agents that loop.</summary>
    public const int MaxRowsPerColumn = 100_000;

    private readonly AgentIdentity _agent;
    private readonly SnmpTargetOptions _options;
    private readonly Lease<SnmpTransport> _lease;
    private readonly SnmpTransport _transport;
    private readonly SemaphoreSlim _limiter;
    private readonly SnmpSession _session;
    private readonly Scalar[] _scalars;
    private readonly Column[] _columns;
    private readonly Metric[] _metrics;
    private readonly ReadOnlyMemory<byte>[] _request;
    private readonly List<int> _todo = new();
    private readonly List<Column> _active = new();
    private int _getWidth;
    private int _walkWidth;
    private int _repetitions;
    private int _cycle;
    private int _disposed;

    private sealed class Scalar(byte[] oid, string text)
    {
        public readonly byte[] Oid = oid;
        public readonly string Text = text;
        public readonly ValueSlot Slot = new();
    }

    private sealed class Row(byte[] index) : ValueSlot
    {
        public readonly byte[] Index = index;
        private string? _indexText;
        public string IndexText => _indexText ??= Protocols.Snmp.Oid.FormatSuffix(Index);
    }

    private sealed class Column(byte[] prefix, string text)
    {
        public readonly byte[] Prefix = prefix;
        public readonly string Text = text;
        public readonly Dictionary<byte[], Row> Rows = new(ByteKeyComparer.Instance);
        public readonly byte[] Last = new byte[Protocols.Snmp.Oid.MaxArcs * 5];
        public int LastLength;
        public bool Done;
        public bool Complete;
        public int RowCount;

        public Dictionary<byte[], Row>.AlternateLookup<ReadOnlySpan<byte>> Lookup => Rows.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    private sealed class Series(SeriesKey key, string?[] labelValues, string? index)
    {
        public readonly SeriesKey Key = key;
        public readonly string?[] LabelValues = labelValues;
        public readonly string? Index = index;
    }

    private sealed class Metric(SnmpOidOptions options)
    {
        public readonly SnmpOidOptions Options = options;
        public Scalar? Scalar;
        public Column? Column;
        public Scalar?[] LabelScalars = [];
        public Column?[] LabelColumns = [];
        public Series? Single;
        public readonly Dictionary<byte[], Series> ByRow = new(ByteKeyComparer.Instance);
        public string?[] LabelScratch = [];
    }

    internal SnmpPoller(AgentIdentity agent, SnmpTargetOptions options, Lease<SnmpTransport> transport, SemaphoreSlim limiter)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(options);
        if (agent.Program != ProgramName) throw new ArgumentException($"the SNMP poller stores under program '{ProgramName}', not '{agent.Program}'", nameof(agent));
        _agent = agent;
        _options = options;
        _lease = transport;
        _transport = transport.Resource;
        _limiter = limiter;
        _session = new SnmpSession(options, _transport);
        ConfigFingerprint = options.Fingerprint();

        var scalars = new Dictionary<string, Scalar>(StringComparer.Ordinal);
        var columns = new Dictionary<string, Column>(StringComparer.Ordinal);
        Scalar ScalarFor(string oid) => scalars.TryGetValue(oid, out var s) ? s : scalars[oid] = new Scalar(Protocols.Snmp.Oid.Parse(oid), oid);
        Column ColumnFor(string oid) => columns.TryGetValue(oid, out var c) ? c : columns[oid] = new Column(Protocols.Snmp.Oid.Parse(oid), oid);
        var metrics = new List<Metric>();
        foreach (var o in options.Oids)
        {
            var m = new Metric(o) { LabelScratch = new string?[o.Labels.Count] };
            if (o.Walk)
            {
                m.Column = ColumnFor(o.Oid);
                m.LabelColumns = o.Labels.Select(l => (Column?)ColumnFor(l.Value)).ToArray();
            }
            else
            {
                m.Scalar = ScalarFor(o.Oid);
                m.LabelScalars = o.Labels.Select(l => (Scalar?)ScalarFor(l.Value)).ToArray();
            }
            metrics.Add(m);
        }
        _scalars = scalars.Values.ToArray();
        _columns = columns.Values.ToArray();
        _metrics = metrics.ToArray();
        _request = new ReadOnlyMemory<byte>[Math.Max(1, options.MaxOidsPerRequest)];
        _getWidth = options.MaxOidsPerRequest;
        _walkWidth = options.MaxOidsPerRequest;
        _repetitions = options.MaxRepetitions;
    }

    public string Program => ProgramName;
    public string Name => _options.Name;
    public TimeSpan Interval => _options.Interval;
    public string ConfigFingerprint { get; }
    public SnmpTargetOptions Options => _options;

    /// <summary>socket.*: the one UDP socket every SNMP target shares.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Diagnostics
    {
        get
        {
            var list = new List<KeyValuePair<string, long>>();
            _transport.Counters.AppendTo(list, "socket.");
            return list;
        }
    }

    public async Task PollAsync(SampleBatch batch, PollReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(report);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _limiter.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _exchange.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            int cycle = ++_cycle;
            if (_scalars.Length > 0) await GetScalarsAsync(cycle, report, cancellationToken).ConfigureAwait(false);
            if (_columns.Length > 0) await WalkAsync(cycle, report, cancellationToken).ConfigureAwait(false);
            Emit(batch, report, timestamp, cycle);
        }
        finally
        {
            _exchange.Release();
            _limiter.Release();
        }
    }

    private async Task GetScalarsAsync(int cycle, PollReport report, CancellationToken ct)
    {
        _todo.Clear();
        for (int i = 0; i < _scalars.Length; i++) _todo.Add(i);
        int pos = 0;
        while (pos < _todo.Count)
        {
            int take = Math.Min(_getWidth, _todo.Count - pos);
            for (int k = 0; k < take; k++) _request[k] = _scalars[_todo[pos + k]].Oid;
            var r = await _session.RequestAsync(PduType.GetRequest, _request, take, 0, 0, ct).ConfigureAwait(false);
            var status = (SnmpErrorStatus)r.Header.ErrorStatus;
            if (status == SnmpErrorStatus.TooBig)
            {
                if (take > 1) { _getWidth = Math.Max(1, take / 2); continue; }
                Skip(report, _scalars[_todo[pos]], cycle, "the answer does not fit one message (tooBig)");
                pos++;
                continue;
            }
            if (status == SnmpErrorStatus.NoSuchName && r.Header.ErrorIndex >= 1 && r.Header.ErrorIndex <= take)
            {
                // SNMPv1 refuses the whole request for one missing name: drop it and ask again.
                int at = pos + r.Header.ErrorIndex - 1;
                Skip(report, _scalars[_todo[at]], cycle, "noSuchName");
                _todo.RemoveAt(at);
                continue;
            }
            if (status != SnmpErrorStatus.NoError)
            {
                for (int k = 0; k < take; k++) Skip(report, _scalars[_todo[pos + k]], cycle, $"the agent answered {status.Name()}");
                pos += take;
                continue;
            }
            ReadGetResponse(r, pos, take, cycle, report);
            pos += take;
        }
    }

    private void ReadGetResponse(SnmpResponse r, int pos, int take, int cycle, PollReport report)
    {
        var reader = new VarbindReader(r.Buffer, r.Header.Varbinds);
        int k = 0;
        while (k < take && reader.TryRead(out var vb))
        {
            var s = _scalars[_todo[pos + k]];
            k++;
            if (!vb.Oid.SequenceEqual(s.Oid))
            {
                Skip(report, s, cycle, $"the agent answered for another OID ({Protocols.Snmp.Oid.Format(vb.Oid)})");
                continue;
            }
            if (!s.Slot.Store(vb, cycle, out var problem)) report.Skip($"{s.Text}: {problem}");
        }
        for (; k < take; k++) Skip(report, _scalars[_todo[pos + k]], cycle, "missing from the response");
    }

    private static void Skip(PollReport report, Scalar s, int cycle, string why)
    {
        s.Slot.Present = false;
        s.Slot.Stamp = cycle;
        report.Skip($"{s.Text}: {why}");
    }

    private async Task WalkAsync(int cycle, PollReport report, CancellationToken ct)
    {
        _active.Clear();
        foreach (var c in _columns)
        {
            c.Prefix.CopyTo(c.Last, 0);
            c.LastLength = c.Prefix.Length;
            c.Done = false;
            c.Complete = false;
            c.RowCount = 0;
            _active.Add(c);
        }
        bool bulk = _session.Version != SnmpVersion.V1;
        while (_active.Count > 0)
        {
            int width = Math.Min(_walkWidth, _active.Count);
            for (int k = 0; k < width; k++) _request[k] = _active[k].Last.AsMemory(0, _active[k].LastLength);
            var r = bulk
                ? await _session.RequestAsync(PduType.GetBulkRequest, _request, width, 0, _repetitions, ct).ConfigureAwait(false)
                : await _session.RequestAsync(PduType.GetNextRequest, _request, width, 0, 0, ct).ConfigureAwait(false);
            var status = (SnmpErrorStatus)r.Header.ErrorStatus;
            if (status == SnmpErrorStatus.TooBig)
            {
                if (bulk && _repetitions > 1) { _repetitions = Math.Max(1, _repetitions / 2); continue; }
                if (width > 1) { _walkWidth = Math.Max(1, width / 2); continue; }
                End(_active[0], report, "a row does not fit one message (tooBig)");
            }
            else if (status == SnmpErrorStatus.NoSuchName && !bulk && r.Header.ErrorIndex >= 1 && r.Header.ErrorIndex <= width)
            {
                // SNMPv1's way of saying endOfMibView for one of the names.
                var c = _active[r.Header.ErrorIndex - 1];
                c.Done = c.Complete = true;
            }
            else if (status != SnmpErrorStatus.NoError)
            {
                for (int k = 0; k < width; k++) End(_active[k], report, $"the agent answered {status.Name()}");
            }
            else if (ReadWalkResponse(r, width, cycle, report) == 0)
            {
                for (int k = 0; k < width; k++) End(_active[k], report, "the agent answered with no values");
            }
            _active.RemoveAll(static c => c.Done);
        }
    }

    private static void End(Column c, PollReport report, string why)
    {
        c.Done = true;
        report.Skip($"walk of {c.Text}: {why}");
    }

    /// <summary>Reads a GetBulk/GetNext answer: varbind j belongs to column j mod width (RFC 3416 sec 4.2.3).</summary>
    private int ReadWalkResponse(SnmpResponse r, int width, int cycle, PollReport report)
    {
        var reader = new VarbindReader(r.Buffer, r.Header.Varbinds);
        int j = 0;
        while (reader.TryRead(out var vb))
        {
            var c = _active[j % width];
            j++;
            if (c.Done) continue;
            if (vb.Type == SnmpValueType.EndOfMibView || !Protocols.Snmp.Oid.IsUnder(vb.Oid, c.Prefix))
            {
                c.Done = c.Complete = true;
                continue;
            }
            if (Protocols.Snmp.Oid.Compare(vb.Oid, c.Last.AsSpan(0, c.LastLength)) <= 0)
            {
                End(c, report, $"the agent went backwards at {Protocols.Snmp.Oid.Format(vb.Oid)}");
                continue;
            }
            vb.Oid.CopyTo(c.Last);
            c.LastLength = vb.Oid.Length;
            var index = vb.Oid[c.Prefix.Length..];
            var lookup = c.Lookup;
            if (!lookup.TryGetValue(index, out var row))
            {
                var key = index.ToArray();
                row = new Row(key);
                c.Rows[key] = row;
            }
            if (!row.Store(vb, cycle, out var problem)) report.Skip($"{c.Text}.{row.IndexText}: {problem}");
            if (++c.RowCount >= MaxRowsPerColumn) End(c, report, $"stopped after {MaxRowsPerColumn} rows");
        }
        return j;
    }

    private void Emit(SampleBatch batch, PollReport report, long timestamp, int cycle)
    {
        foreach (var m in _metrics)
        {
            if (m.Scalar is { } s)
            {
                if (!s.Slot.Present || s.Slot.Stamp != cycle) continue;
                for (int i = 0; i < m.LabelScalars.Length; i++)
                {
                    var l = m.LabelScalars[i]!.Slot;
                    m.LabelScratch[i] = l.Present && l.Stamp == cycle ? l.Text : null;
                }
                if (!SnmpValueConversion.TryConvert(m.Options, s.Slot, out var type, out double number, out var text, out var problem))
                {
                    report.Skip($"{m.Options.Key} ({s.Text}): {problem}");
                    continue;
                }
                if (m.Single is null || !Same(m.Single, type, m.LabelScratch, null))
                    m.Single = NewSeries(m, type, null);
                Add(batch, m.Single.Key, timestamp, number, text);
                continue;
            }

            var column = m.Column!;
            foreach (var row in column.Rows.Values)
            {
                if (row.Stamp != cycle || !row.Present) continue;
                for (int i = 0; i < m.LabelColumns.Length; i++)
                {
                    m.LabelScratch[i] = m.LabelColumns[i]!.Lookup.TryGetValue(row.Index, out var l) && l.Present && l.Stamp == cycle ? l.Text : null;
                }
                if (!SnmpValueConversion.TryConvert(m.Options, row, out var type, out double number, out var text, out var problem))
                {
                    report.Skip($"{m.Options.Key}.{row.IndexText} ({column.Text}): {problem}");
                    continue;
                }
                if (!m.ByRow.TryGetValue(row.Index, out var series) || !Same(series, type, m.LabelScratch, row.IndexText))
                {
                    series = NewSeries(m, type, row.IndexText);
                    m.ByRow[row.Index] = series;
                }
                Add(batch, series.Key, timestamp, number, text);
            }
        }
        Prune(cycle);
    }

    private static void Add(SampleBatch batch, SeriesKey key, long timestamp, double number, string? text)
    {
        if (key.DataType == DataType.String) batch.AddText(key, timestamp, text ?? "");
        else batch.Add(key, timestamp, number);
    }

    private static bool Same(Series s, DataType type, string?[] labels, string? index)
    {
        if (s.Key.DataType != type || !ReferenceEquals(s.Index, index) && s.Index != index) return false;
        for (int i = 0; i < labels.Length; i++)
            if (!string.Equals(s.LabelValues[i], labels[i], StringComparison.Ordinal)) return false;
        return true;
    }

    private Series NewSeries(Metric m, DataType type, string? index)
    {
        var metadata = new List<KeyValuePair<string, string>>(m.LabelScratch.Length + 1);
        if (index is not null) metadata.Add(new("index", index));
        for (int i = 0; i < m.LabelScratch.Length; i++)
            if (m.LabelScratch[i] is { } v) metadata.Add(new(m.Options.Labels[i].Key, v));
        var key = new SeriesKey(_agent, m.Options.Key, type, _options.Interval, metadata);
        return new Series(key, (string?[])m.LabelScratch.Clone(), index);
    }

    /// <summary>Forgets rows that a complete walk no longer returns (an interface removed), with their series.</summary>
    private void Prune(int cycle)
    {
        bool pruned = false;
        foreach (var c in _columns)
        {
            if (!c.Complete || c.Rows.Count == c.RowCount) continue;
            foreach (var row in c.Rows.Values.Where(r => r.Stamp != cycle).ToList()) c.Rows.Remove(row.Index);
            pruned = true;
        }
        if (!pruned) return;
        foreach (var m in _metrics)
        {
            if (m.Column is null || m.ByRow.Count <= m.Column.Rows.Count) continue;
            foreach (var k in m.ByRow.Keys.Where(k => !m.Column.Rows.ContainsKey(k)).ToList()) m.ByRow.Remove(k);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        _session.Dispose();
        return _lease.DisposeAsync();
    }
}
