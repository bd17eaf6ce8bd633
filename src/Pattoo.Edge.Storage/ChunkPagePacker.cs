namespace Pattoo.Edge.Storage;

/// <summary>A chunk row to insert: its series, first and last timestamps, points and encoded block.</summary>
internal readonly record struct ChunkRow(long Idx, long First, long Last, int Count, byte[] Data);

/// <summary>
/// Chooses the order in which a compaction step's day blocks are appended to
/// the <c>chunk</c> table so that they fill its pages.
/// <para>
/// Why: rows are appended at the table's end, and SQLite starts a new leaf page for a row that
/// does not fit the last one, leaving the rest of that page empty. Day blocks of 1-4 KB on
/// 4 KiB pages mostly go one to a page: at 10,000 series x 2,000 points, 6.2 of the table's 36.8
/// MiB were empty. Taking, each time, the largest row that still fits the last page (a small
/// one after a large one) brings that to 2.3 MiB. New databases have 1 KiB pages, where most
/// blocks overflow and only their remainders are packed: 0.35 MiB
/// (<see cref="TimeSeriesStore.NewDatabasePageSize"/>).
/// </para>
/// <para>
/// The free room of the last page is a model of SQLite's table leaf format (cell sizes, overflow
/// pages), kept true by a probe after each insert: pages allocated beyond the row's overflow
/// pages mean it opened a new leaf. A wrong model (a start, a rebalance after deletes, a pointer
/// map page) costs a little room until the next leaf the probe sees, never data.
/// </para>
/// </summary>
internal sealed class ChunkPagePacker
{
    private const int LeafHeaderBytes = 8, CellPointerBytes = 2;
    private readonly int _pageSize;
    private readonly int _maxLocal, _minLocal;

    /// <summary>Bytes free in the table's last leaf page as the model has it; 0 (unknown) at a start, so the first row is taken to open a page.</summary>
    private int _free;

    private bool _known;

    /// <summary>Rows the model placed on the wrong page (the probe corrected it): a check of the model, for tests.</summary>
    internal int Mispredicted { get; private set; }

    /// <summary>The rowid the next row is likely to get (its varint is part of the cell).</summary>
    private long _nextRowid = 1 << 21;

    public ChunkPagePacker(int pageSize)
    {
        if (pageSize < 512) throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "not a SQLite page size");
        _pageSize = pageSize;
        // SQLite's limits for a table b-tree leaf (file format, "Cell Payload Overflow Pages").
        _maxLocal = pageSize - 35;
        _minLocal = (pageSize - 12) * 32 / 255 - 23;
    }

    /// <summary>
    /// Appends <paramref name="rows"/> (emptied) through <paramref name="insert"/>, which inserts
    /// one and returns the number of pages in use (page_count - freelist_count) and the row's id.
    /// <paramref name="pagesInUse"/> is that count before the first.
    /// </summary>
    public void Append(List<ChunkRow> rows, long pagesInUse, Func<ChunkRow, (long PagesInUse, long Rowid)> insert)
    {
        int n = rows.Count;
        if (n == 0) return;
        // Rows by cell size; "available at or below" links skip the rows already appended.
        var cells = new int[n];
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            cells[i] = CellBytes(rows[i], _nextRowid, out _);
            order[i] = i;
        }
        Array.Sort(cells, order);
        var below = new int[n];
        for (int i = 0; i < n; i++) below[i] = i;
        for (int left = n; left > 0; left--)
        {
            // The largest row that fits the last page; if none does, the largest (it opens a page).
            int fit = UpperBound(cells, _free - CellPointerBytes) - 1;
            int at = fit >= 0 ? Available(below, fit) : -1;
            if (at < 0) at = Available(below, n - 1);
            below[at] = at - 1;
            var row = rows[order[at]];
            int cell = CellBytes(row, _nextRowid, out int overflowPages);
            var (inUse, rowid) = insert(row);
            _nextRowid = rowid + 1;
            bool opened = inUse - pagesInUse > overflowPages;
            if (_known && opened != cell + CellPointerBytes > _free) Mispredicted++;
            _known = true;
            if (opened) _free = _pageSize - LeafHeaderBytes - cell - CellPointerBytes;
            else _free -= cell + CellPointerBytes;
            if (_free < 0) _free = 0;
            pagesInUse = inUse;
        }
        rows.Clear();
    }

    /// <summary>The last position at or below <paramref name="i"/> not taken yet, or -1.</summary>
    private static int Available(int[] below, int i)
    {
        int root = i;
        while (root >= 0 && below[root] != root) root = below[root];
        while (i >= 0 && below[i] != i) { int next = below[i]; below[i] = root; i = next; }
        return root;
    }

    /// <summary>The first index whose value is greater than <paramref name="value"/> (sorted ascending).</summary>
    private static int UpperBound(int[] sorted, int value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// Bytes a row of <c>chunk (id INTEGER PRIMARY KEY, idx_datapoint, ts_start, ts_end, count, data)</c>
    /// takes in a leaf page (without its 2-byte pointer), and the overflow pages it needs.
    /// </summary>
    internal int CellBytes(in ChunkRow row, long rowid, out int overflowPages)
    {
        int blobType = VarintBytes(row.Data.Length * 2L + 12);
        // Record header: its own size, then a serial type per column (the rowid alias is NULL).
        int header = 1 + 1 + 4 + blobType;
        long payload = header + IntBytes(row.Idx) + IntBytes(row.First) + IntBytes(row.Last) + IntBytes(row.Count) + row.Data.Length;
        long local = payload;
        overflowPages = 0;
        if (payload > _maxLocal)
        {
            long surplus = _minLocal + (payload - _minLocal) % (_pageSize - 4);
            local = surplus <= _maxLocal ? surplus : _minLocal;
            overflowPages = (int)((payload - local + _pageSize - 5) / (_pageSize - 4));
            local += 4; // the first overflow page's number
        }
        return (int)(VarintBytes(payload) + VarintBytes(rowid) + local);
    }

    private static int VarintBytes(long v)
    {
        int n = 1;
        for (ulong u = (ulong)v; u >= 128 && n < 9; u >>= 7) n++;
        return n;
    }

    /// <summary>Bytes of an integer's serial type body (file format 4: 0 and 1 take none).</summary>
    private static int IntBytes(long v) => v switch
    {
        0 or 1 => 0,
        >= -128 and <= 127 => 1,
        >= -32768 and <= 32767 => 2,
        >= -8388608 and <= 8388607 => 3,
        >= int.MinValue and <= int.MaxValue => 4,
        >= -(1L << 47) and < 1L << 47 => 6,
        _ => 8,
    };
}
