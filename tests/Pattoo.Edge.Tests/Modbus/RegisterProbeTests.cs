using Pattoo.Edge.Pollers.Modbus.Discovery;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Tests.Modbus;

public sealed class RegisterProbeTests
{
    [Theory]
    [InlineData("40001", ModbusTable.HoldingRegister, 0)]
    [InlineData("30005", ModbusTable.InputRegister, 4)]
    [InlineData("00017", ModbusTable.Coil, 16)]
    [InlineData("10001", ModbusTable.DiscreteInput, 0)]
    [InlineData("49999", ModbusTable.HoldingRegister, 9998)]
    [InlineData("410000", ModbusTable.HoldingRegister, 9999)]
    [InlineData("465536", ModbusTable.HoldingRegister, 65535)]
    public void ReferencesReadAndWriteBack(string text, ModbusTable table, int address)
    {
        Assert.True(RegisterProbe.TryParseReference(text, out var t, out int a));
        Assert.Equal((table, address), (t, a));
        Assert.Equal(text, RegisterProbe.Reference(table, address));
    }

    [Theory]
    [InlineData("40000")]
    [InlineData("20001")]
    [InlineData("4001")]
    [InlineData("465537")]
    [InlineData("4000a")]
    [InlineData("")]
    public void NotAReference(string text) => Assert.False(RegisterProbe.TryParseReference(text, out _, out _));

    [Theory]
    [InlineData("40001:float32", "too few parts")]
    [InlineData("40000:float32:k", "\"40000\" is not a register reference")]
    [InlineData("40001:real:k", "unknown type \"real\"")]
    [InlineData("40001:float32:CDAB", "no key")]
    [InlineData("40001:float32:k:0", "scale \"0\" is not a number other than 0")]
    [InlineData("40001:string:serial", "a string needs its length")]
    [InlineData("40001:bool:alarm", "a bool in a register needs its bit")]
    [InlineData("40001:bool:alarm:16", "a bool in a register needs its bit")]
    [InlineData("00001:uint16:k", "coil 0 holds a bit: the type is bool")]
    [InlineData("00001:bool:k:2", "a bool takes no NUMBER")]
    [InlineData("465536:uint32:k", "the value runs past address 65535")]
    [InlineData("40001:uint16:bad key", "key \"bad key\" should be")]
    [InlineData("40001:uint16:k:1:2", "too many parts")]
    public void BadPicksSayWhatIsWrong(string pick, string why)
    {
        var e = Assert.Throws<FormatException>(() => ModbusPick.Parse(pick));
        Assert.StartsWith($"pick \"{pick}\": {why}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADuplicateKeyIsRefused()
    {
        var e = Assert.Throws<FormatException>(() => ModbusPick.ParseList("40001:uint16:k,40002:uint16:k"));
        Assert.Contains("key \"k\" is already used by \"40001:uint16:k\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOrderOfAFloatIsReadOnce()
    {
        // -1234.5678 = 0xC49A522B, as each order puts it on the wire
        (ushort, ushort, ModbusByteOrder)[] wires =
            [(0xC49A, 0x522B, ModbusByteOrder.ABCD), (0x522B, 0xC49A, ModbusByteOrder.CDAB), (0x9AC4, 0x2B52, ModbusByteOrder.BADC), (0x2B52, 0x9AC4, ModbusByteOrder.DCBA)];
        foreach (var (first, second, order) in wires)
        {
            var plausible = RegisterProbe.ReadPair(first, second).Where(r => r.FloatPlausible).ToList();
            var only = Assert.Single(plausible);
            Assert.Equal(order, only.Order);
            Assert.Equal(-1234.5678f, only.Float);
        }
    }

    [Theory]
    [InlineData(230.1f, 4)]
    [InlineData(12.5f, 3)]
    [InlineData(1200f, 2)]
    [InlineData(-0.001f, 1)]
    [InlineData(-1234.5678f, 8)]
    public void SignificantDigits(float value, int digits) => Assert.Equal(digits, RegisterProbe.SignificantDigits(value));

    [Fact]
    public void AnyRegistersMakeATableAndAConfigThatBinds()
    {
        // Whatever a device answers, discovery prints a table and, for --emit-plausible, a device the loader accepts.
        var random = new Random(20261207);
        for (int run = 0; run < 300; run++)
        {
            var blocks = new List<ModbusBlock>();
            int start = random.Next(0, 1000);
            foreach (var table in (ModbusTable[])[ModbusTable.HoldingRegister, ModbusTable.InputRegister])
            {
                var words = new ushort[random.Next(1, 40)];
                for (int i = 0; i < words.Length; i++)
                {
                    // a mix of the shapes devices use: zeros, small counts, text, floats' halves, noise
                    words[i] = (ushort)(random.Next(5) switch { 0 => 0, 1 => random.Next(100), 2 => 0x4100 + random.Next(0x700), 3 => 0x2041 + random.Next(0x5A00), _ => random.Next(65536) });
                }
                blocks.Add(new ModbusBlock(table, start, words, []));
            }
            blocks.Add(new ModbusBlock(ModbusTable.Coil, start, [], [.. Enumerable.Range(0, random.Next(1, 30)).Select(_ => random.Next(2) == 1)]));
            var survey = new ModbusUnitSurvey(1, blocks, [], 3);
            var picks = ModbusDiscoveryToml.Plausible(survey);
            Assert.Empty(ModbusDiscoveryToml.Check(survey, picks));
            string toml = ModbusDiscoveryToml.Write("pattoo-edge discover modbus test", "fuzz", new ModbusEndpoint("tcp", "192.0.2.1:502", null),
                [survey], new Dictionary<byte, List<ModbusPick>> { [1] = picks }, DateTimeOffset.UnixEpoch);
            if (picks.Count > 0) Assert.Equal(picks.Count, Assert.Single(ModbusTestSupport.Bind(toml).Devices).Values.Count);
        }
    }
}
