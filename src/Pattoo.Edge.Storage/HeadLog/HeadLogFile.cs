using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Storage.HeadLog;

/// <summary>
/// The samples not yet sealed into chunks, on disk: <c>head.log</c> beside the database, a file
/// of records (<see cref="HeadRecord"/>) written from the front again after every seal.
/// <para>
/// Why a file of its own and not a table: a SQLite commit rewrites whole 4 KiB pages in the WAL
/// and again at checkpoint, and an append that grows a file makes every fsync an ext4 journal
/// commit too; 20 pollers committing every 10 s cost 823 bytes of flash per sample. Here a commit
/// is one write() of its encoded samples (about 5 bytes each), the file is zero-filled ahead in
/// 1 MiB steps and reused from the front after each seal (so syncing it changes no metadata and
/// fdatasync writes only the data pages), and a sync is one fdatasync for any number of commits.
/// </para>
/// <para>
/// Records are copied into a shared memory map of the file rather than written with write():
/// the kernel updates the file's mtime (an inode change, so an ext4 journal commit) on every
/// write(), but through a map only when a clean page is first touched, about once per sync.
/// A killed process loses nothing either way: the page cache has the bytes.
/// </para>
/// <para>
/// Page 0 holds the generation; every record carries it. A seal commits the chunks together with
/// the sealed generation in SQLite, then starts the next generation here: on start, a log whose
/// generation SQLite already sealed is not replayed (the crash came between the two), and replay
/// stops at the first record that is torn, of another generation or corrupt.
/// </para>
/// </summary>
public sealed unsafe partial class HeadLogFile : IDisposable
{
    public const string FileName = "head.log";
    private const int PageSize = 4096;
    private const long GrowStep = 1024 * 1024;
    private static ReadOnlySpan<byte> Magic => "PEHEAD01"u8;

    private readonly SafeFileHandle _file;
    private readonly long _maxBytes;
    private readonly byte* _map;  // the whole file's range, mapped shared; pages past _zeroedTo are never touched
    private long _position;      // where the next record goes
    private long _syncedTo;      // records before this are on the disk
    private long _zeroedTo;      // the file's length: bytes written once, so rewriting them changes no metadata
    private bool _dirty;

    public string Path { get; }
    public ulong Generation { get; private set; }

    /// <summary>Bytes used by the current generation's records.</summary>
    public long Used => _position - PageSize;

    /// <summary>Room left before the log must be sealed and restarted.</summary>
    public long Free => _maxBytes - _position;

    private HeadLogFile(string path, SafeFileHandle file, long maxBytes)
    {
        Path = path;
        _file = file;
        _maxBytes = maxBytes;
        var map = MMap(IntPtr.Zero, (nuint)maxBytes, ProtRead | ProtWrite, MapShared, (int)file.DangerousGetHandle(), 0);
        if (map == new IntPtr(-1))
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot map {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
        _map = (byte*)map;
    }

    /// <summary>
    /// Opens (or creates) the log and hands every sample of the unsealed generation to
    /// <paramref name="replay"/>, in order. <paramref name="sealedGeneration"/> is the newest
    /// generation the database holds as chunks.
    /// </summary>
    /// <exception cref="IOException">the file cannot be read or written.</exception>
    public static HeadLogFile Open(string directory, long maxBytes, ulong sealedGeneration, Action<List<HeadSample>> replay, out int replayed)
    {
        var path = System.IO.Path.Combine(directory, FileName);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        HeadLogFile log;
        try
        {
            log = new HeadLogFile(path, handle, Math.Max(maxBytes, 4 * GrowStep));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        try
        {
            replayed = log.Load(sealedGeneration, replay);
        }
        catch
        {
            log.Dispose();
            throw;
        }
        return log;
    }

    private int Load(ulong sealedGeneration, Action<List<HeadSample>> replay)
    {
        long length = RandomAccess.GetLength(_file);
        _zeroedTo = length;
        Span<byte> page = stackalloc byte[PageSize];
        ulong generation = 0;
        if (length >= PageSize && RandomAccess.Read(_file, page, 0) == PageSize && page[..8].SequenceEqual(Magic))
            generation = BinaryPrimitives.ReadUInt64LittleEndian(page[8..]);
        if (generation == 0 || generation <= sealedGeneration)
        {
            // New, or sealed already (the crash came after the chunks' commit): a new generation.
            StartGeneration(Math.Max(generation, sealedGeneration) + 1);
            return 0;
        }
        Generation = generation;
        long offset = PageSize;
        int count = 0;
        var buffer = new byte[64 * 1024];
        var samples = new List<HeadSample>();
        Span<byte> header = stackalloc byte[HeadRecord.HeaderSize];
        while (offset + HeadRecord.HeaderSize <= length)
        {
            if (RandomAccess.Read(_file, header, offset) < header.Length) break;
            long size = HeadRecord.HeaderSize + (long)BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (size == HeadRecord.HeaderSize || size > HeadRecord.HeaderSize + HeadRecord.MaxPayload || offset + size > length) break;
            if (BinaryPrimitives.ReadUInt64LittleEndian(header[4..]) != generation) break;
            if (buffer.Length < size) buffer = new byte[size];
            if (RandomAccess.Read(_file, buffer.AsSpan(0, (int)size), offset) < size) break;
            int n = HeadRecord.TryRead(buffer.AsSpan(0, (int)size), generation, samples);
            if (n == 0) break;
            replay(samples);
            count += samples.Count;
            samples.Clear();
            offset += n;
        }
        _position = offset;
        _syncedTo = offset;
        return count;
    }

    /// <summary>Writes the page that opens a generation and syncs it; records follow it.</summary>
    private void StartGeneration(ulong generation)
    {
        Span<byte> page = stackalloc byte[PageSize];
        page.Clear();
        Magic.CopyTo(page);
        BinaryPrimitives.WriteUInt64LittleEndian(page[8..], generation);
        RandomAccess.Write(_file, page, 0);
        if (_zeroedTo < PageSize) _zeroedTo = PageSize;
        // The first record slot must not hold a record of this generation left from long ago
        // (generations only grow, so it cannot); it is overwritten by the next append anyway.
        Generation = generation;
        _position = PageSize;
        if (FDataSync(_file) != 0) ThrowSyncError();
        _syncedTo = _position;
        _dirty = false;
    }

    /// <summary>Seals are committed in the database: the log starts over, empty, in the next generation.</summary>
    public void Restart() => StartGeneration(Generation + 1);

    /// <summary>
    /// Writes one encoded record (to the page cache: it survives a killed process at once, and
    /// a power cut after <see cref="Sync"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">the record does not fit; seal and restart first.</exception>
    public void Append(ReadOnlySpan<byte> record)
    {
        if (record.Length > Free) throw new InvalidOperationException("the head log is full: seal it first");
        long end = _position + record.Length;
        if (end > _zeroedTo) ZeroFillTo(end);
        record.CopyTo(new Span<byte>(_map + _position, record.Length));
        _position = end;
        _dirty = true;
    }

    /// <summary>Writes zeros ahead of the records in 1 MiB steps, synced, so later syncs of these bytes change no file metadata.</summary>
    private void ZeroFillTo(long end)
    {
        long target = Math.Min(_maxBytes, (end + GrowStep - 1) / GrowStep * GrowStep);
        var zeros = new byte[64 * 1024];
        for (long at = _zeroedTo; at < target; at += zeros.Length)
            RandomAccess.Write(_file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, target - at)), at);
        _zeroedTo = target;
        // fsync (not fdatasync): the new length must be on the disk before data relies on it.
        RandomAccess.FlushToDisk(_file);
    }

    /// <summary>Puts everything appended on the disk (msync of the new pages); a no-op when nothing changed.</summary>
    public void Sync()
    {
        if (!_dirty) return;
        long page = Environment.SystemPageSize;
        long from = _syncedTo / page * page;
        if (MSync((IntPtr)(_map + from), (nuint)(_position - from), MsSync) != 0) ThrowSyncError();
        // Pages wholly written and synced are not touched again until the next generation:
        // dropping them from this process's map keeps them out of its resident memory.
        long done = _position / page * page;
        if (done > from) MAdvise((IntPtr)(_map + from), (nuint)(done - from), MadvDontNeed);
        _syncedTo = _position;
        _dirty = false;
    }

    private void ThrowSyncError()
    {
        int errno = Marshal.GetLastPInvokeError();
        throw new IOException($"cannot sync {Path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    public bool HasUnsynced => _dirty;

    /// <summary>Bytes appended since the last sync.</summary>
    public long UnsyncedBytes => _position - _syncedTo;

    public void Dispose()
    {
        MUnmap((IntPtr)_map, (nuint)_maxBytes);
        _file.Dispose();
    }

    private const int ProtRead = 1, ProtWrite = 2, MapShared = 1, MsSync = 4, MadvDontNeed = 4;

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial IntPtr MMap(IntPtr address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    private static partial int MSync(IntPtr address, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(IntPtr address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int MUnmap(IntPtr address, nuint length);
}
