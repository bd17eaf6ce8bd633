using Microsoft.AspNetCore.Http;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Api;

public sealed partial class ApiEndpoints
{
    /// <summary>Where <c>pattoo-edge backup</c> fetches a backup of a running appliance.</summary>
    public const string BackupPath = "/api/v1/backup";

    /// <summary>
    /// A consistent backup of the whole store (<see cref="Storage.StoreBackup"/>), made by the writer
    /// and streamed: <c>pattoo-edge backup FILE</c> calls it while the appliance runs (the
    /// service's sandbox lets it write only its own directory). Write access, as ingest.
    /// </summary>
    private async Task Backup(HttpContext c)
    {
        if (!await MayWrite(c).ConfigureAwait(false)) return;
        string temp = Path.Combine(_state.Store.Options.Path, $"backup-{Guid.NewGuid():N}.db");
        try
        {
            try
            {
                await _state.Store.BackupAsync(temp).ConfigureAwait(false);
            }
            catch (Exception e) when (e is StorageUnavailableException or IOException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.Warning($"backup: failed: {e.Message}");
                await Json(c, 503, w => w.WriteString("error", $"the backup failed: {e.Message}")).ConfigureAwait(false);
                return;
            }
            await using var file = new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
            c.Response.StatusCode = 200;
            c.Response.ContentType = "application/vnd.sqlite3";
            c.Response.ContentLength = file.Length;
            await file.CopyToAsync(c.Response.Body, c.RequestAborted).ConfigureAwait(false);
            Log.Info($"backup: {file.Length:N0} bytes sent to {c.Connection.RemoteIpAddress}");
        }
        finally
        {
            try { File.Delete(temp); } catch (IOException) { }
        }
    }
}
