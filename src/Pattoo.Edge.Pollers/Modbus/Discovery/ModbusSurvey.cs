using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus.Discovery;

/// <summary>A run of addresses of one table that answered: registers as words, bits as bools.</summary>
public sealed record ModbusBlock(ModbusTable Table, int Start, ushort[] Words, bool[] Bits)
{
    public int Count => Table.IsBits() ? Bits.Length : Words.Length;
    public int End => Start + Count - 1;

    public bool Holds(ModbusTable table, int address, int count) => table == Table && address >= Start && address + count - 1 <= End;

    /// <summary>The register at <paramref name="address"/>, which <see cref="Holds"/> must cover.</summary>
    public ushort Word(int address) => Words[address - Start];
}

/// <summary>What one unit answered: its blocks in table and address order, and a note per table it did not serve.</summary>
public sealed record ModbusUnitSurvey(byte UnitId, IReadOnlyList<ModbusBlock> Blocks, IReadOnlyList<string> Notes, int Requests)
{
    public ModbusBlock? BlockHolding(ModbusTable table, int address, int count)
        => Blocks.FirstOrDefault(b => b.Holds(table, address, count));
}

/// <summary>
/// Asks one unit, over one link, which addresses of each table answer: reads in the largest
/// requests the protocol allows, and where the unit answers "illegal data address" (exception 2)
/// or "illegal data value" (3) splits the request in halves until the blocks' ends are found. An
/// "illegal function" (1) or silence ends that table. Requests are paced by <paramref name="pause"/>
/// (an RS-485 line is shared with the plant's own master).
/// </summary>
internal sealed class ModbusSurveyor(ModbusLink link, TimeSpan requestTimeout, int retries, TimeSpan pause, Action<string> progress)
{
    private readonly byte[] _response = new byte[ModbusPdu.MaxLength];
    private int _responseLength;
    private int _requests;

    public int Requests => _requests;

    /// <summary>True when <paramref name="unit"/> answers a read of one holding register at <paramref name="address"/>, even with an exception.</summary>
    public async Task<bool> AnswersAsync(byte unit, int address, CancellationToken ct)
    {
        try
        {
            await ReadAsync(unit, ModbusTable.HoldingRegister, address, 1, ct).ConfigureAwait(false);
            return true;
        }
        catch (ModbusTransportException e) when (e.Failure is ModbusFailure.Timeout or ModbusFailure.Garbled)
        {
            return false;
        }
    }

    /// <summary>Every answering block of <paramref name="tables"/> between <paramref name="first"/> and <paramref name="last"/>.</summary>
    public async Task<ModbusUnitSurvey> SurveyAsync(byte unit, int first, int last, IReadOnlyList<ModbusTable> tables, CancellationToken ct)
    {
        int before = _requests;
        var blocks = new List<ModbusBlock>();
        var notes = new List<string>();
        foreach (var table in tables)
        {
            var found = new List<ModbusBlock>();
            string? stop = null;
            int max = table.ReadFunction().MaxCount();
            for (int start = first; start <= last && stop is null; start += max)
                stop = await ProbeAsync(unit, table, start, Math.Min(max, last - start + 1), found, ct).ConfigureAwait(false);
            var merged = Merge(table, found);
            blocks.AddRange(merged);
            if (stop is not null) notes.Add($"{table.ConfigName()}: {stop}");
            progress($"unit {unit}: {table.ConfigName()} {first}-{last}: " + (merged.Count == 0
                ? stop ?? "no address answered"
                : string.Join(", ", merged.Select(b => b.Count == 1 ? $"{b.Start}" : $"{b.Start}-{b.End}")) + (stop is null ? "" : $" ({stop})")));
        }
        return new ModbusUnitSurvey(unit, blocks, notes, _requests - before);
    }

    /// <summary>Reads <paramref name="count"/> items at <paramref name="start"/>, splitting on refusals; a text when the table should not be asked again.</summary>
    private async Task<string?> ProbeAsync(byte unit, ModbusTable table, int start, int count, List<ModbusBlock> found, CancellationToken ct)
    {
        ModbusExceptionCode code;
        try
        {
            code = await ReadAsync(unit, table, start, count, ct).ConfigureAwait(false);
        }
        catch (ModbusTransportException e) when (e.Failure is ModbusFailure.Timeout or ModbusFailure.Garbled)
        {
            return $"silent from {start} on: {e.Message}";
        }
        if (code == ModbusExceptionCode.None)
        {
            ModbusPdu.ReadResponse(_response.AsSpan(0, _responseLength), table.ReadFunction(), count, out var data);
            found.Add(Decode(table, start, count, data));
            return null;
        }
        switch (code)
        {
            case ModbusExceptionCode.IllegalFunction:
                return "not served (exception 1, illegal function)";
            case ModbusExceptionCode.IllegalDataAddress or ModbusExceptionCode.IllegalDataValue when count > 1:
                int half = count / 2;
                string? stop = await ProbeAsync(unit, table, start, half, found, ct).ConfigureAwait(false);
                return stop ?? await ProbeAsync(unit, table, start + half, count - half, found, ct).ConfigureAwait(false);
            default:
                return null; // one address the unit refuses: not part of a block
        }
    }

    private async Task<ModbusExceptionCode> ReadAsync(byte unit, ModbusTable table, int address, int count, CancellationToken ct)
    {
        if (_requests > 0 && pause > TimeSpan.Zero) await Task.Delay(pause, ct).ConfigureAwait(false);
        _requests++;
        var function = table.ReadFunction();
        _responseLength = await link.ReadAsync(unit, function, (ushort)address, (ushort)count, _response, requestTimeout, retries, ct).ConfigureAwait(false);
        return ModbusPdu.ReadResponse(_response.AsSpan(0, _responseLength), function, count, out _);
    }

    private static ModbusBlock Decode(ModbusTable table, int start, int count, ReadOnlySpan<byte> data)
    {
        if (table.IsBits())
        {
            var bits = new bool[count];
            for (int i = 0; i < count; i++) bits[i] = RegisterDecoder.ReadBit(data, i);
            return new ModbusBlock(table, start, [], bits);
        }
        var words = new ushort[count];
        for (int i = 0; i < count; i++) words[i] = (ushort)(data[2 * i] << 8 | data[2 * i + 1]);
        return new ModbusBlock(table, start, words, []);
    }

    /// <summary>Neighbouring blocks (split by requests, not by the unit) as one.</summary>
    internal static List<ModbusBlock> Merge(ModbusTable table, List<ModbusBlock> blocks)
    {
        var merged = new List<ModbusBlock>();
        foreach (var b in blocks.OrderBy(b => b.Start))
        {
            if (merged.Count > 0 && merged[^1].End + 1 == b.Start)
            {
                var last = merged[^1];
                merged[^1] = new ModbusBlock(table, last.Start, [.. last.Words, .. b.Words], [.. last.Bits, .. b.Bits]);
            }
            else
            {
                merged.Add(b);
            }
        }
        return merged;
    }
}
