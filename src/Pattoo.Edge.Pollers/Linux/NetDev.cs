using System.Text;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>One interface line of /proc/net/dev; <see cref="Interface"/> points into the parsed text.</summary>
public readonly ref struct NetDevStat
{
    public NetDevStat(ReadOnlySpan<char> name, scoped ReadOnlySpan<ulong> receive, scoped ReadOnlySpan<ulong> transmit)
    {
        Interface = name;
        ReceiveBytes = receive[0];
        ReceivePackets = receive[1];
        ReceiveErrors = receive[2];
        ReceiveDrops = receive[3];
        TransmitBytes = transmit[0];
        TransmitPackets = transmit[1];
        TransmitErrors = transmit[2];
        TransmitDrops = transmit[3];
    }

    public ReadOnlySpan<char> Interface { get; }
    public ulong ReceiveBytes { get; }
    public ulong ReceivePackets { get; }
    public ulong ReceiveErrors { get; }
    public ulong ReceiveDrops { get; }
    public ulong TransmitBytes { get; }
    public ulong TransmitPackets { get; }
    public ulong TransmitErrors { get; }
    public ulong TransmitDrops { get; }
}

/// <summary>
/// Parses /proc/net/dev: two header lines, then "  name: 8 receive columns 8 transmit columns".
/// A large counter can touch the colon ("eth0:123456"), so the name ends at the colon, not at a blank.
/// </summary>
public static class NetDev
{
    public static NetDevReader Parse(ReadOnlySpan<char> text, string source, List<string> problems)
        => new(text, new ProblemWriter(source, problems));
}

public ref struct NetDevReader
{
    private const int ColumnsPerDirection = 8;
    private SpanLineEnumerator _lines;
    private ProblemWriter _report;
    private int _lineNumber;
    private NetDevStat _current;

    internal NetDevReader(ReadOnlySpan<char> text, ProblemWriter report)
    {
        _lines = text.EnumerateLines();
        _report = report;
        _lineNumber = 0;
        _current = default;
    }

    public readonly NetDevReader GetEnumerator() => this;

    public readonly NetDevStat Current => _current;

    public bool MoveNext()
    {
        Span<ulong> columns = stackalloc ulong[2 * ColumnsPerDirection];
        while (_lines.MoveNext())
        {
            _lineNumber++;
            var line = _lines.Current;
            if (line.IsWhiteSpace() || line.Contains('|')) continue; // blank or a header line
            int colon = line.IndexOf(':');
            var name = colon > 0 ? line[..colon].Trim() : default;
            if (name.IsEmpty)
            {
                _report.Add(_lineNumber, line, "no interface name");
                continue;
            }
            var fields = new FieldReader(line[(colon + 1)..]);
            int count = 0;
            bool bad = false;
            while (count < columns.Length && fields.Next(out var field))
            {
                if (!Numbers.TryParseULong(field, out columns[count]))
                {
                    bad = true;
                    break;
                }
                count++;
            }
            if (bad || count < columns.Length)
            {
                _report.Add(_lineNumber, line, bad ? "not a number" : "too few fields");
                continue;
            }
            _current = new NetDevStat(name, columns[..ColumnsPerDirection], columns[ColumnsPerDirection..]);
            return true;
        }
        return false;
    }
}
