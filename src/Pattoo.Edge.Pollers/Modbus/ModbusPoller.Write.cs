using System.Globalization;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// Write-back: coils by FC5 (FC15 with write_multiple), holding registers by FC6 for one
/// register and FC16 for more (or always, with write_multiple), over the device's shared link.
/// </summary>
public sealed partial class ModbusPoller
{
    public IReadOnlyList<WritablePoint> WritablePoints { get; }

    public async Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken)
    {
        var value = _device.Values[point.Index];
        var function = value.Table.ReadFunction();
        var answer = new byte[ModbusPdu.MaxLength];
        int n = await _lease.Resource.ReadAsync(_device.UnitId, function, value.Address, (ushort)value.Count, answer,
            _device.Timeout, _device.Retries, cancellationToken).ConfigureAwait(false);
        var code = ModbusPdu.ReadResponse(answer.AsSpan(0, n), function, value.Count, out var data);
        if (code != ModbusExceptionCode.None) throw new DeviceRefusedException($"{function.Describe()} at {value.Address}: {code.Describe()}");
        if (value.Table.IsBits()) return PointValue.Of(RegisterDecoder.ReadBit(data, 0) ? 1 : 0);
        if (value.Type == ModbusValueType.String) return PointValue.Of(RegisterDecoder.DecodeString(data, value.ByteOrder));
        return PointValue.Of(RegisterDecoder.DecodeNumber(data, value.Type, value.ByteOrder) * value.Scale + value.Offset);
    }

    public async Task WritePointAsync(WritablePoint point, PointValue requested, CancellationToken cancellationToken)
    {
        var value = _device.Values[point.Index];
        var request = new byte[ModbusPdu.MaxLength];
        int length = EncodeWrite(value, requested, request);
        var code = await _lease.Resource.WriteAsync(_device.UnitId, request.AsMemory(0, length), _device.Timeout, _device.Retries, cancellationToken).ConfigureAwait(false);
        if (code != ModbusExceptionCode.None)
        {
            Interlocked.Increment(ref _exceptionAnswers);
            throw new DeviceRefusedException($"{((ModbusFunction)request[0]).Describe()} at {value.Address}: {code.Describe()}");
        }
    }

    /// <summary>The write request PDU for <paramref name="requested"/>; its length.</summary>
    /// <exception cref="ArgumentException">the value does not fit the point's type or scale.</exception>
    internal static int EncodeWrite(ModbusValueOptions value, PointValue requested, Span<byte> request)
    {
        if (value.Table == ModbusTable.Coil)
        {
            bool on = requested.Number != 0;
            return value.WriteMultiple ? ModbusWritePdu.WriteMultipleCoils(request, value.Address, [on]) : ModbusWritePdu.WriteSingleCoil(request, value.Address, on);
        }
        Span<byte> registers = stackalloc byte[value.Count * 2];
        if (value.Type == ModbusValueType.String)
        {
            if (!RegisterEncoder.TryEncodeString(requested.Text ?? requested.ToString(), value.ByteOrder, registers))
                throw new ArgumentException($"\"{requested}\" is longer than the {value.Length} registers ({value.Length * 2} bytes) of {value.Key}");
        }
        else
        {
            double raw = (requested.Number - value.Offset) / value.Scale;
            if (value.Type.IsInteger())
            {
                // 21.5 at scale 0.1 is 214.99999999999997 in binary: a whole register count within rounding is meant.
                double whole = Math.Round(raw);
                if (Math.Abs(raw - whole) > 1e-9 * Math.Max(1, Math.Abs(raw)))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"{requested} is not a step of the register (scale {value.Scale:R}, offset {value.Offset:R}): the nearest are {whole * value.Scale + value.Offset:R} and {(raw > whole ? whole + 1 : whole - 1) * value.Scale + value.Offset:R}"));
                raw = whole;
            }
            if (!RegisterEncoder.TryEncodeNumber(raw, value.Type, value.ByteOrder, registers))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{requested} is {raw:R} in the register, which a {value.Type.Name()} cannot hold"));
        }
        return registers.Length == 2 && !value.WriteMultiple
            ? ModbusWritePdu.WriteSingleRegister(request, value.Address, registers)
            : ModbusWritePdu.WriteMultipleRegisters(request, value.Address, registers);
    }
}
