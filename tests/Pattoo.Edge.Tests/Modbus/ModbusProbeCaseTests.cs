using System.Globalization;
using Pattoo.Edge.Pollers.Modbus.Discovery;
using Pattoo.Edge.Protocols.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// `discover modbus` on bytes, registers in and table out: each folder of
/// src/Pattoo.Edge.Pollers/Modbus/probecases holds registers.txt (what a unit answered: "holding 0:
/// 199A 4366 ...", words in hex, or "coil 0: 1001", bits), args.txt (--emit-plausible, --pick LIST or
/// nothing) and expected.out (the TOML discover prints) or expected.err (every error, each as a
/// prefix, in order). A printed device table must bind as the config loader reads it.
/// PATTOO_UPDATE_EXPECTED=1 rewrites the expected files; read the diff before committing.
/// </summary>
public sealed class ModbusProbeCaseTests
{
    private static readonly string[] CaseDir = ["src", "Pattoo.Edge.Pollers", "Modbus", "probecases"];
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Cases => RepoPaths.Cases(CaseDir);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name)
    {
        string dir = RepoPaths.Combine([.. CaseDir, name]);
        var survey = ReadSurvey(Path.Combine(dir, "registers.txt"));
        string args = File.ReadAllText(Path.Combine(dir, "args.txt")).Trim();
        string outPath = Path.Combine(dir, "expected.out"), errPath = Path.Combine(dir, "expected.err");
        Assert.True(File.Exists(outPath) ^ File.Exists(errPath), $"{name}: needs exactly one of expected.out and expected.err");
        bool update = Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1";

        List<string> errors = [];
        List<ModbusPick>? picks = null;
        try
        {
            if (args.StartsWith("--pick ", StringComparison.Ordinal))
            {
                picks = ModbusPick.ParseList(args["--pick ".Length..]);
                errors = ModbusDiscoveryToml.Check(survey, picks);
            }
            else if (args == "--emit-plausible")
            {
                picks = ModbusDiscoveryToml.Plausible(survey);
            }
            else
            {
                Assert.True(args.Length == 0, $"{name}: args.txt is --emit-plausible, --pick LIST or empty, not {args}");
            }
        }
        catch (FormatException e)
        {
            errors = [e.Message];
        }

        if (errors.Count > 0 || File.Exists(errPath))
        {
            PollerCaseRunner.AssertErrors(name, errPath, errors, update);
            return;
        }

        var byUnit = picks is null ? null : new Dictionary<byte, List<ModbusPick>> { [survey.UnitId] = picks };
        string toml = ModbusDiscoveryToml.Write($"pattoo-edge discover modbus 192.0.2.20 {args}".TrimEnd(), "meter",
            new ModbusEndpoint("tcp", "192.0.2.20:502", null), [survey], byUnit, Now);
        if (update) File.WriteAllText(outPath, toml);
        Assert.Equal(File.ReadAllText(outPath), toml);

        if (picks is { Count: > 0 })
        {
            var device = Assert.Single(ModbusTestSupport.Bind(toml).Devices);
            Assert.Equal(picks.Select(p => p.Key), device.Values.Select(v => v.Key));
        }
    }

    /// <summary>Lines "TABLE START: WORD WORD ..." (hex) or "coil START: 1001..." into one unit's survey.</summary>
    private static ModbusUnitSurvey ReadSurvey(string path)
    {
        var blocks = new List<ModbusBlock>();
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int colon = line.IndexOf(':');
            var head = line[..colon].Split(' ');
            var table = head[0] switch
            {
                "holding" => ModbusTable.HoldingRegister,
                "input" => ModbusTable.InputRegister,
                "coil" => ModbusTable.Coil,
                "discrete" => ModbusTable.DiscreteInput,
                _ => throw new FormatException($"{path}: unknown table in '{raw}'"),
            };
            int start = int.Parse(head[1], CultureInfo.InvariantCulture);
            string data = line[(colon + 1)..].Trim();
            blocks.Add(table.IsBits()
                ? new ModbusBlock(table, start, [], [.. data.Select(c => c == '1')])
                : new ModbusBlock(table, start, [.. data.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => ushort.Parse(w, NumberStyles.HexNumber, CultureInfo.InvariantCulture))], []));
        }
        return new ModbusUnitSurvey(1, blocks, [], blocks.Count);
    }
}
