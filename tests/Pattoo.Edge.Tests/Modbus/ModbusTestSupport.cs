using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Protocols.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

internal static class ModbusTestSupport
{
    /// <summary>Binds a [modbus] table; throws ConfigException listing every error.</summary>
    public static ModbusOptions Bind(string toml, string file = "config.toml") => PollerTestSupport.Bind(toml, "modbus", ModbusOptions.Bind, file);

    public static List<ModbusPoller> Pollers(ModbusOptions options, ModbusLinkRegistry? registry = null)
        => options.CreateTargets(PollerTestSupport.Appliance, registry ?? new ModbusLinkRegistry()).Cast<ModbusPoller>().ToList();
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
