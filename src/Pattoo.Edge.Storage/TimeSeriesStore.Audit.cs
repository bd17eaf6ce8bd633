using System.Text;
using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.Storage;

/// <summary>
/// One row of the write-back audit trail: a write or relinquish request that reached the box,
/// whether it was refused, sent, or failed. Values are as the point shows them ("21.5", "auto").
/// </summary>
public sealed record AuditEntry
{
    public long Id { get; internal set; }
    public required long Timestamp { get; init; }
    /// <summary>The control token's name, or "" when the request had none (or a wrong one).</summary>
    public required string Token { get; init; }
    public required string Client { get; init; }
    /// <summary>The datapoint the request named (0 when it named none that exists).</summary>
    public required long IdxDatapoint { get; init; }
    /// <summary>"modbus/plc-1/setpoint (holding 40 (uint16), unit 1)": which point, readable after the datapoint is gone.</summary>
    public required string Point { get; init; }
    /// <summary>"write" or "relinquish".</summary>
    public required string Action { get; init; }
    public string? OldValue { get; init; }
    public string? Requested { get; init; }
    public string? ReadBack { get; init; }
    /// <summary>"written", "mismatch" (sent; the device reports another value), "refused" (by the box or the device), "failed" (no answer), "pending" (being sent; left so only if the box stopped meanwhile).</summary>
    public required string Result { get; init; }
    public required string Message { get; init; }
    public string Comment { get; init; } = "";
}

/// <summary>Which audit rows to read: newest first, <see cref="Limit"/> at most, older than <see cref="BeforeId"/>.</summary>
public sealed record AuditQuery
{
    public long? IdxDatapoint { get; init; }
    public long? From { get; init; }
    public long? To { get; init; }
    public string? Result { get; init; }
    public long? BeforeId { get; init; }
    public int Limit { get; init; } = 100;
}

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, bool HasMore, long TotalCount);

/// <summary>The audit table: one synchronous commit per row (writes are rare and each must survive a power cut), kept for years.</summary>
public sealed partial class TimeSeriesStore
{
    private TimeSpan _auditRetention;

    /// <summary>How long audit rows are kept ([audit] retention); applied at the next prune step.</summary>
    public TimeSpan AuditRetention
    {
        get => _auditRetention == default ? _options.AuditRetention : _auditRetention;
        set => _auditRetention = value;
    }

    /// <summary>
    /// Stores <paramref name="entry"/> durably and sets its id; returns when it is on disk. With
    /// <paramref name="replaces"/>, the row of that id (a "pending" one written before a device
    /// was sent anything) becomes <paramref name="entry"/>.
    /// </summary>
    public Task AppendAuditAsync(AuditEntry entry, long replaces = 0)
    {
        entry.Id = replaces;
        return ControlAsync(Control.Audit, audit: entry);
    }

    private void InsertAudit(AuditEntry e)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = e.Id == 0
            ? """
            INSERT INTO audit (ts, token, client, idx_datapoint, point, action, old_value, requested, read_back, result, message, comment)
            VALUES ($ts, $token, $client, $idx, $point, $action, $old, $requested, $readBack, $result, $message, $comment) RETURNING id
            """
            : """
            UPDATE audit SET ts = $ts, token = $token, client = $client, idx_datapoint = $idx, point = $point, action = $action, old_value = $old,
                requested = $requested, read_back = $readBack, result = $result, message = $message, comment = $comment
            WHERE id = $id RETURNING id
            """;
        cmd.Parameters.AddWithValue("$id", e.Id);
        cmd.Parameters.AddWithValue("$ts", e.Timestamp);
        cmd.Parameters.AddWithValue("$token", e.Token);
        cmd.Parameters.AddWithValue("$client", e.Client);
        cmd.Parameters.AddWithValue("$idx", e.IdxDatapoint);
        cmd.Parameters.AddWithValue("$point", e.Point);
        cmd.Parameters.AddWithValue("$action", e.Action);
        cmd.Parameters.AddWithValue("$old", (object?)e.OldValue ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$requested", (object?)e.Requested ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$readBack", (object?)e.ReadBack ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$result", e.Result);
        cmd.Parameters.AddWithValue("$message", e.Message);
        cmd.Parameters.AddWithValue("$comment", e.Comment);
        e.Id = (long)cmd.ExecuteScalar()!;
    }

    private int PruneAudit(SqliteTransaction tx, long cutoff, int rows)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts < $c ORDER BY ts LIMIT $n)";
        cmd.Parameters.AddWithValue("$c", cutoff);
        cmd.Parameters.AddWithValue("$n", rows);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Audit rows matching <paramref name="query"/>, newest first.</summary>
    public AuditPage ReadAudit(AuditQuery query)
    {
        using var db = OpenReader();
        using var cmd = db.CreateCommand();
        var where = new StringBuilder("WHERE 1 = 1");
        if (query.IdxDatapoint is { } idx) { where.Append(" AND idx_datapoint = $idx"); cmd.Parameters.AddWithValue("$idx", idx); }
        if (query.From is { } from) { where.Append(" AND ts >= $from"); cmd.Parameters.AddWithValue("$from", from); }
        if (query.To is { } to) { where.Append(" AND ts <= $to"); cmd.Parameters.AddWithValue("$to", to); }
        if (query.Result is { } result) { where.Append(" AND result = $result"); cmd.Parameters.AddWithValue("$result", result); }
        cmd.CommandText = $"SELECT count(*) FROM audit {where}";
        long total = (long)cmd.ExecuteScalar()!;
        if (query.BeforeId is { } before) { where.Append(" AND id < $before"); cmd.Parameters.AddWithValue("$before", before); }
        cmd.CommandText = $"SELECT id, ts, token, client, idx_datapoint, point, action, old_value, requested, read_back, result, message, comment FROM audit {where} ORDER BY id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", query.Limit + 1);
        var entries = new List<AuditEntry>(Math.Min(query.Limit + 1, 1024));
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                entries.Add(new AuditEntry
                {
                    Id = r.GetInt64(0),
                    Timestamp = r.GetInt64(1),
                    Token = r.GetString(2),
                    Client = r.GetString(3),
                    IdxDatapoint = r.GetInt64(4),
                    Point = r.GetString(5),
                    Action = r.GetString(6),
                    OldValue = r.IsDBNull(7) ? null : r.GetString(7),
                    Requested = r.IsDBNull(8) ? null : r.GetString(8),
                    ReadBack = r.IsDBNull(9) ? null : r.GetString(9),
                    Result = r.GetString(10),
                    Message = r.GetString(11),
                    Comment = r.GetString(12),
                });
            }
        }
        bool more = entries.Count > query.Limit;
        if (more) entries.RemoveAt(entries.Count - 1);
        return new AuditPage(entries, more, total);
    }
}
