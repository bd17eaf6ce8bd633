using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Tests.Modbus;

internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}

public sealed class Crc16Tests
{
    [Theory]
    // The CRC-16/MODBUS check value of the ASCII digits "123456789".
    [InlineData("313233343536373839", 0x4B37)]
    // MODBUS over Serial Line V1.02, 6.2.2 example: unit 0x11 reads 3 holding registers at 0x006B; sent as 76 87.
    [InlineData("11 03 006B 0003", 0x8776)]
    // Unit 1 reads 10 holding registers at 0; the classic frame 01 03 00 00 00 0A C5 CD.
    [InlineData("01 03 0000 000A", 0xCDC5)]
    [InlineData("", 0xFFFF)]
    public void Computes(string hex, int expected) => Assert.Equal((ushort)expected, Crc16.Compute(Hex.Bytes(hex)));

    [Fact]
    public void ChecksAFrameWithItsCrcLowByteFirst()
    {
        Assert.True(Crc16.Check(Hex.Bytes("01 03 0000 000A C5CD")));
        Assert.False(Crc16.Check(Hex.Bytes("01 03 0000 000A CDC5")));
        Assert.False(Crc16.Check(Hex.Bytes("01 03")));
    }
}

public sealed class ModbusPduTests
{
    [Theory]
    [InlineData(ModbusFunction.ReadCoils, 19, 19, "01 0013 0013")]            // fn 1, address 0x0013, quantity 19 (spec 6.1 example)
    [InlineData(ModbusFunction.ReadDiscreteInputs, 196, 22, "02 00C4 0016")]  // fn 2, address 196, quantity 22 (spec 6.2)
    [InlineData(ModbusFunction.ReadHoldingRegisters, 107, 3, "03 006B 0003")] // fn 3, address 107, quantity 3 (spec 6.3)
    [InlineData(ModbusFunction.ReadInputRegisters, 8, 1, "04 0008 0001")]     // fn 4, address 8, quantity 1 (spec 6.4)
    [InlineData(ModbusFunction.ReadHoldingRegisters, 65411, 125, "03 FF83 007D")] // the last 125 registers
    public void WritesAndReadsReadRequests(ModbusFunction function, int address, int quantity, string hex)
    {
        var buffer = new byte[8];
        Assert.True(ModbusPdu.TryWriteReadRequest(buffer, function, (ushort)address, (ushort)quantity, out int written));
        Assert.Equal(Hex.Of(Hex.Bytes(hex)), Hex.Of(buffer.AsSpan(0, written)));
        ModbusPdu.ReadReadRequest(buffer.AsSpan(0, written), out var f, out var a, out var q);
        Assert.Equal((function, address, quantity), (f, (int)a, (int)q));
        Assert.False(ModbusPdu.TryWriteReadRequest(new byte[4], function, (ushort)address, (ushort)quantity, out _));
    }

    [Theory]
    [InlineData(ModbusFunction.ReadHoldingRegisters, 0, 0)]
    [InlineData(ModbusFunction.ReadHoldingRegisters, 0, 126)]
    [InlineData(ModbusFunction.ReadCoils, 0, 2001)]
    [InlineData(ModbusFunction.ReadHoldingRegisters, 65535, 2)]
    public void RefusesRequestsOutsideTheSpec(ModbusFunction function, int address, int quantity)
        => Assert.Throws<ArgumentOutOfRangeException>(() => ModbusPdu.TryWriteReadRequest(new byte[8], function, (ushort)address, (ushort)quantity, out _));

    [Theory]
    // fn 3, byte count 6, registers 0x022B 0x0000 0x0064 (spec 6.3 example)
    [InlineData("03 06 022B 0000 0064", ModbusFunction.ReadHoldingRegisters, 3, "022B00000064")]
    // fn 1, byte count 3, coils 20-38 packed LSB first: CD 6B 05 (spec 6.1 example)
    [InlineData("01 03 CD6B05", ModbusFunction.ReadCoils, 19, "CD6B05")]
    // fn 2, byte count 3, inputs 197-218: AC DB 35 (spec 6.2 example)
    [InlineData("02 03 ACDB35", ModbusFunction.ReadDiscreteInputs, 22, "ACDB35")]
    // fn 4, byte count 2, register 0x000A (spec 6.4 example)
    [InlineData("04 02 000A", ModbusFunction.ReadInputRegisters, 1, "000A")]
    public void ReadsDataResponses(string hex, ModbusFunction function, int quantity, string data)
    {
        var code = ModbusPdu.ReadResponse(Hex.Bytes(hex), function, quantity, out var read);
        Assert.Equal(ModbusExceptionCode.None, code);
        Assert.Equal(data, Hex.Of(read));

        var buffer = new byte[260];
        Assert.True(ModbusPdu.TryWriteReadResponse(buffer, function, Hex.Bytes(data), out int written));
        Assert.Equal(Hex.Of(Hex.Bytes(hex)), Hex.Of(buffer.AsSpan(0, written)));
    }

    [Theory]
    [InlineData("83 02", ModbusFunction.ReadHoldingRegisters, ModbusExceptionCode.IllegalDataAddress)] // fn 3 | 0x80, code 2
    [InlineData("81 01", ModbusFunction.ReadCoils, ModbusExceptionCode.IllegalFunction)]              // fn 1 | 0x80, code 1
    [InlineData("84 0B", ModbusFunction.ReadInputRegisters, ModbusExceptionCode.GatewayTargetFailedToRespond)]
    [InlineData("82 04", ModbusFunction.ReadDiscreteInputs, ModbusExceptionCode.ServerDeviceFailure)]
    public void ReadsExceptionResponses(string hex, ModbusFunction function, ModbusExceptionCode expected)
    {
        Assert.Equal(expected, ModbusPdu.ReadResponse(Hex.Bytes(hex), function, 1, out var data));
        Assert.True(data.IsEmpty);
        var buffer = new byte[2];
        Assert.True(ModbusPdu.TryWriteException(buffer, function, expected, out _));
        Assert.Equal(Hex.Of(Hex.Bytes(hex)), Hex.Of(buffer));
    }

    [Theory]
    [InlineData("", ModbusFrameError.BadLength, "empty")]
    [InlineData("03", ModbusFrameError.BadLength, "function code only")]
    [InlineData("03 04 0001", ModbusFrameError.BadLength, "byte count 4, 2 data bytes")]
    [InlineData("03 02 0001 FF", ModbusFrameError.BadLength, "a byte past the byte count")]
    [InlineData("04 02 0001", ModbusFrameError.UnexpectedFunction, "answers function 4 to a function 3 request")]
    [InlineData("10 02 0001", ModbusFrameError.UnexpectedFunction, "function 16 is not a read")]
    [InlineData("03 04 0001 0002", ModbusFrameError.CountMismatch, "two registers for one asked")]
    [InlineData("03 03 000100", ModbusFrameError.CountMismatch, "an odd register byte count")]
    [InlineData("03 00", ModbusFrameError.CountMismatch, "byte count 0")]
    [InlineData("83 00", ModbusFrameError.BadExceptionCode, "exception code 0")]
    [InlineData("83 02 00", ModbusFrameError.BadLength, "an exception with a trailing byte")]
    public void RejectsInvalidResponses(string hex, ModbusFrameError error, string description)
    {
        var e = Assert.Throws<ModbusFormatException>(() => ModbusPdu.ReadResponse(Hex.Bytes(hex), ModbusFunction.ReadHoldingRegisters, 1, out _));
        Assert.True(error == e.Error, $"{description}: {e.Error} ({e.Message})");
    }
}

public sealed class MbapFrameTests
{
    [Fact]
    public void WritesAReadRequestAdu()
    {
        var buffer = new byte[MbapFrame.MaxLength];
        Assert.True(MbapFrame.TryWrite(buffer, 0x1501, 0xFF, Hex.Bytes("03 0004 0001"), out int n));
        Assert.Equal(Hex.Of(Hex.Bytes(
            "1501" +        // transaction id
            "0000" +        // protocol id: Modbus
            "0006" +        // length: unit id + 5-byte PDU
            "FF" +          // unit id
            "03 0004 0001")), // PDU: read 1 holding register at 4
            Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void ReadsAnAduAndReportsWhatItConsumed()
    {
        byte[] bytes = Hex.Bytes(
            "0007" +      // transaction id 7
            "0000" +      // protocol id
            "0005" +      // length 5: unit + 4-byte PDU
            "11" +        // unit 17
            "03 02 ABCD" + // PDU: 1 register, 0xABCD
            "0008 00");   // the start of the next ADU
        Assert.True(MbapFrame.TryRead(bytes, out ushort tid, out byte unit, out var pdu, out int consumed));
        Assert.Equal(7, tid);
        Assert.Equal(17, unit);
        Assert.Equal("0302ABCD", Hex.Of(pdu));
        Assert.Equal(11, consumed);
        Assert.False(MbapFrame.TryRead(bytes.AsSpan(consumed), out _, out _, out _, out int none));
        Assert.Equal(0, none);
    }

    [Theory]
    [InlineData("0001 0000 0005 11 0302AB")]       // one PDU byte short
    [InlineData("0001 0000 00")]                   // header cut
    [InlineData("")]
    public void NeedsMoreBytes(string hex) => Assert.False(MbapFrame.TryRead(Hex.Bytes(hex), out _, out _, out _, out _));

    [Theory]
    [InlineData("0001 0001 0005 11 0302ABCD", ModbusFrameError.BadProtocolId, "protocol id 1")]
    [InlineData("0001 0000 0001 11", ModbusFrameError.BadLength, "length 1: no function code")]
    [InlineData("0001 0000 00FF 11", ModbusFrameError.BadLength, "length 255: past the 253-byte PDU")]
    public void RejectsBrokenHeaders(string hex, ModbusFrameError error, string description)
    {
        var e = Assert.Throws<ModbusFormatException>(() => MbapFrame.TryRead(Hex.Bytes(hex), out _, out _, out _, out _));
        Assert.True(error == e.Error, description);
    }
}

public sealed class RtuFrameTests
{
    [Fact]
    public void WritesAReadRequestFrame()
    {
        var buffer = new byte[RtuFrame.MaxLength];
        Assert.True(RtuFrame.TryWrite(buffer, 0x11, Hex.Bytes("03 006B 0003"), out int n));
        Assert.Equal(Hex.Of(Hex.Bytes(
            "11" +           // unit 17
            "03 006B 0003" + // read 3 holding registers at 107
            "7687")),        // CRC 0x8776, low byte first
            Hex.Of(buffer.AsSpan(0, n)));
        Assert.True(RtuFrame.TryReadRequest(buffer.AsSpan(0, n), out byte unit, out var pdu, out int consumed));
        Assert.Equal((17, "03006B0003", 8), (unit, Hex.Of(pdu), consumed));
    }

    [Theory]
    // unit 17, fn 3, byte count 6, three registers, CRC (spec 6.3 example response with its CRC)
    [InlineData("11 03 06 022B 0000 0064", 17, "0306022B00000064")]
    // unit 1, exception: fn 3 | 0x80, code 2
    [InlineData("01 83 02", 1, "8302")]
    // unit 247, fn 1, byte count 1, coils 0x05
    [InlineData("F7 01 01 05", 247, "010105")]
    public void ReadsResponses(string bodyHex, int unit, string pduHex)
    {
        byte[] frame = WithCrc(bodyHex);
        Assert.True(RtuFrame.TryReadResponse(frame, out byte u, out var pdu, out int consumed));
        Assert.Equal((unit, pduHex, frame.Length), (u, Hex.Of(pdu), consumed));
        for (int cut = 0; cut < frame.Length; cut++)
            Assert.False(RtuFrame.TryReadResponse(frame.AsSpan(0, cut), out _, out _, out _));
    }

    [Theory]
    [InlineData("11 03 06 022B 0000 0064 0000", ModbusFrameError.BadCrc, "a wrong CRC")]
    [InlineData("11 11 06 022B 0000 0064 0000", ModbusFrameError.UnexpectedFunction, "function 17 (report server id) cannot be framed")]
    [InlineData("11 03 FB", ModbusFrameError.BadLength, "byte count 251")]
    [InlineData("11 00", ModbusFrameError.UnexpectedFunction, "function 0")]
    public void RejectsBadResponses(string hex, ModbusFrameError error, string description)
    {
        var e = Assert.Throws<ModbusFormatException>(() => RtuFrame.TryReadResponse(Hex.Bytes(hex), out _, out _, out _));
        Assert.True(error == e.Error, $"{description}: {e.Error}");
    }

    [Fact]
    public void AFlippedBitAnywhereFailsTheCrc()
    {
        byte[] frame = WithCrc("11 03 06 022B 0000 0064");
        for (int bit = 8 * 3; bit < frame.Length * 8; bit++) // past unit, function and byte count, which change the framing
        {
            var copy = (byte[])frame.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            var e = Assert.Throws<ModbusFormatException>(() => RtuFrame.TryReadResponse(copy, out _, out _, out _));
            Assert.Equal(ModbusFrameError.BadCrc, e.Error);
        }
    }

    [Theory]
    [InlineData(9600, 4010)]   // 3.5 x 11 bits / 9600 baud
    [InlineData(19200, 2005)]
    [InlineData(115200, 1750)] // fixed above 19200 baud
    public void InterFrameDelay(int baud, int microseconds)
        => Assert.Equal(microseconds, (int)RtuFrame.InterFrameDelay(baud).TotalMicroseconds);

    internal static byte[] WithCrc(string bodyHex)
    {
        byte[] body = Hex.Bytes(bodyHex);
        ushort crc = Crc16.Compute(body);
        return [.. body, (byte)crc, (byte)(crc >> 8)];
    }
}

/// <summary>Random and mutated frames: the decoders answer, need more bytes or throw ModbusFormatException, nothing else.</summary>
public sealed class ModbusDecoderFuzzTests
{
    [Fact]
    public void MutatedAndRandomFramesNeverEscapeTheFormatException()
    {
        var random = new Random(20241125);
        byte[][] seeds =
        [
            RtuFrameTests.WithCrc("11 03 06 022B 0000 0064"),
            RtuFrameTests.WithCrc("01 83 02"),
            RtuFrameTests.WithCrc("01 01 03 CD6B05"),
            Hex.Bytes("0007 0000 0009 11 03 06 022B 0000 0064"),
            Hex.Bytes("0001 0000 0003 01 83 02"),
        ];
        int accepted = 0, rejected = 0, partial = 0;
        for (int round = 0; round < 200_000; round++)
        {
            byte[] input;
            if (round % 4 == 0)
            {
                input = new byte[random.Next(0, 300)];
                random.NextBytes(input);
            }
            else
            {
                var seed = seeds[random.Next(seeds.Length)];
                input = Mutate(seed, random);
            }
            foreach (var decode in Decoders)
            {
                try
                {
                    if (decode(input)) accepted++;
                    else partial++;
                }
                catch (ModbusFormatException)
                {
                    rejected++;
                }
            }
        }
        Assert.True(accepted > 1000 && rejected > 1000 && partial > 1000, $"accepted {accepted}, rejected {rejected}, partial {partial}");
    }

    private static readonly Func<byte[], bool>[] Decoders =
    [
        b => RtuFrame.TryReadResponse(b, out _, out var pdu, out int n) && Check(pdu, n, b.Length),
        b => RtuFrame.TryReadRequest(b, out _, out var pdu, out int n) && Check(pdu, n, b.Length),
        b => MbapFrame.TryRead(b, out _, out _, out var pdu, out int n) && Check(pdu, n, b.Length),
        b =>
        {
            ModbusPdu.ReadResponse(b, out _, out var data);
            return data.Length <= b.Length;
        },
        b =>
        {
            ModbusPdu.ReadResponse(b, ModbusFunction.ReadHoldingRegisters, 3, out _);
            return true;
        },
    ];

    private static bool Check(ReadOnlySpan<byte> pdu, int consumed, int length)
    {
        Assert.InRange(consumed, 1, length);
        Assert.True(pdu.Length < consumed);
        return true;
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var list = new List<byte>(seed);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            switch (random.Next(4))
            {
                case 0 when list.Count > 0: list[random.Next(list.Count)] ^= (byte)(1 << random.Next(8)); break;
                case 1 when list.Count > 0: list.RemoveAt(random.Next(list.Count)); break;
                case 2: list.Insert(random.Next(list.Count + 1), (byte)random.Next(256)); break;
                default: { int cut = random.Next(list.Count + 1); list.RemoveRange(cut, list.Count - cut); break; } // truncate
            }
        }
        return list.ToArray();
    }
}
