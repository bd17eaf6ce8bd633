using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Tests.Modbus;

public class ModbusWriteCodecTests
{
    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b);

    [Fact]
    public void WriteRequestsAreFramedAsTheSpecSays()
    {
        var buffer = new byte[ModbusPdu.MaxLength];
        // Examples of the spec (sec 6.5, 6.6, 6.11, 6.12).
        Assert.Equal("0500ACFF00", Hex(buffer.AsSpan(0, ModbusWritePdu.WriteSingleCoil(buffer, 172, true))));
        Assert.Equal("0500AC0000", Hex(buffer.AsSpan(0, ModbusWritePdu.WriteSingleCoil(buffer, 172, false))));
        Assert.Equal("0600010003", Hex(buffer.AsSpan(0, ModbusWritePdu.WriteSingleRegister(buffer, 1, [0x00, 0x03]))));
        Assert.Equal("0F0013000A02CD01", Hex(buffer.AsSpan(0, ModbusWritePdu.WriteMultipleCoils(buffer, 19, [true, false, true, true, false, false, true, true, true, false]))));
        Assert.Equal("1000010002040009000A", Hex(buffer.AsSpan(0, ModbusWritePdu.WriteMultipleRegisters(buffer, 1, [0x00, 0x09, 0x00, 0x0A]))));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusWritePdu.WriteMultipleRegisters(buffer, 65535, [0, 1, 0, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusWritePdu.WriteMultipleRegisters(buffer, 0, new byte[248]));
    }

    [Theory]
    [InlineData("0600010003", "0600010003", ModbusExceptionCode.None)]
    [InlineData("1000010002040009000A", "1000010002", ModbusExceptionCode.None)]
    [InlineData("0600010003", "8602", ModbusExceptionCode.IllegalDataAddress)]
    [InlineData("0F0013000A02CD01", "8F04", ModbusExceptionCode.ServerDeviceFailure)]
    public void AnswersToWritesAreChecked(string request, string answer, ModbusExceptionCode code)
        => Assert.Equal(code, ModbusWritePdu.ReadResponse(Convert.FromHexString(answer), Convert.FromHexString(request)));

    [Theory]
    [InlineData("0600010003", "0600010004", "does not echo")]
    [InlineData("0600010003", "0300010003", "the answer is for function 3")]
    [InlineData("1000010002040009000A", "1000010003", "does not echo")]
    [InlineData("0600010003", "06000100", "5 bytes")]
    [InlineData("0600010003", "8600", "exception code 0")]
    [InlineData("0600010003", "06", "at least 2 bytes")]
    public void AnswersThatDoNotFitTheirWriteAreRejected(string request, string answer, string words)
        => Assert.Contains(words, Assert.Throws<ModbusFormatException>(() => ModbusWritePdu.ReadResponse(Convert.FromHexString(answer), Convert.FromHexString(request))).Message);

    [Fact]
    public void AnRtuWriteAnswerIsFramedByItsFunction()
    {
        var frame = new byte[8];
        RtuFrame.TryWrite(frame, 7, Convert.FromHexString("0600010003"), out int n);
        Assert.Equal(8, n);
        Assert.True(RtuFrame.TryReadResponse(frame, out byte unit, out var pdu, out int consumed));
        Assert.Equal((7, "0600010003", 8), (unit, Hex(pdu), consumed));
        Assert.False(RtuFrame.TryReadResponse(frame.AsSpan(0, 7), out _, out _, out _)); // one byte short: wait for more
    }

    public static TheoryData<string, double> Numbers => new()
    {
        { "int16", -32768 }, { "int16", 32767 }, { "uint16", 65535 }, { "int32", -2147483648 }, { "uint32", 4294967295 },
        { "int64", -9007199254740992 }, { "uint64", 9007199254740992 }, { "float32", -12.25 }, { "float64", 1.0 / 3 },
    };

    [Theory]
    [MemberData(nameof(Numbers))]
    public void EveryNumberTypeRoundTripsInEveryByteOrder(string typeName, double value)
    {
        RegisterDecoder.TryParseType(typeName, out var type);
        foreach (var order in Enum.GetValues<ModbusByteOrder>())
        {
            var wire = new byte[RegisterDecoder.RegisterCount(type) * 2];
            Assert.True(RegisterEncoder.TryEncodeNumber(value, type, order, wire));
            Assert.Equal(value, RegisterDecoder.DecodeNumber(wire, type, order));
        }
    }

    [Theory]
    [InlineData("uint16", 65536)]
    [InlineData("uint16", -1)]
    [InlineData("int16", -32769)]
    [InlineData("int32", 1.5)]
    [InlineData("uint64", 1e17)]
    [InlineData("float32", 1e39)]
    [InlineData("float64", double.NaN)]
    public void NumbersATypeCannotHoldAreRefusedNotWrapped(string typeName, double value)
    {
        RegisterDecoder.TryParseType(typeName, out var type);
        Assert.False(RegisterEncoder.TryEncodeNumber(value, type, ModbusByteOrder.ABCD, new byte[8]));
    }

    [Fact]
    public void StringsArePaddedSwappedAndRefusedWhenTooLong()
    {
        var wire = new byte[6];
        Assert.True(RegisterEncoder.TryEncodeString("auto", ModbusByteOrder.BADC, wire));
        Assert.Equal("auto", RegisterDecoder.DecodeString(wire, ModbusByteOrder.BADC));
        Assert.Equal("7561", Hex(wire.AsSpan(0, 2))); // "ua": the first character in the low byte
        Assert.False(RegisterEncoder.TryEncodeString("too long", ModbusByteOrder.ABCD, wire));
    }

    private static ModbusValueOptions Value(string toml)
        => Assert.Single(ModbusTestSupport.Bind($"[[modbus.devices]]\nname = \"d\"\naddress = \"192.0.2.1\"\n[[modbus.devices.values]]\n{toml}").Devices).Values[0];

    [Fact]
    public void ScaledValuesAreWrittenAsTheRegisterCountTheyAreAStepOf()
    {
        var setpoint = Value("key = \"sp\"\naddress = 200\nscale = 0.1\noffset = -40\nwritable = true\nmin = -40\nmax = 100");
        var request = new byte[ModbusPdu.MaxLength];
        int n = ModbusPoller.EncodeWrite(setpoint, PointValue.Of(21.5), request);
        Assert.Equal("0600C80267", Hex(request.AsSpan(0, n))); // (21.5 + 40) / 0.1 = 615
        var e = Assert.Throws<ArgumentException>(() => ModbusPoller.EncodeWrite(setpoint, PointValue.Of(21.55), request));
        Assert.Contains("the nearest are 21.5 and 21.6", e.Message);
        Assert.Contains("cannot hold", Assert.Throws<ArgumentException>(() => ModbusPoller.EncodeWrite(setpoint, PointValue.Of(-41), request)).Message);

        var forced = Value("key = \"sp\"\naddress = 9\nwritable = true\nmin = 0\nmax = 10\nwrite_multiple = true");
        Assert.Equal("100009000102000A", Hex(request.AsSpan(0, ModbusPoller.EncodeWrite(forced, PointValue.Of(10), request))));
        var coil = Value("key = \"pump\"\ntable = \"coil\"\naddress = 3\nwritable = true\nwrite_multiple = true");
        Assert.Equal("0F0003000101" + "01", Hex(request.AsSpan(0, ModbusPoller.EncodeWrite(coil, PointValue.Of(1), request))));
    }

    [Fact]
    public void RandomAnswersToWritesAreRejectedOrTakenNeverThrowOtherwise()
    {
        var random = new Random(2112);
        var request = Convert.FromHexString("1000010002040009000A");
        var buffer = new byte[16];
        for (int i = 0; i < 50_000; i++)
        {
            int length = random.Next(0, buffer.Length);
            random.NextBytes(buffer);
            if (i % 4 == 0) { buffer[0] = 0x10; if (length > 5) length = 5; }
            try
            {
                if (length > 0) ModbusWritePdu.ReadResponse(buffer.AsSpan(0, length), request);
                RtuFrame.TryReadResponse(buffer.AsSpan(0, length), out _, out _, out _);
            }
            catch (ModbusFormatException) { }
        }
    }
}
