using System.Globalization;
using System.Text;

namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>One reading of a register pair under one byte order, as the probe table shows it.</summary>
/// <param name="Order">How the pair's bytes were arranged.</param>
/// <param name="Float">The pair as float32.</param>
/// <param name="Int">The pair as int32.</param>
/// <param name="UInt">The pair as uint32.</param>
public readonly record struct PairReading(ModbusByteOrder Order, float Float, int Int, uint UInt)
{
    /// <summary>A float a device plausibly reports: finite, not zero, 0.001 to 10,000,000 in size.</summary>
    public bool FloatPlausible => RegisterProbe.IsPlausibleFloat(Float);

    /// <summary>An integer that fits in the low word's neighbourhood: not zero, under 2^24 in size.</summary>
    public bool IntPlausible => Int != 0 && Int > -(1 << 24) && Int < (1 << 24);
}

/// <summary>
/// Pure helpers of `discover modbus`: the manual's 1-based register references (40001, 30001,
/// 00001, 10001), every 32-bit reading of a register pair under the four byte orders, what looks
/// plausible, and the probe table printed for the technician.
/// </summary>
public static class RegisterProbe
{
    /// <summary>The four orders in the order the table lists them.</summary>
    public static readonly ModbusByteOrder[] Orders = [ModbusByteOrder.ABCD, ModbusByteOrder.CDAB, ModbusByteOrder.BADC, ModbusByteOrder.DCBA];

    private static char Prefix(ModbusTable table) => table switch
    {
        ModbusTable.Coil => '0',
        ModbusTable.DiscreteInput => '1',
        ModbusTable.InputRegister => '3',
        _ => '4',
    };

    /// <summary>
    /// The manual's reference of a 0-based address: holding 0 is 40001, input 4 is 30005; five digits
    /// up to address 9998, six beyond (holding 9999 is 410000).
    /// </summary>
    public static string Reference(ModbusTable table, int address)
        => address < 9999
            ? Prefix(table) + (address + 1).ToString("D4", CultureInfo.InvariantCulture)
            : Prefix(table) + (address + 1).ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a manual's reference (40001, 30005, 00017, 10001, or six digits: 400001) into its table and
    /// 0-based address; false for anything else (a reference is 1-based: 40000 is not one).
    /// </summary>
    public static bool TryParseReference(string text, out ModbusTable table, out int address)
    {
        table = default;
        address = -1;
        if (text.Length is not (5 or 6) || !text.All(char.IsAsciiDigit)) return false;
        switch (text[0])
        {
            case '0': table = ModbusTable.Coil; break;
            case '1': table = ModbusTable.DiscreteInput; break;
            case '3': table = ModbusTable.InputRegister; break;
            case '4': table = ModbusTable.HoldingRegister; break;
            default: return false;
        }
        int number = int.Parse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);
        if (number < 1 || number > 65536) return false;
        address = number - 1;
        return true;
    }

    /// <summary>"holding", "input", "coil", "discrete": the names the config's <c>table</c> key takes.</summary>
    public static string ConfigName(this ModbusTable table) => table switch
    {
        ModbusTable.Coil => "coil",
        ModbusTable.DiscreteInput => "discrete",
        ModbusTable.InputRegister => "input",
        _ => "holding",
    };

    /// <summary>The pair <paramref name="first"/>, <paramref name="second"/> (in address order) under every byte order, in <see cref="Orders"/>' order.</summary>
    public static PairReading[] ReadPair(ushort first, ushort second)
    {
        Span<byte> wire = [(byte)(first >> 8), (byte)first, (byte)(second >> 8), (byte)second];
        var readings = new PairReading[Orders.Length];
        for (int i = 0; i < Orders.Length; i++)
        {
            uint bits = (uint)RegisterDecoder.DecodeBits(wire, Orders[i]);
            readings[i] = new PairReading(Orders[i], BitConverter.UInt32BitsToSingle(bits), (int)bits, bits);
        }
        return readings;
    }

    public static bool IsPlausibleFloat(float value)
    {
        float size = Math.Abs(value);
        return float.IsFinite(value) && size >= 1e-3f && size < 1e7f;
    }

    /// <summary>
    /// How many significant digits the shortest text that reads back as <paramref name="value"/> has:
    /// a device's 230.1 has 4, the same bits read a word off have 7 or more. Lower is rounder.
    /// </summary>
    public static int SignificantDigits(float value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOfAny(['E', 'e']);
        if (e >= 0) text = text[..e];
        int digits = 0;
        bool leading = true;
        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c)) continue;
            if (leading && c == '0') continue;
            leading = false;
            digits++;
        }
        // trailing zeros of an integer ("1200") are not precision
        string whole = text.TrimStart('-');
        if (!whole.Contains('.')) digits -= whole.Length - whole.TrimEnd('0').Length;
        return Math.Max(digits, 1);
    }

    /// <summary>
    /// The probe table of a block of registers read from <paramref name="table"/> at
    /// <paramref name="start"/>: per register its 0-based address, its reference, the raw word in
    /// hex, uint16 and int16; then, for the pair starting there, float32 under ABCD, CDAB, BADC and
    /// DCBA, then int32 and uint32 under the same orders. A '*' marks a plausible value (see
    /// <see cref="PairReading.FloatPlausible"/>, <see cref="PairReading.IntPlausible"/>).
    /// </summary>
    public static void WriteTable(StringBuilder output, ModbusTable table, int start, ReadOnlySpan<ushort> words, string linePrefix = "")
    {
        output.Append(linePrefix).Append(CultureInfo.InvariantCulture,
            $"{"addr",5} {"ref",6} {"hex",6} {"uint16",6} {"int16",6} | {"f32 ABCD",13} {"f32 CDAB",13} {"f32 BADC",13} {"f32 DCBA",13} | {"i32 ABCD",12} {"i32 CDAB",12} {"i32 BADC",12} {"i32 DCBA",12} | {"u32 ABCD",11} {"u32 CDAB",11} {"u32 BADC",11} {"u32 DCBA",11}").Append('\n');
        for (int i = 0; i < words.Length; i++)
        {
            ushort w = words[i];
            output.Append(linePrefix).Append(CultureInfo.InvariantCulture,
                $"{start + i,5} {Reference(table, start + i),6} 0x{w:X4} {w,6} {(short)w,6} |");
            if (i + 1 < words.Length)
            {
                var readings = ReadPair(w, words[i + 1]);
                foreach (var r in readings) output.Append(' ').Append(Cell(FormatFloat(r.Float), r.FloatPlausible, 13));
                output.Append(" |");
                foreach (var r in readings) output.Append(' ').Append(Cell(r.Int.ToString(CultureInfo.InvariantCulture), r.IntPlausible, 12));
                output.Append(" |");
                foreach (var r in readings) output.Append(' ').Append(Cell(r.UInt.ToString(CultureInfo.InvariantCulture), r.IntPlausible && r.Int > 0, 11));
            }
            output.Append('\n');
        }
    }

    /// <summary>A float as the table and the config comments show it: shortest round-trip text, exponent past 1e9.</summary>
    public static string FormatFloat(float value)
    {
        if (float.IsNaN(value)) return "NaN";
        if (float.IsInfinity(value)) return value > 0 ? "Inf" : "-Inf";
        float size = Math.Abs(value);
        return size != 0 && (size >= 1e9f || size < 1e-4f)
            ? value.ToString("0.###E+0", CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string Cell(string text, bool plausible, int width)
    {
        if (plausible) text += "*";
        else text += " ";
        return text.Length >= width ? text : text.PadLeft(width);
    }
}
