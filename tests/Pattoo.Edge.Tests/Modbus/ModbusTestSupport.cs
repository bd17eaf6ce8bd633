using System.Globalization;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Tests.Modbus;

internal static class ModbusTestSupport
{
    public const string Appliance = "test-appliance";

    /// <summary>Binds a [modbus] table; throws ConfigException listing every error.</summary>
    public static ModbusOptions Bind(string toml, string file = "config.toml")
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, file, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        var root = new ConfigSection(file, "", tree, errors);
        var options = ModbusOptions.Bind(root.GetSection("modbus")); // other tables belong to other binders
        if (errors.Count > 0)
        {
            errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new ConfigException(errors);
        }
        return options;
    }

    public static List<ModbusPoller> Pollers(ModbusOptions options, ModbusLinkRegistry? registry = null)
        => options.CreateTargets(Appliance, registry ?? new ModbusLinkRegistry()).Cast<ModbusPoller>().ToList();

    /// <summary>"key{unit_id=1} integer 42", as the testcases' expected.out lists samples.</summary>
    public static string Describe(in Sample s)
    {
        string labels = string.Join(",", s.Series.Metadata.Select(m => $"{m.Key}={m.Value}"));
        string value = s.Series.DataType == DataType.String ? "\"" + s.Text + "\"" : s.Value.ToString("R", CultureInfo.InvariantCulture);
        return $"{s.Series.Key}{{{labels}}} {s.Series.DataType.Name()} {value}";
    }

    public static async Task<(SampleBatch Batch, PollReport Report)> PollAsync(IPollTarget target, TimeSpan? limit = null)
    {
        var batch = new SampleBatch();
        var report = new PollReport();
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(20));
        await target.PollAsync(batch, report, cts.Token);
        return (batch, report);
    }

    public static Dictionary<string, Sample> ByKey(SampleBatch batch)
    {
        var d = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var s in batch.Items) d.Add(s.Series.Key, s);
        return d;
    }
}

/// <summary>
/// An in-process unit behind the real link logic (retries, validation, statistics): holding and
/// input register n hold n, bit n is on when n is odd, and addresses from 60000 up answer
/// exception 2. Unit 99 never answers; unit 98 answers exception 6 (busy).
/// </summary>
internal sealed class FakeModbusLink() : ModbusLink("fake")
{
    public int Requests;

    protected override Task OpenAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Close() { }

    protected override async Task<int> TransactAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Requests);
        if (unit == 99) await Task.Delay(Timeout.Infinite, cancellationToken);
        return Answer(unit, requestPdu.Span, responsePdu.Span);
    }

    private static int Answer(byte unit, ReadOnlySpan<byte> request, Span<byte> response)
    {
        ModbusPdu.ReadReadRequest(request, out var function, out ushort address, out ushort quantity);
        int written;
        if (unit == 98) ModbusPdu.TryWriteException(response, function, ModbusExceptionCode.ServerDeviceBusy, out written);
        else if (address + quantity > 60000) ModbusPdu.TryWriteException(response, function, ModbusExceptionCode.IllegalDataAddress, out written);
        else
        {
            Span<byte> data = stackalloc byte[250];
            int length = ModbusPdu.DataLength(function, quantity);
            data[..length].Clear();
            for (int i = 0; i < quantity; i++)
            {
                int at = address + i;
                if (function.IsBits()) { if (at % 2 == 1) data[i >> 3] |= (byte)(1 << (i & 7)); }
                else { data[2 * i] = (byte)(at >> 8); data[2 * i + 1] = (byte)at; }
            }
            ModbusPdu.TryWriteReadResponse(response, function, data[..length], out written);
        }
        return written;
    }
}
