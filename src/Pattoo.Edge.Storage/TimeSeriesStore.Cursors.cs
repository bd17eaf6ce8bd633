namespace Pattoo.Edge.Storage;

/// <summary>Forwarders' cursors (what each destination acknowledged), kept in the database by the writer.</summary>
public sealed partial class TimeSeriesStore
{
    /// <summary>
    /// Stores a forwarder's cursor (what its destination acknowledged), committed by the writer
    /// between its other commits; null <paramref name="data"/> deletes it.
    /// </summary>
    public Task SaveForwardCursorAsync(string name, byte[]? data) => ControlAsync(Control.SaveCursor, (name, data));

    /// <summary>A forwarder's stored cursor, or null when it has none (a new forwarder).</summary>
    public byte[]? LoadForwardCursor(string name)
    {
        using var db = OpenReader();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT data FROM forward_cursor WHERE name = $n";
        cmd.Parameters.AddWithValue("$n", name);
        return cmd.ExecuteScalar() as byte[];
    }

    private void SaveCursor(string name, byte[]? data)
    {
        using var cmd = _db.CreateCommand();
        if (data is null)
        {
            cmd.CommandText = "DELETE FROM forward_cursor WHERE name = $n";
        }
        else
        {
            cmd.CommandText = "INSERT INTO forward_cursor (name, data, ts_modified) VALUES ($n, $d, $t) ON CONFLICT (name) DO UPDATE SET data = excluded.data, ts_modified = excluded.ts_modified";
            cmd.Parameters.AddWithValue("$d", data);
            cmd.Parameters.AddWithValue("$t", Now);
        }
        cmd.Parameters.AddWithValue("$n", name);
        cmd.ExecuteNonQuery();
    }
}
