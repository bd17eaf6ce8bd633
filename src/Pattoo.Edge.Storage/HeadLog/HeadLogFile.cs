using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Pattoo.Edge.Storage.HeadLog;

/// <summary>
/// The samples not yet sealed into chunks, on disk: <c>head.log</c> beside the database, a file
/// of records (<see cref="HeadRecord"/>) written from the front again after every seal.
/// <para>
/// Why a file of its own and not a table: a SQLite commit rewrites whole 4 KiB pages in the WAL
/// and again at checkpoint, and an append that grows a file makes every fsync an ext4 journal
/// commit too; 20 pollers committing every 10 s cost 823 bytes of flash per sample. Here records
/// (about 2 bytes a sample) are gathered in memory and written with one write() and one
/// fdatasync per <see cref="Sync"/>: every write() changes the file's mtime, which costs an ext4
/// journal commit of its own, so one write per sync instead of one per commit halves what a
/// poll cycle costs. The file is zero-filled ahead in 1 MiB steps and reused from the front after
/// each seal, so a sync changes no other metadata and fdatasync writes only the new pages; a seal
/// cuts it back to the room the smaller of the last two generations used, and a start to the room
/// of what it replays, so a burst's room is given back.
/// What is gathered and not yet synced is lost if the process dies: the store syncs at once for
/// what must survive (HTTP ingest) and every commit interval for the rest.
/// </para>
/// <para>
/// Page 0 holds the generation; every record carries it. A seal commits the chunks together with
/// the sealed generation in SQLite, then starts the next generation here: on start, a log whose
/// generation SQLite already sealed is not replayed (the crash came between the two), and replay
/// stops at the first record that is torn, of another generation or corrupt.
/// </para>
/// </summary>
public sealed partial class HeadLogFile : IDisposable
{
    public const string FileName = "head.log";
    private const int PageSize = 4096;
    private const long GrowStep = 1024 * 1024;
    private static ReadOnlySpan<byte> Magic => "PEHEAD02"u8;
    /// <summary>A generation of version 1 records (releases before version 2): still replayed, and continued in version 1.</summary>
    private static ReadOnlySpan<byte> MagicVersion1 => "PEHEAD01"u8;

    private readonly SafeFileHandle _file;
    private readonly long _maxBytes;
    private readonly System.Buffers.ArrayBufferWriter<byte> _pending = new(64 * 1024); // records not yet written
    private long _position;      // where the next record goes (after the pending ones)
    private long _zeroedTo;      // the file's length: bytes written once, so rewriting them changes no metadata
    private bool _dirty;

    public string Path { get; }
    public ulong Generation { get; private set; }

    /// <summary>
    /// What the current generation's records are coded against (version 2), or null for a
    /// version 1 generation left by an older release: pass it to <see cref="HeadRecord.Write"/>.
    /// </summary>
    public HeadRecordContext? Context { get; private set; } = new();

    /// <summary>Bytes used by the current generation's records, pending ones included.</summary>
    public long Used => _position + _pending.WrittenCount - PageSize;

    /// <summary>Room left before the log must be sealed and restarted.</summary>
    public long Free => _maxBytes - _position - _pending.WrittenCount;

    private HeadLogFile(string path, SafeFileHandle file, long maxBytes)
    {
        Path = path;
        _file = file;
        _maxBytes = maxBytes;
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
        var log = new HeadLogFile(path, handle, Math.Max(maxBytes, 4 * GrowStep));
        try
        {
            replayed = log.Load(sealedGeneration, replay);
        }
        catch
        {
            handle.Dispose();
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
        bool version1 = false;
        if (length >= PageSize && RandomAccess.Read(_file, page, 0) == PageSize && (page[..8].SequenceEqual(Magic) || (version1 = page[..8].SequenceEqual(MagicVersion1))))
            generation = BinaryPrimitives.ReadUInt64LittleEndian(page[8..]);
        if (generation == 0 || generation <= sealedGeneration)
        {
            // New, or sealed already (the crash came after the chunks' commit): a new generation.
            StartGeneration(Math.Max(generation, sealedGeneration) + 1);
            KeepRoomFor(_position);
            _previousUsed = 0;
            return 0;
        }
        Generation = generation;
        Context = version1 ? null : new HeadRecordContext();
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
            int n = HeadRecord.TryRead(buffer.AsSpan(0, (int)size), generation, samples, Context);
            if (n == 0) break;
            replay(samples);
            count += samples.Count;
            samples.Clear();
            offset += n;
        }
        _position = offset;
        _replayedBytes = _previousUsed = offset - PageSize;
        // A restart keeps the room of what it replayed: a burst's room before the restart (an
        // import) is not kept on the disk until the next seal.
        KeepRoomFor(_position);
        return count;
    }

    /// <summary>Writes the page that opens a generation and syncs it; records follow it.</summary>
    private void StartGeneration(ulong generation)
    {
        Span<byte> page = stackalloc byte[PageSize];
        page.Clear();
        Magic.CopyTo(page);
        BinaryPrimitives.WriteUInt64LittleEndian(page[8..], generation);
        Context = new HeadRecordContext();
        RandomAccess.Write(_file, page, 0);
        if (_zeroedTo < PageSize) _zeroedTo = PageSize;
        // The first record slot must not hold a record of this generation left from long ago
        // (generations only grow, so it cannot); it is overwritten by the next append anyway.
        Generation = generation;
        _position = PageSize;
        _dirty = true;
        Sync();
    }

    /// <summary>
    /// Seals are committed in the database: the log starts over, empty, in the next generation.
    /// Records not yet written are dropped: their samples are in the sealed chunks.
    /// </summary>
    public void Restart()
    {
        // What this process appended, not what it replayed: a generation that began before a
        // restart (the tail of an import, say) says nothing of what the next one needs.
        long used = _position + _pending.WrittenCount - _replayedBytes;
        _replayedBytes = 0;
        _pending.ResetWrittenCount();
        StartGeneration(Generation + 1);
        // The smaller of the last two generations: a steady box keeps its room, while a burst (an
        // import, a backlog) is given back at its own seal rather than kept for a generation.
        KeepRoomFor(Math.Min(used, _previousUsed));
        _previousUsed = used;
    }

    /// <summary>
    /// Bytes the generation before the last one appended; at a start, what was replayed (nothing
    /// for a new generation): the first generation after a start, often an import or a backlog,
    /// is not taken for the steady size.
    /// </summary>
    private long _previousUsed;

    /// <summary>Bytes of the current generation that were replayed at open rather than appended since.</summary>
    private long _replayedBytes;

    /// <summary>
    /// Gives back what the log holds beyond <paramref name="used"/> (in 1 MiB steps, at least
    /// one): the next generation most likely needs as much as the recent ones, so a steady box
    /// zero-fills nothing, while the room a burst took (an import, a backlog) does not stay on the disk.
    /// The shortened length need not be synced: a longer file after a crash holds only records
    /// of older generations, which are not replayed.
    /// </summary>
    private void KeepRoomFor(long used)
    {
        long keep = Math.Max(GrowStep, (used + GrowStep - 1) / GrowStep * GrowStep);
        if (_zeroedTo <= keep) return;
        RandomAccess.SetLength(_file, keep);
        _zeroedTo = keep;
    }

    /// <summary>Takes one encoded record; it is written and synced by the next <see cref="Sync"/>.</summary>
    /// <exception cref="InvalidOperationException">the record does not fit; seal and restart first.</exception>
    public void Append(ReadOnlySpan<byte> record)
    {
        if (record.Length > Free) throw new InvalidOperationException("the head log is full: seal it first");
        record.CopyTo(_pending.GetSpan(record.Length));
        _pending.Advance(record.Length);
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

    /// <summary>Writes the pending records (one write) and puts them on the disk (fdatasync); a no-op when there are none.</summary>
    /// <summary>The log as written so far (after <see cref="Sync"/>), for a backup: its header and records, without the room after them.</summary>
    public byte[] Snapshot()
    {
        Sync();
        var bytes = new byte[_position];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(_file, bytes.AsSpan(read), read);
            if (n == 0) throw new IOException($"{FileName} ended at byte {read} of {bytes.Length}");
            read += n;
        }
        return bytes;
    }

    public void Sync()
    {
        if (_pending.WrittenCount > 0)
        {
            long end = _position + _pending.WrittenCount;
            if (end > _zeroedTo) ZeroFillTo(end);
            RandomAccess.Write(_file, _pending.WrittenSpan, _position);
            _position = end;
            _pending.ResetWrittenCount();
            _dirty = true;
        }
        if (!_dirty) return;
        if (FDataSync(_file) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot sync {Path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
        _dirty = false;
    }

    public bool HasUnsynced => _dirty || _pending.WrittenCount > 0;

    public void Dispose() => _file.Dispose();

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle fd);
}
