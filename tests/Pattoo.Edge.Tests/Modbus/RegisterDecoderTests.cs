using System.Globalization;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// Every type in every byte order: the wire bytes are the value's big-endian bytes A B C D ...
/// rearranged as the order's name says (DCBA = little-endian, BADC = bytes swapped inside each
/// register, CDAB = registers in reverse order), computed apart from the decoder.
/// </summary>
public sealed class RegisterDecoderTests
{
    [Theory]
    [InlineData(ModbusValueType.Int16, ModbusByteOrder.ABCD, "CFC7", "-12345")]
    [InlineData(ModbusValueType.Int16, ModbusByteOrder.DCBA, "C7CF", "-12345")]
    [InlineData(ModbusValueType.Int16, ModbusByteOrder.BADC, "C7CF", "-12345")]
    [InlineData(ModbusValueType.Int16, ModbusByteOrder.CDAB, "CFC7", "-12345")]
    [InlineData(ModbusValueType.UInt16, ModbusByteOrder.ABCD, "D431", "54321")]
    [InlineData(ModbusValueType.UInt16, ModbusByteOrder.DCBA, "31D4", "54321")]
    [InlineData(ModbusValueType.UInt16, ModbusByteOrder.BADC, "31D4", "54321")]
    [InlineData(ModbusValueType.UInt16, ModbusByteOrder.CDAB, "D431", "54321")]
    [InlineData(ModbusValueType.Int32, ModbusByteOrder.ABCD, "F8A432EB", "-123456789")]
    [InlineData(ModbusValueType.Int32, ModbusByteOrder.DCBA, "EB32A4F8", "-123456789")]
    [InlineData(ModbusValueType.Int32, ModbusByteOrder.BADC, "A4F8EB32", "-123456789")]
    [InlineData(ModbusValueType.Int32, ModbusByteOrder.CDAB, "32EBF8A4", "-123456789")]
    [InlineData(ModbusValueType.UInt32, ModbusByteOrder.ABCD, "BA2C2B15", "3123456789")]
    [InlineData(ModbusValueType.UInt32, ModbusByteOrder.DCBA, "152B2CBA", "3123456789")]
    [InlineData(ModbusValueType.UInt32, ModbusByteOrder.BADC, "2CBA152B", "3123456789")]
    [InlineData(ModbusValueType.UInt32, ModbusByteOrder.CDAB, "2B15BA2C", "3123456789")]
    [InlineData(ModbusValueType.Int64, ModbusByteOrder.ABCD, "EEDDEF0B82167EEB", "-1234567890123456789")]
    [InlineData(ModbusValueType.Int64, ModbusByteOrder.DCBA, "EB7E16820BEFDDEE", "-1234567890123456789")]
    [InlineData(ModbusValueType.Int64, ModbusByteOrder.BADC, "DDEE0BEF1682EB7E", "-1234567890123456789")]
    [InlineData(ModbusValueType.Int64, ModbusByteOrder.CDAB, "7EEB8216EF0BEEDD", "-1234567890123456789")]
    [InlineData(ModbusValueType.UInt64, ModbusByteOrder.ABCD, "AB54A98CEB1F0AD2", "12345678901234567890")]
    [InlineData(ModbusValueType.UInt64, ModbusByteOrder.DCBA, "D20A1FEB8CA954AB", "12345678901234567890")]
    [InlineData(ModbusValueType.UInt64, ModbusByteOrder.BADC, "54AB8CA91FEBD20A", "12345678901234567890")]
    [InlineData(ModbusValueType.UInt64, ModbusByteOrder.CDAB, "0AD2EB1FA98CAB54", "12345678901234567890")]
    [InlineData(ModbusValueType.Float32, ModbusByteOrder.ABCD, "C49A522B", "-1234.5678")]
    [InlineData(ModbusValueType.Float32, ModbusByteOrder.DCBA, "2B529AC4", "-1234.5678")]
    [InlineData(ModbusValueType.Float32, ModbusByteOrder.BADC, "9AC42B52", "-1234.5678")]
    [InlineData(ModbusValueType.Float32, ModbusByteOrder.CDAB, "522BC49A", "-1234.5678")]
    [InlineData(ModbusValueType.Float64, ModbusByteOrder.ABCD, "C0F81CD6E9E2FBEC", "-98765.4321012345")]
    [InlineData(ModbusValueType.Float64, ModbusByteOrder.DCBA, "ECFBE2E9D61CF8C0", "-98765.4321012345")]
    [InlineData(ModbusValueType.Float64, ModbusByteOrder.BADC, "F8C0D61CE2E9ECFB", "-98765.4321012345")]
    [InlineData(ModbusValueType.Float64, ModbusByteOrder.CDAB, "FBECE9E21CD6C0F8", "-98765.4321012345")]
    public void DecodesEveryTypeInEveryOrder(ModbusValueType type, ModbusByteOrder order, string wireHex, string expected)
    {
        byte[] wire = Hex.Bytes(wireHex);
        Assert.Equal(RegisterDecoder.RegisterCount(type) * 2, wire.Length);
        double value = RegisterDecoder.DecodeNumber(wire, type, order);
        double want = type switch
        {
            ModbusValueType.Float32 => float.Parse(expected, CultureInfo.InvariantCulture),
            ModbusValueType.UInt64 => ulong.Parse(expected, CultureInfo.InvariantCulture),
            _ => double.Parse(expected, CultureInfo.InvariantCulture),
        };
        Assert.Equal(want, value);
        if (type is ModbusValueType.Int16 or ModbusValueType.Int32 or ModbusValueType.Int64)
            Assert.Equal(long.Parse(expected, CultureInfo.InvariantCulture), RegisterDecoder.DecodeInt64(wire, type, order));
        if (type == ModbusValueType.UInt64)
            Assert.Equal(ulong.Parse(expected, CultureInfo.InvariantCulture), RegisterDecoder.DecodeBits(wire, order));
    }

    [Theory]
    [InlineData(ModbusByteOrder.ABCD, "0102030405060708", "0102030405060708")]
    [InlineData(ModbusByteOrder.DCBA, "0102030405060708", "0807060504030201")]
    [InlineData(ModbusByteOrder.BADC, "0102030405060708", "0201040306050807")]
    [InlineData(ModbusByteOrder.CDAB, "0102030405060708", "0708050603040102")]
    [InlineData(ModbusByteOrder.CDAB, "01020304", "03040102")]
    [InlineData(ModbusByteOrder.BADC, "0102", "0201")]
    public void RearrangesToBigEndian(ModbusByteOrder order, string wireHex, string bigEndianHex)
    {
        byte[] wire = Hex.Bytes(wireHex);
        var be = new byte[wire.Length];
        RegisterDecoder.ToBigEndian(wire, order, be);
        Assert.Equal(bigEndianHex, Hex.Of(be));
    }

    [Theory]
    [InlineData("A005", ModbusByteOrder.ABCD, new[] { 0, 2, 13, 15 })]   // 0xA005: bits 0, 2, 13, 15
    [InlineData("05A0", ModbusByteOrder.BADC, new[] { 0, 2, 13, 15 })]   // the same word, bytes swapped
    [InlineData("8000", ModbusByteOrder.ABCD, new[] { 15 })]
    [InlineData("0000", ModbusByteOrder.ABCD, new int[0])]
    public void ReadsBitsOfARegister(string wireHex, ModbusByteOrder order, int[] set)
    {
        for (int bit = 0; bit < 16; bit++)
            Assert.Equal(Array.IndexOf(set, bit) >= 0, RegisterDecoder.DecodeRegisterBit(Hex.Bytes(wireHex), order, bit));
    }

    [Theory]
    [InlineData("50617474 6F6F2045 64676500", ModbusByteOrder.ABCD, "Pattoo Edge")]      // high byte first, NUL-terminated
    [InlineData("61507474 6F6F4520 67640065", ModbusByteOrder.BADC, "Pattoo Edge")]      // low byte first
    [InlineData("41422020 2020", ModbusByteOrder.ABCD, "AB")]                         // trailing blanks trimmed
    [InlineData("0000", ModbusByteOrder.ABCD, "")]
    [InlineData("C3A9 0000", ModbusByteOrder.ABCD, "é")]                                 // UTF-8
    public void ReadsStrings(string wireHex, ModbusByteOrder order, string expected)
        => Assert.Equal(expected, RegisterDecoder.DecodeString(Hex.Bytes(wireHex), order));

    [Fact]
    public void ReadsPackedBitsLsbFirst()
    {
        byte[] data = Hex.Bytes("CD6B05"); // spec 6.1: coils 20-38 = 1100 1101, 0110 1011, 0000 0101
        bool[] expected = [true, false, true, true, false, false, true, true, true, true, false, true, false, true, true, false, true, false, true];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], RegisterDecoder.ReadBit(data, i));
    }

    [Fact]
    public void FloatSpecialsComeThroughForThePollerToJudge()
    {
        Assert.True(double.IsNaN(RegisterDecoder.DecodeNumber(Hex.Bytes("7FC00000"), ModbusValueType.Float32, ModbusByteOrder.ABCD)));
        Assert.True(double.IsPositiveInfinity(RegisterDecoder.DecodeNumber(Hex.Bytes("00007F80"), ModbusValueType.Float32, ModbusByteOrder.CDAB)));
    }

    [Fact]
    public void RefusesShortOrOddInput()
    {
        Assert.Throws<ArgumentException>(() => RegisterDecoder.DecodeNumber(Hex.Bytes("0102"), ModbusValueType.Int32, ModbusByteOrder.ABCD));
        Assert.Throws<ArgumentException>(() => RegisterDecoder.ToBigEndian(Hex.Bytes("010203"), ModbusByteOrder.ABCD, new byte[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RegisterDecoder.DecodeRegisterBit(Hex.Bytes("0102"), ModbusByteOrder.ABCD, 16));
    }
}

public sealed class RequestPlannerTests
{
    private static PlanItem H(int address, int count = 1) => new(ModbusTable.HoldingRegister, (ushort)address, (ushort)count);

    private static string Show(List<PlannedRequest> plan)
        => string.Join(" | ", plan.Select(r => $"{r.Table.Name()} {r.Address}+{r.Count} [{string.Join(",", r.Items)}]"));

    [Fact]
    public void MergesNeighboursAndKeepsHolesApartWithoutAGap()
    {
        var items = new[] { H(0, 2), H(2), H(4, 2), H(10) };
        Assert.Equal("holding 0+3 [0,1] | holding 4+2 [2] | holding 10+1 [3]", Show(RequestPlanner.Plan(items, new PlanLimits())));
    }

    [Fact]
    public void AGapAllowanceMergesAcrossHoles()
    {
        var items = new[] { H(10), H(0, 2), H(4, 2) };
        Assert.Equal("holding 0+6 [1,2] | holding 10+1 [0]", Show(RequestPlanner.Plan(items, new PlanLimits(MaxGap: 2))));
        Assert.Equal("holding 0+11 [0,1,2]", Show(RequestPlanner.Plan(items, new PlanLimits(MaxGap: 4))));
    }

    [Fact]
    public void TablesNeverMixAndComeInTableOrder()
    {
        var items = new[] { new PlanItem(ModbusTable.InputRegister, 0, 1), H(1), new PlanItem(ModbusTable.Coil, 0, 1), new PlanItem(ModbusTable.DiscreteInput, 1, 1) };
        Assert.Equal("coil 0+1 [2] | discrete 1+1 [3] | holding 1+1 [1] | input 0+1 [0]", Show(RequestPlanner.Plan(items, new PlanLimits(MaxGap: 100))));
    }

    [Fact]
    public void RespectsTheProtocolLimits()
    {
        var regs = Enumerable.Range(0, 300).Select(i => H(i)).ToArray();
        var plan = RequestPlanner.Plan(regs, new PlanLimits());
        Assert.Equal([125, 125, 50], plan.Select(r => (int)r.Count));
        var bits = Enumerable.Range(0, 4500).Select(i => new PlanItem(ModbusTable.Coil, (ushort)i, 1)).ToArray();
        Assert.Equal([2000, 2000, 500], RequestPlanner.Plan(bits, new PlanLimits()).Select(r => (int)r.Count));
        Assert.Equal(30, RequestPlanner.Plan(regs, new PlanLimits(MaxRegisters: 10)).Count);
    }

    [Fact]
    public void AWideValueStartsANewRequestRatherThanOverflowing()
    {
        var items = new[] { H(0, 4), H(120, 4), H(124, 4) }; // the 64-bit value at 124 would make 0..127 = 128 registers
        Assert.Equal("holding 0+124 [0,1] | holding 124+4 [2]", Show(RequestPlanner.Plan(items, new PlanLimits(MaxGap: 200))));
    }

    [Fact]
    public void OverlappingValuesShareRegisters()
    {
        var items = new[] { H(0, 2), new PlanItem(ModbusTable.HoldingRegister, 1, 1), H(0, 1) };
        Assert.Equal("holding 0+2 [0,1,2]", Show(RequestPlanner.Plan(items, new PlanLimits())));
    }

    [Fact]
    public void SplitGivesOneRequestPerValue()
    {
        var items = new[] { H(0, 2), H(2), H(3, 4) };
        var plan = RequestPlanner.Plan(items, new PlanLimits());
        Assert.Equal("holding 0+2 [0] | holding 2+1 [1] | holding 3+4 [2]", Show(RequestPlanner.Split(Assert.Single(plan), items)));
    }

    [Fact]
    public void RefusesItemsNoRequestCanHold()
    {
        Assert.Throws<ArgumentException>(() => RequestPlanner.Plan([H(0, 126)], new PlanLimits()));
        Assert.Throws<ArgumentException>(() => RequestPlanner.Plan([H(65534, 4)], new PlanLimits()));
    }
}
