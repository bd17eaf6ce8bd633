using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>Which events to read: each filter set narrows, newest first, <see cref="Limit"/> at most, older than <see cref="BeforeId"/>.</summary>
public sealed record EventQuery
{
    public long? From { get; init; }
    public long? To { get; init; }
    public string? Program { get; init; }
    public string? Target { get; init; }
    public string? Kind { get; init; }
    public EventSeverity? Severity { get; init; }
    /// <summary>Paging: only events stored before this id (the last id of the previous page).</summary>
    public long? BeforeId { get; init; }
    public int Limit { get; init; } = 100;
}

/// <summary>A page of events, newest first, and how many match the filters in all.</summary>
public sealed record EventPage(IReadOnlyList<EdgeEvent> Events, bool HasMore, long TotalCount);

/// <summary>The event table: inserted by the writer in batches (<see cref="EventRecorder"/>), read by the API, pruned with the samples.</summary>
public sealed partial class TimeSeriesStore
{
    private TimeSpan _eventRetention;

    /// <summary>How long events are kept ([events] retention); applied at the next prune step.</summary>
    public TimeSpan EventRetention
    {
        get => _eventRetention == default ? _options.EventRetention : _eventRetention;
        set => _eventRetention = value;
    }

    /// <summary>Stores events in one transaction, between the writer's other commits.</summary>
    public Task AppendEventsAsync(IReadOnlyList<EdgeEvent> events)
        => events.Count == 0 ? Task.CompletedTask : ControlAsync(Control.Events, events: events);

    private void InsertEvents(IReadOnlyList<EdgeEvent> events)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO event (ts, program, target, kind, severity, text, details) VALUES ($t, $p, $g, $k, $s, $x, $d)";
        var p = new[] { "$t", "$p", "$g", "$k", "$s", "$x", "$d" }.Select(n => cmd.Parameters.Add(n, SqliteType.Text)).ToArray();
        p[0].SqliteType = SqliteType.Integer;
        p[4].SqliteType = SqliteType.Integer;
        foreach (var e in events)
        {
            p[0].Value = e.Timestamp;
            p[1].Value = e.Program;
            p[2].Value = e.Target;
            p[3].Value = e.Kind;
            p[4].Value = (int)e.Severity;
            p[5].Value = e.Text;
            p[6].Value = DetailsJson(e.Details);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    private int PruneEvents(SqliteTransaction tx, long cutoff, int rows)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM event WHERE id IN (SELECT id FROM event WHERE ts < $c ORDER BY ts LIMIT $n)";
        cmd.Parameters.AddWithValue("$c", cutoff);
        cmd.Parameters.AddWithValue("$n", rows);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Events matching <paramref name="query"/>, newest first (by id: the order they were stored).</summary>
    public EventPage ReadEvents(EventQuery query)
    {
        using var db = OpenReader();
        using var cmd = db.CreateCommand();
        var where = new StringBuilder("WHERE 1 = 1");
        if (query.From is { } from) { where.Append(" AND ts >= $from"); cmd.Parameters.AddWithValue("$from", from); }
        if (query.To is { } to) { where.Append(" AND ts <= $to"); cmd.Parameters.AddWithValue("$to", to); }
        if (query.Program is { } program) { where.Append(" AND program = $program"); cmd.Parameters.AddWithValue("$program", program); }
        if (query.Target is { } target) { where.Append(" AND target = $target"); cmd.Parameters.AddWithValue("$target", target); }
        if (query.Kind is { } kind) { where.Append(" AND kind = $kind"); cmd.Parameters.AddWithValue("$kind", kind); }
        if (query.Severity is { } severity) { where.Append(" AND severity = $severity"); cmd.Parameters.AddWithValue("$severity", (int)severity); }

        cmd.CommandText = $"SELECT count(*) FROM event {where}";
        long total = (long)cmd.ExecuteScalar()!;

        if (query.BeforeId is { } before) { where.Append(" AND id < $before"); cmd.Parameters.AddWithValue("$before", before); }
        cmd.CommandText = $"SELECT id, ts, program, target, kind, severity, text, details FROM event {where} ORDER BY id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", query.Limit + 1);
        var events = new List<EdgeEvent>(Math.Min(query.Limit + 1, 1024));
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                events.Add(new EdgeEvent(r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4),
                    (EventSeverity)Math.Clamp(r.GetInt32(5), 0, 2), r.GetString(6), ParseDetails(r.GetString(7))) { Id = r.GetInt64(0) });
            }
        }
        bool more = events.Count > query.Limit;
        if (more) events.RemoveAt(events.Count - 1);
        return new EventPage(events, more, total);
    }

    private static string DetailsJson(IReadOnlyList<KeyValuePair<string, string>> details)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (key, value) in details) w.WriteString(key, value);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Details as stored (a JSON object of strings, in order); a row that does not read as one gives its text under "details".</summary>
    private static List<KeyValuePair<string, string>> ParseDetails(string json)
    {
        var details = new List<KeyValuePair<string, string>>();
        try
        {
            var r = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json));
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw new JsonException("not an object");
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                string key = r.GetString()!;
                if (!r.Read() || r.TokenType != JsonTokenType.String) throw new JsonException($"\"{key}\" is not a string");
                details.Add(new(key, r.GetString()!));
            }
        }
        catch (JsonException)
        {
            details.Clear();
            details.Add(new("details", json));
        }
        return details;
    }
}
