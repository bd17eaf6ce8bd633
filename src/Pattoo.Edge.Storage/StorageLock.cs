using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage;

/// <summary>
/// One writer per database. Two appliances on one storage.path would each keep their own
/// catalog cache and head, and their views of the data would diverge. The lock is an
/// exclusive flock (the framework takes one for <see cref="FileShare.None"/>) on
/// <c>pattoo-edge.lock</c>, released by the kernel when the process ends however it ends,
/// so a crash never leaves a stale lock. The holder's PID is written beside it for the
/// message a second process prints. The translation commands open the database without the
/// lock: SQLite's own locking makes their short writes safe beside a running appliance.
/// </summary>
public sealed class StorageLock : IDisposable
{
    public const string LockFileName = "pattoo-edge.lock";
    public const string PidFileName = "pattoo-edge.pid";

    private readonly FileStream _lock;
    private readonly string _pidFile;

    private StorageLock(FileStream held, string pidFile)
    {
        _lock = held;
        _pidFile = pidFile;
    }

    /// <exception cref="StorageUnavailableException">the directory cannot be used or another process holds it.</exception>
    public static StorageLock Acquire(string directory)
    {
        if (File.Exists(directory))
            throw new StorageUnavailableException($"storage.path {directory} is a file; it must be a directory (or a path that does not exist yet)");
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageUnavailableException($"cannot create the storage directory {directory} (storage.path): {SystemMessages.Describe(e)}", e);
        }
        string lockFile = Path.Combine(directory, LockFileName), pidFile = Path.Combine(directory, PidFileName);
        FileStream held;
        try
        {
            held = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StorageUnavailableException($"cannot write in the storage directory {directory} (storage.path): {SystemMessages.Describe(e)}; it must be writable by the user running pattoo-edge ({Environment.UserName})", e);
        }
        catch (IOException e) when (File.Exists(lockFile))
        {
            string holder = ReadPid(pidFile) is { } pid ? $"process {pid}" : "another process";
            throw new StorageUnavailableException($"the database in {directory} is in use by {holder} (another pattoo-edge?); one appliance per storage.path. Stop it, or give this one its own storage.path", e);
        }
        catch (IOException e)
        {
            throw new StorageUnavailableException($"cannot write in the storage directory {directory} (storage.path): {SystemMessages.Describe(e)}", e);
        }
        try
        {
            File.WriteAllText(pidFile, Environment.ProcessId + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            held.Dispose();
            throw new StorageUnavailableException($"cannot write in the storage directory {directory} (storage.path): {SystemMessages.Describe(e)}", e);
        }
        return new StorageLock(held, pidFile);
    }

    /// <summary>Whether a process holds <paramref name="directory"/> now (an appliance runs on it); the holder's PID when known.</summary>
    public static bool IsHeld(string directory, out int? pid)
    {
        pid = null;
        string lockFile = Path.Combine(directory, LockFileName);
        if (!File.Exists(lockFile)) return false;
        try
        {
            using var probe = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            pid = ReadPid(Path.Combine(directory, PidFileName));
            return true;
        }
    }

    /// <summary>The PID written by the holder, if readable.</summary>
    public static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try { File.Delete(_pidFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        _lock.Dispose();
    }
}
