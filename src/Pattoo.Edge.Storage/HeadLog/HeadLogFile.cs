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
/// poll cycle costs. The file is zero-filled ahead in steps (64 KiB doubling to 1 MiB) and reused from the front after
/// each seal, so a sync changes no other metadata and fdatasync writes only the new pages; a seal
/// cuts it back to the room the smaller of the last two generations used, and a start to the room
/// of what it replays, so a burst's room is given back; a store that receives nothing for a
/// chunk span keeps only its header page.
/// What is gathered and not yet synced is lost if the process dies: the store syncs at once for
/// what must survive (HTTP ingest) and every commit interval for the rest.
/// </para>
/// <para>
/// Where the file system allows it (Linux, <c>statx</c> reports direct I/O alignment), syncs write
/// with O_DIRECT only the sectors they touch (512 bytes on most devices) instead of the 4 KiB page
/// the page cache would write: a durable post of 50 samples is about 100 bytes of records, and
/// with a sync a second the page was most of what the flash received. The tail sector's bytes
/// are kept in memory and written again with the next records. Elsewhere (tmpfs, other
/// systems) the log is written through the page cache as before.
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
    /// <summary>
    /// The second log: a seal runs beside the writer, which meanwhile appends the next
    /// generation to the other file, so the sealed generation's records stay intact until its
    /// chunks are committed. Created at the first such seal; the two files take turns.
    /// </summary>
    public const string AlternateFileName = "head.2.log";
    private const int PageSize = 4096;
    private const long GrowStep = 1024 * 1024, MinGrowStep = 64 * 1024;
    private static ReadOnlySpan<byte> Magic => "PEHEAD02"u8;
    /// <summary>A generation of version 1 records (releases before version 2): still replayed, and continued in version 1.</summary>
    private static ReadOnlySpan<byte> MagicVersion1 => "PEHEAD01"u8;

    private readonly SafeFileHandle _file;
    private SafeFileHandle? _direct; // the same file opened with O_DIRECT, or null: writes go through the page cache
    private int _align = 1;          // the unit a write must start and end on: 1 through the page cache, the sector size direct
    private readonly long _maxBytes;
    // [the written bytes of the tail sector][records not yet written], in memory aligned for O_DIRECT.
    private readonly AlignedBuffer _buffer = new(64 * 1024);
    private int _carry;          // bytes of the tail sector at the buffer's start (0 through the page cache)
    private int _pendingCount;   // bytes of records after them
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
    public long Used => _position + _pendingCount - PageSize;

    /// <summary>Room left before the log must be sealed and restarted.</summary>
    public long Free => _maxBytes - _position - _pendingCount;

    /// <summary>The smallest write a sync makes: a sector (O_DIRECT), or the page cache's page.</summary>
    public int WriteUnit => _direct is null ? PageSize : _align;

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
    /// <param name="sectorWrites">write only the sectors a sync touches (O_DIRECT) where the file system allows it.</param>
    /// <param name="fileName"><see cref="FileName"/> or <see cref="AlternateFileName"/>.</param>
    /// <param name="startAfter">a new generation (the file holds none unsealed) is numbered after this one too: the other file's.</param>
    public static HeadLogFile Open(string directory, long maxBytes, ulong sealedGeneration, Action<List<HeadSample>> replay, out int replayed, bool sectorWrites = true,
        string fileName = FileName, ulong startAfter = 0)
    {
        var path = System.IO.Path.Combine(directory, fileName);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var log = new HeadLogFile(path, handle, Math.Max(maxBytes, 4 * GrowStep));
        try
        {
            if (sectorWrites) (log._direct, log._align) = DirectIo.TryOpen(path);
            replayed = log.Load(sealedGeneration, replay, startAfter);
            log.LoadCarry();
        }
        catch
        {
            log.Dispose();
            throw;
        }
        return log;
    }

    /// <summary>Reads the bytes of the sector the next record starts in, to be written again with it.</summary>
    private void LoadCarry()
    {
        _carry = (int)(_position & (_align - 1));
        if (_carry == 0) return;
        var carry = _buffer.Span(0, _carry);
        if (RandomAccess.Read(_file, carry, _position - _carry) < _carry)
            throw new IOException($"{System.IO.Path.GetFileName(Path)} ended before byte {_position}");
    }

    /// <summary>The generation a log file holds (0: none, or no such file), read from its first page without opening it for writing.</summary>
    public static ulong PeekGeneration(string directory, string fileName)
    {
        var path = System.IO.Path.Combine(directory, fileName);
        if (!File.Exists(path)) return 0;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> page = stackalloc byte[16];
        return RandomAccess.Read(handle, page, 0) < page.Length ? 0 : GenerationOf(page, out _);
    }

    /// <summary>The generation a first page opens (0: not a head log page), and whether its records are version 1.</summary>
    private static ulong GenerationOf(ReadOnlySpan<byte> page, out bool version1)
    {
        version1 = page[..8].SequenceEqual(MagicVersion1);
        return version1 || page[..8].SequenceEqual(Magic) ? BinaryPrimitives.ReadUInt64LittleEndian(page[8..]) : 0;
    }

    private int Load(ulong sealedGeneration, Action<List<HeadSample>> replay, ulong startAfter)
    {
        long length = RandomAccess.GetLength(_file);
        _zeroedTo = length;
        Span<byte> page = stackalloc byte[PageSize];
        ulong generation = 0;
        bool version1 = false;
        if (length >= PageSize && RandomAccess.Read(_file, page, 0) == PageSize) generation = GenerationOf(page, out version1);
        if (generation == 0 || generation <= sealedGeneration)
        {
            // New, or sealed already (the crash came after the chunks' commit): a new generation.
            StartGeneration(Math.Max(Math.Max(generation, sealedGeneration), startAfter) + 1);
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
        _carry = 0;
        _dirty = true;
        Sync();
    }

    /// <summary>
    /// Seals are committed in the database: the log starts over, empty, in the next generation
    /// (or in <paramref name="generation"/>: the one after the other file's). Records not yet
    /// written are dropped: their samples are in the sealed chunks.
    /// </summary>
    public void Restart(ulong generation = 0)
    {
        // What this process appended, not what it replayed: a generation that began before a
        // restart (the tail of an import, say) says nothing of what the next one needs.
        long used = _position + _pendingCount - _replayedBytes;
        _replayedBytes = 0;
        _pendingCount = 0;
        StartGeneration(Math.Max(generation, Generation + 1));
        // The smaller of the last two generations: a steady box keeps its room, while a burst (an
        // import, a backlog) is given back at its own seal rather than kept for a generation.
        KeepRoomFor(Math.Min(used, _previousUsed));
        _previousUsed = used;
    }

    /// <summary>The generation is empty and the file holds room past its header page: what an idle store can give back.</summary>
    public bool HoldsIdleRoom => Used == 0 && _zeroedTo > PageSize;

    /// <summary>
    /// An empty generation gives back all its room but the header page: a store that has
    /// received nothing for a while (an import is over, the pollers are off) keeps no megabytes
    /// for a head it may not get; if samples come again, the log grows in steps as it did at
    /// first (a 64 KiB zero-filled step, then doubling).
    /// </summary>
    public void GiveBackIdleRoom()
    {
        if (!HoldsIdleRoom) return;
        CutTo(PageSize);
        _previousUsed = 0;
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
        CutTo(Math.Max(GrowStep, (used + GrowStep - 1) / GrowStep * GrowStep));
    }

    /// <summary>Shortens the file to <paramref name="keep"/> bytes of room if it holds more.</summary>
    private void CutTo(long keep)
    {
        if (_zeroedTo <= keep) return;
        RandomAccess.SetLength(_file, keep);
        _zeroedTo = keep;
    }

    /// <summary>Takes one encoded record; it is written and synced by the next <see cref="Sync"/>.</summary>
    /// <exception cref="InvalidOperationException">the record does not fit; seal and restart first.</exception>
    public void Append(ReadOnlySpan<byte> record)
    {
        if (record.Length > Free) throw new InvalidOperationException("the head log is full: seal it first");
        int at = _carry + _pendingCount;
        _buffer.EnsureCapacity(at + record.Length);
        record.CopyTo(_buffer.Span(at, record.Length));
        _pendingCount += record.Length;
    }

    /// <summary>
    /// Writes zeros ahead of the records, synced, so later syncs of these bytes change no file
    /// metadata: in steps as large as the file (64 KiB at least, 1 MiB at most), so that a log
    /// that starts from its header page (new, or idle and given back) and then gets a sample an
    /// hour writes 64 KiB of zeros, not a megabyte, while a busy one soon grows a megabyte a step.
    /// </summary>
    private void ZeroFillTo(long end)
    {
        long step = Math.Clamp(_zeroedTo, MinGrowStep, GrowStep);
        long target = Math.Max(end, Math.Min(_maxBytes, (end + step - 1) / step * step));
        var zeros = new byte[64 * 1024];
        for (long at = _zeroedTo; at < target; at += zeros.Length)
            RandomAccess.Write(_file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, target - at)), at);
        _zeroedTo = target;
        // fsync (not fdatasync): the new length must be on the disk before data relies on it.
        RandomAccess.FlushToDisk(_file);
    }

    /// <summary>The log as written so far (after <see cref="Sync"/>), for a backup: its header and records, without the room after them.</summary>
    public byte[] Snapshot()
    {
        Sync();
        var bytes = new byte[_position];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(_file, bytes.AsSpan(read), read);
            if (n == 0) throw new IOException($"{System.IO.Path.GetFileName(Path)} ended at byte {read} of {bytes.Length}");
            read += n;
        }
        return bytes;
    }

    /// <summary>Writes the pending records (one write) and puts them on the disk (fdatasync); a no-op when there are none.</summary>
    public void Sync()
    {
        if (_pendingCount > 0)
        {
            // Direct: from the tail sector's start to the end of the last sector touched, the
            // rest of which is zeros (or an older generation's bytes, never replayed).
            long start = _position - _carry, end = _position + _pendingCount;
            int length = _carry + _pendingCount;
            int written = (length + _align - 1) & -_align;
            _buffer.EnsureCapacity(written);
            _buffer.Span(length, written - length).Clear();
            if (start + written > _zeroedTo) ZeroFillTo(start + written);
            Write(start, written);
            _position = end;
            _carry = (int)(end & (_align - 1));
            _buffer.Span(length - _carry, _carry).CopyTo(_buffer.Span(0, _carry));
            _pendingCount = 0;
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

    private void Write(long start, int length)
    {
        if (_direct is null)
        {
            RandomAccess.Write(_file, _buffer.Span(0, length), start);
            return;
        }
        try
        {
            RandomAccess.Write(_direct, _buffer.Span(0, length), start);
        }
        catch (IOException)
        {
            // The same bytes (whole sectors) through the page cache. If that works, direct I/O was
            // refused (the file moved to a file system without it?) and is given up; if it fails
            // too, the disk is failing, and direct I/O stays for when it recovers.
            RandomAccess.Write(_file, _buffer.Span(0, length), start);
            _direct.Dispose();
            _direct = null;
        }
    }

    public bool HasUnsynced => _dirty || _pendingCount > 0;

    public void Dispose()
    {
        _direct?.Dispose();
        _file.Dispose();
        _buffer.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle fd);
}
