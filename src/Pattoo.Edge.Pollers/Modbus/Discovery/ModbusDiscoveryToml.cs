using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus.Discovery;

/// <summary>
/// One value the technician picked: <c>REF:TYPE[:ORDER]:KEY[:NUMBER]</c>, REF being the manual's
/// reference (40001, 30005, 00017, 10001), NUMBER the scale (numbers), the register count (string)
/// or the bit (bool in a register).
/// </summary>
public sealed record ModbusPick(ModbusTable Table, int Address, ModbusValueType Type, ModbusByteOrder Order, string Key, double Scale, int Length, int? Bit, string Text)
{
    public int RegisterCount => Table.IsBits() ? 1 : Type == ModbusValueType.Bool ? 1 : RegisterDecoder.RegisterCount(Type, Length);

    /// <summary>Parses a comma-separated list of picks; the message of a <see cref="FormatException"/> names the pick and what is wrong.</summary>
    public static List<ModbusPick> ParseList(string text)
    {
        var picks = new List<ModbusPick>();
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pick = Parse(raw);
            if (picks.Find(p => p.Key == pick.Key) is { } same) throw new FormatException($"pick \"{raw}\": key \"{pick.Key}\" is already used by \"{same.Text}\"");
            picks.Add(pick);
        }
        if (picks.Count == 0) throw new FormatException("--pick needs at least one REF:TYPE[:ORDER]:KEY[:NUMBER]");
        return picks;
    }

    public static ModbusPick Parse(string text)
    {
        var parts = text.Split(':');
        string Fail(string why) => throw new FormatException($"pick \"{text}\": {why}; expected REF:TYPE[:ORDER]:KEY[:NUMBER] such as 40001:float32:CDAB:flow_m3h or 30005:uint16:temp_c:0.1");
        if (parts.Length < 3) Fail("too few parts");
        if (!RegisterProbe.TryParseReference(parts[0], out var table, out int address))
            Fail($"\"{parts[0]}\" is not a register reference (40001-465536 holding, 30001 input, 00001 coil, 10001 discrete input)");
        if (!RegisterDecoder.TryParseType(parts[1], out var type))
            Fail($"unknown type \"{parts[1]}\" (bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string)");
        int next = 2;
        var order = ModbusByteOrder.ABCD;
        if (Enum.TryParse(parts[next], ignoreCase: false, out ModbusByteOrder parsed) && parts[next].Length == 4)
        {
            order = parsed;
            next++;
        }
        if (next >= parts.Length || parts[next].Length == 0) Fail("no key");
        string key = parts[next++];
        if (key.Length > 64 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            Fail($"key \"{key}\" should be up to 64 letters, digits, '_', '.' and '-'");
        string? number = next < parts.Length ? parts[next++] : null;
        if (next < parts.Length) Fail("too many parts");
        if (table.IsBits() && type != ModbusValueType.Bool) Fail($"{table.ConfigName()} {address} holds a bit: the type is bool");

        double scale = 1;
        int length = 0;
        int? bit = null;
        if (type == ModbusValueType.String)
        {
            if (number is null || !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out length) || length is < 1 or > 125)
                Fail("a string needs its length in registers (1-125) as NUMBER");
        }
        else if (type == ModbusValueType.Bool && !table.IsBits())
        {
            if (number is null || !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b > 15)
                Fail("a bool in a register needs its bit (0-15) as NUMBER");
            else bit = b;
        }
        else if (number is not null)
        {
            if (type == ModbusValueType.Bool) Fail("a bool takes no NUMBER");
            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out scale) || !double.IsFinite(scale) || scale == 0)
                Fail($"scale \"{number}\" is not a number other than 0");
        }
        if (address + RegisterDecoder.RegisterCount(type == ModbusValueType.Bool ? ModbusValueType.UInt16 : type, length) - 1 > ushort.MaxValue)
            Fail("the value runs past address 65535");
        return new ModbusPick(table, address, type, order, key, scale, length, bit, text);
    }
}

/// <summary>Where the discovered device is reached, as its config table writes it.</summary>
/// <param name="Transport">"tcp", "rtu" or "rtu_over_tcp".</param>
/// <param name="Address">host:port for tcp and rtu_over_tcp.</param>
/// <param name="Serial">The line, for rtu.</param>
public sealed record ModbusEndpoint(string Transport, string? Address, SerialLineOptions? Serial);

/// <summary>
/// Writes what a survey found as TOML that <c>config check</c> accepts: the probe table of every
/// register block as comments, then a <c>[[modbus.devices]]</c> table per unit with the picked
/// values, or every plausible one.
/// </summary>
public static class ModbusDiscoveryToml
{
    /// <summary>
    /// The values <c>--emit-plausible</c> proposes for a unit. Per register block, the word order
    /// and alignment (floats starting at even or odd offsets) that read the most round, plausible
    /// floats win: a float's high word also makes a plausible float with its neighbour, so one pair
    /// alone cannot tell (230.1 in CDAB leaves 0x4366 beside the next float's low word 0x0000: 230.0).
    /// Pairs that read no plausible float under that choice become uint16 values, zeros left out.
    /// </summary>
    public static List<ModbusPick> Plausible(ModbusUnitSurvey survey)
    {
        var picks = new List<ModbusPick>();
        foreach (var whole in survey.Blocks.Where(b => !b.Table.IsBits()))
        {
            foreach (var (block, text) in SplitText(whole))
            {
                if (text) picks.Add(Pick(block, 0, ModbusValueType.String, ModbusByteOrder.ABCD) with { Length = block.Words.Length });
                else Numbers(block, picks);
            }
        }
        return picks;
    }

    /// <summary>
    /// A block cut into runs of text (at least 3 registers of printable ASCII, NULs only at the end,
    /// as serial numbers and model names are stored) and the runs between them.
    /// </summary>
    private static List<(ModbusBlock Block, bool Text)> SplitText(ModbusBlock block)
    {
        var parts = new List<(ModbusBlock, bool)>();
        int from = 0, i = 0;
        while (i < block.Words.Length)
        {
            int end = i;
            while (end < block.Words.Length && IsText(block.Words[end])) end++;
            if (end - i >= 3)
            {
                // the text's padding: one register with its last character, then NULs
                int padded = end;
                if (padded < block.Words.Length && block.Words[padded] != 0 && (block.Words[padded] & 0xFF) == 0 && IsPrintable((byte)(block.Words[padded] >> 8))) padded++;
                while (padded < block.Words.Length && block.Words[padded] == 0) padded++;
                if (i > from) parts.Add((Slice(block, from, i), false));
                parts.Add((Slice(block, i, padded), true));
                from = i = padded;
                continue;
            }
            i = end == i ? i + 1 : end;
        }
        if (from < block.Words.Length) parts.Add((Slice(block, from, block.Words.Length), false));
        return parts;

        static bool IsPrintable(byte b) => b is >= 0x20 and < 0x7F;
        static bool IsText(ushort w) => IsPrintable((byte)(w >> 8)) && IsPrintable((byte)w);
        static ModbusBlock Slice(ModbusBlock b, int start, int end) => new(b.Table, b.Start + start, b.Words[start..end], []);
    }

    private static void Numbers(ModbusBlock block, List<ModbusPick> picks)
    {
        {
            int bestScore = 0, bestAlignment = 0;
            var bestOrder = ModbusByteOrder.ABCD;
            foreach (int alignment in (int[])[0, 1])
            {
                foreach (var order in RegisterProbe.Orders)
                {
                    int score = 0;
                    for (int i = alignment; i + 1 < block.Words.Length; i += 2)
                        score += RoundFloat(block, i, order) is int digits ? 8 - digits : 0;
                    if (score > bestScore) (bestScore, bestAlignment, bestOrder) = (score, alignment, order);
                }
            }
            int at = 0;
            if (bestScore > 0)
            {
                for (; at < bestAlignment; at++) Word(at);
                for (; at + 1 < block.Words.Length; at += 2)
                {
                    if (RoundFloat(block, at, bestOrder) is not null) picks.Add(Pick(block, at, ModbusValueType.Float32, bestOrder));
                    else { Word(at); Word(at + 1); }
                }
            }
            for (; at < block.Words.Length; at++) Word(at);

            void Word(int i)
            {
                // a word just under 65536 is more likely a small negative int16 (a temperature) than a large count
                ushort w = block.Words[i];
                if (w != 0) picks.Add(Pick(block, i, w >= 0xFC00 ? ModbusValueType.Int16 : ModbusValueType.UInt16, ModbusByteOrder.ABCD));
            }
        }
    }

    /// <summary>The significant digits of the pair at <paramref name="i"/> read as a float in <paramref name="order"/>, when plausible and at most 7.</summary>
    private static int? RoundFloat(ModbusBlock block, int i, ModbusByteOrder order)
    {
        var r = RegisterProbe.ReadPair(block.Words[i], block.Words[i + 1])[Array.IndexOf(RegisterProbe.Orders, order)];
        if (!r.FloatPlausible) return null;
        int digits = RegisterProbe.SignificantDigits(r.Float);
        return digits <= 7 ? digits : null;
    }

    private static ModbusPick Pick(ModbusBlock block, int i, ModbusValueType type, ModbusByteOrder order)
    {
        int address = block.Start + i;
        string reference = RegisterProbe.Reference(block.Table, address);
        return new ModbusPick(block.Table, address, type, order, $"{block.Table.ConfigName()}_{reference}", 1, 0, null, reference);
    }

    /// <summary>
    /// Checks every pick against what <paramref name="survey"/> answered; the errors name the pick.
    /// </summary>
    public static List<string> Check(ModbusUnitSurvey survey, IEnumerable<ModbusPick> picks)
    {
        var errors = new List<string>();
        foreach (var p in picks)
        {
            if (survey.BlockHolding(p.Table, p.Address, p.RegisterCount) is null)
            {
                errors.Add($"pick \"{p.Text}\": unit {survey.UnitId} did not answer {p.Table.ConfigName()} {p.Address}" +
                           (p.RegisterCount > 1 ? $"-{p.Address + p.RegisterCount - 1}" : "") + " (widen --range, or check the reference)");
            }
        }
        return errors;
    }

    /// <summary>The TOML for the surveyed units; <paramref name="picksByUnit"/> null prints the tables only.</summary>
    public static string Write(string commandLine, string name, ModbusEndpoint endpoint, IReadOnlyList<ModbusUnitSurvey> surveys,
        IReadOnlyDictionary<byte, List<ModbusPick>>? picksByUnit, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(commandLine).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"# {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {surveys.Sum(s => s.Requests)} requests. ");
        sb.Append("Addresses are 0-based as the config takes them; ref is the manual's 1-based reference.\n");
        sb.Append("# '*' marks a plausible reading: a float of 0.001 to 10,000,000, an int32 under 2^24.\n");
        foreach (var survey in surveys)
        {
            sb.Append('\n');
            foreach (var note in survey.Notes) sb.Append(CultureInfo.InvariantCulture, $"# unit {survey.UnitId}: {note}\n");
            foreach (var block in survey.Blocks)
            {
                string range = block.Count == 1 ? $"{block.Start}" : $"{block.Start}-{block.End}";
                string refs = block.Count == 1 ? RegisterProbe.Reference(block.Table, block.Start)
                    : $"{RegisterProbe.Reference(block.Table, block.Start)}-{RegisterProbe.Reference(block.Table, block.End)}";
                sb.Append(CultureInfo.InvariantCulture, $"# unit {survey.UnitId}: {block.Table.ConfigName()} {range} ({refs})\n");
                if (block.Table.IsBits())
                {
                    for (int i = 0; i < block.Bits.Length; i += 16)
                    {
                        var row = block.Bits.AsSpan(i, Math.Min(16, block.Bits.Length - i));
                        sb.Append(CultureInfo.InvariantCulture, $"#   {block.Start + i,5} {RegisterProbe.Reference(block.Table, block.Start + i),6} ");
                        foreach (bool b in row) sb.Append(b ? '1' : '0');
                        sb.Append('\n');
                    }
                }
                else
                {
                    RegisterProbe.WriteTable(sb, block.Table, block.Start, block.Words, "#   ");
                }
            }

            var picks = picksByUnit is not null && picksByUnit.TryGetValue(survey.UnitId, out var p) ? p : null;
            sb.Append('\n');
            if (picks is null || picks.Count == 0)
            {
                sb.Append("# Choose the values with --pick \"40001:float32:CDAB:flow_m3h,30005:uint16:temp_c:0.1\" or --emit-plausible.\n");
                continue;
            }
            WriteDevice(sb, surveys.Count == 1 ? name : $"{name}-unit{survey.UnitId}", endpoint, survey, picks);
        }
        return sb.ToString();
    }

    private static void WriteDevice(StringBuilder sb, string name, ModbusEndpoint endpoint, ModbusUnitSurvey survey, List<ModbusPick> picks)
    {
        sb.Append("[[modbus.devices]]\n");
        sb.Append("  name = ").Append(TomlText.String(name)).Append('\n');
        if (endpoint.Transport != "tcp") sb.Append("  transport = ").Append(TomlText.String(endpoint.Transport)).Append('\n');
        if (endpoint.Address is not null) sb.Append("  address = ").Append(TomlText.String(endpoint.Address)).Append('\n');
        if (endpoint.Serial is { } line)
        {
            sb.Append("  serial_port = ").Append(TomlText.String(line.Port)).Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"  baud_rate = {line.BaudRate}\n");
            if (line.Parity != System.IO.Ports.Parity.None) sb.Append("  parity = ").Append(TomlText.String(line.Parity.ToString().ToLowerInvariant())).Append('\n');
            if (line.StopBits == System.IO.Ports.StopBits.Two) sb.Append("  stop_bits = 2\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"  unit_id = {survey.UnitId}\n");
        foreach (var p in picks)
        {
            sb.Append('\n').Append("  [[modbus.devices.values]]\n");
            string? reading = Reading(survey, p);
            sb.Append(CultureInfo.InvariantCulture, $"    # {RegisterProbe.Reference(p.Table, p.Address)}{(p.RegisterCount > 1 ? "-" + RegisterProbe.Reference(p.Table, p.Address + p.RegisterCount - 1) : "")}");
            if (reading is not null) sb.Append(" read ").Append(reading);
            sb.Append('\n');
            sb.Append("    key = ").Append(TomlText.String(p.Key)).Append('\n');
            sb.Append("    table = ").Append(TomlText.String(p.Table.ConfigName())).Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"    address = {p.Address}\n");
            sb.Append("    type = ").Append(TomlText.String(p.Type.Name())).Append('\n');
            if (p.Order != ModbusByteOrder.ABCD) sb.Append("    byte_order = ").Append(TomlText.String(p.Order.ToString())).Append('\n');
            if (p.Type == ModbusValueType.String) sb.Append(CultureInfo.InvariantCulture, $"    length = {p.Length}\n");
            if (p.Bit is int bit) sb.Append(CultureInfo.InvariantCulture, $"    bit = {bit}\n");
            if (p.Scale != 1) sb.Append("    scale = ").Append(TomlText.Number(p.Scale)).Append('\n');
        }
    }

    /// <summary>What the survey read at the pick, decoded as picked ("230.1", "\"SN-1234\"", "true").</summary>
    private static string? Reading(ModbusUnitSurvey survey, ModbusPick p)
    {
        var block = survey.BlockHolding(p.Table, p.Address, p.RegisterCount);
        if (block is null) return null;
        if (p.Table.IsBits()) return block.Bits[p.Address - block.Start] ? "true" : "false";
        var wire = new byte[2 * p.RegisterCount];
        for (int i = 0; i < p.RegisterCount; i++)
        {
            ushort w = block.Word(p.Address + i);
            wire[2 * i] = (byte)(w >> 8);
            wire[2 * i + 1] = (byte)w;
        }
        return p.Type switch
        {
            ModbusValueType.Bool => RegisterDecoder.DecodeRegisterBit(wire, p.Order, p.Bit ?? 0) ? "true" : "false",
            ModbusValueType.String => TomlText.String(RegisterDecoder.DecodeString(wire, p.Order)),
            ModbusValueType.Float32 => RegisterProbe.FormatFloat((float)RegisterDecoder.DecodeNumber(wire, p.Type, p.Order)) + Scaled(p, RegisterDecoder.DecodeNumber(wire, p.Type, p.Order)),
            _ => RegisterDecoder.DecodeNumber(wire, p.Type, p.Order).ToString("R", CultureInfo.InvariantCulture) + Scaled(p, RegisterDecoder.DecodeNumber(wire, p.Type, p.Order)),
        };
    }

    private static string Scaled(ModbusPick p, double raw)
        => p.Scale == 1 ? "" : $", stored as {(raw * p.Scale).ToString("G10", CultureInfo.InvariantCulture)}";
}
