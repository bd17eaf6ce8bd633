using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge;

/// <summary>
/// <c>pattoo-edge backup FILE</c> and <c>restore FILE</c>. A backup is consistent and online: when
/// an appliance runs on the storage directory, its writer makes the backup between two commits
/// and streams it over the local HTTP API (the service's sandbox lets it write only its own
/// directory); when none runs, this process opens the store and does the same. Restore refuses
/// while an appliance runs, and keeps what it replaces beside it.
/// </summary>
internal static class BackupCommands
{
    public static async Task<int> RunAsync(string[] args)
    {
        string command = args[0];
        string? config = null;
        var files = new List<string>();
        bool usage = false;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c" && i + 1 < args.Length) config = args[++i];
            else if (args[i].StartsWith('-')) usage = true;
            else files.Add(args[i]);
        }
        if (usage || files.Count != 1)
        {
            Console.Error.WriteLine("usage: pattoo-edge backup FILE [--config FILE]\n       pattoo-edge restore FILE [--config FILE]");
            return Program.ExitUsage;
        }
        string file = files[0];
        EdgeOptions options;
        try
        {
            options = AdminDefaults.Load(config);
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine(error);
            return Program.ExitError;
        }
        var storage = options.Storage;
        try
        {
            return command == "backup" ? await BackupAsync(file, storage, options).ConfigureAwait(false) : Restore(file, storage);
        }
        catch (Exception e) when (e is StorageUnavailableException or IOException or UnauthorizedAccessException or HttpRequestException or Microsoft.Data.Sqlite.SqliteException)
        {
            Console.Error.WriteLine($"pattoo-edge {command}: {e.Message}");
            return Program.ExitError;
        }
    }

    private static async Task<int> BackupAsync(string file, StorageOptions storage, EdgeOptions options)
    {
        var sw = Stopwatch.StartNew();
        string target = Path.GetFullPath(file);
        if (StorageLock.IsHeld(storage.Path, out int? pid))
        {
            Console.Out.WriteLine($"backup: the appliance runs on {storage.Path} (process {pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}); asking it for a backup over its HTTP API");
            await FetchAsync(target, options).ConfigureAwait(false);
        }
        else
        {
            if (!File.Exists(storage.DatabaseFile)) throw new StorageUnavailableException($"no database in {storage.Path} (storage.path): nothing to back up");
            await using var store = TimeSeriesStore.Open(storage);
            await store.BackupAsync(target).ConfigureAwait(false);
        }
        var facts = StoreBackup.Check(target);
        Console.Out.WriteLine($"backup: {target}: {facts.Bytes:N0} bytes, {facts.Series:N0} series, {facts.HeadLogBytes:N0} bytes of unsealed samples, in {sw.Elapsed.TotalSeconds:F1} s");
        return Program.ExitOk;
    }

    private static async Task FetchAsync(string target, EdgeOptions options)
    {
        var listen = options.Server.Listen;
        var address = listen.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : listen.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : listen.Address;
        bool tls = options.Server.TlsCertificate is not null;
        // The appliance's own certificate on this box: no name to check it against.
        using var handler = new SocketsHttpHandler();
        if (tls) handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromHours(1) };
        var url = new UriBuilder(tls ? "https" : "http", address.ToString(), listen.Port, Api.ApiEndpoints.BackupPath).Uri;
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        if (options.Api.WriteTokens.Count > 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Api.WriteTokens[0]);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new IOException($"{url} answered {(int)response.StatusCode}: {(await response.Content.ReadAsStringAsync().ConfigureAwait(false)).Trim()}");
        string partial = target + ".partial";
        await using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            await response.Content.CopyToAsync(output).ConfigureAwait(false);
            output.Flush(flushToDisk: true);
        }
        File.Move(partial, target, overwrite: true);
    }

    private static int Restore(string file, StorageOptions storage)
    {
        var facts = StoreBackup.Check(file);
        if (StorageLock.IsHeld(storage.Path, out int? pid))
        {
            Console.Error.WriteLine($"pattoo-edge restore: the appliance runs on {storage.Path} (process {pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}); stop it first (systemctl stop pattoo-edge), restore, then start it");
            return Program.ExitError;
        }
        using (StorageLock.Acquire(storage.Path))
        {
            var keptAside = StoreBackup.Restore(file, storage);
            GiveToOwnerOfDirectory(storage);
            Console.Out.WriteLine($"restore: {file} ({facts.Series:N0} series, schema {facts.SchemaVersion}) is now the database in {storage.Path}");
            foreach (var kept in keptAside) Console.Out.WriteLine($"restore: what was there is kept as {kept}; delete it once the restored data looks right");
        }
        Console.Out.WriteLine("restore: start the appliance (systemctl start pattoo-edge)");
        return Program.ExitOk;
    }

    /// <summary>Restored as root into the service's directory: the files go to the directory's owner (the service's user), as systemd gave it.</summary>
    private static void GiveToOwnerOfDirectory(StorageOptions storage)
    {
        if (!Environment.IsPrivilegedProcess) return;
        var (code, _, errors) = ToolProcess.Run("chown", $"--reference={storage.Path}", storage.DatabaseFile, Path.Combine(storage.Path, Storage.HeadLog.HeadLogFile.FileName));
        if (code != 0) Console.Error.WriteLine($"restore: warning: could not give the files to the owner of {storage.Path}: {errors.Trim()}");
    }
}
