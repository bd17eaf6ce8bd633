using System.Globalization;
using System.IO.Ports;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Modbus;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>Binds and checks one device table and its values; every problem is reported with its position.</summary>
internal static class ModbusOptionsBinder
{
    private static readonly string[] Transports = ["tcp", "rtu", "rtu_over_tcp"];
    private static readonly string[] Tables = ["coil", "discrete", "holding", "input"];
    private static readonly string[] Types = ["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"];
    private static readonly string[] Orders = ["ABCD", "DCBA", "BADC", "CDAB"];
    private static readonly string[] SerialKeys = ["serial_port", "baud_rate", "parity", "data_bits", "stop_bits", "echo"];

    /// <summary>The device, or null when its errors leave nothing usable (the errors are recorded).</summary>
    public static ModbusDeviceOptions? BindDevice(ConfigSection s, out string name)
    {
        int errorsBefore = s.Errors.Count;
        name = s.GetName("a device needs a name (name = \"energy-meter-1\")");

        string transportText = s.GetChoice("transport", "tcp", Transports);
        var transport = transportText switch
        {
            "rtu" => ModbusTransport.Rtu,
            "rtu_over_tcp" => ModbusTransport.RtuOverTcp,
            _ => ModbusTransport.Tcp,
        };

        string? host = null;
        int port = 502;
        SerialLineOptions? serial = null;
        string? address = s.GetOptionalString("address");
        if (transport == ModbusTransport.Rtu)
        {
            if (address is not null) s.Error("address", "applies to transport \"tcp\" and \"rtu_over_tcp\"; a serial device is set by serial_port");
            serial = BindSerial(s);
        }
        else
        {
            foreach (string key in SerialKeys)
            {
                if (s.Has(key)) s.Error(key, $"applies to transport \"rtu\" only, not \"{transportText}\"");
            }
            if (address is null) s.Error($"transport \"{transportText}\" needs address = \"host:port\"");
            else if (!HostPort.TryParse(address, 502, out host, out port))
                s.Error("address", $"expected \"host:port\" (or a host alone for port 502), got \"{address}\"");
        }

        long unitMax = transport == ModbusTransport.Tcp ? 255 : 247;
        long unitMin = transport == ModbusTransport.Tcp ? 0 : 1;
        byte unit = (byte)s.GetInteger("unit_id", 1, unitMin, unitMax);
        var interval = s.GetDuration("interval", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        var timeout = s.GetDuration("timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        int retries = (int)s.GetInteger("retries", 1, 0, 10);
        int maxGap = (int)s.GetInteger("max_gap", 0, 0, ModbusFunctions.MaxBits);
        int maxRegisters = (int)s.GetInteger("max_registers", ModbusFunctions.MaxRegisters, 1, ModbusFunctions.MaxRegisters);
        int maxBits = (int)s.GetInteger("max_bits", ModbusFunctions.MaxBits, 1, ModbusFunctions.MaxBits);
        s.CheckTimeoutWithinInterval(timeout, interval);

        var values = new List<ModbusValueOptions>();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var sections = s.GetSectionArray("values");
        if (sections.Count == 0) s.Error("values", "a device needs at least one [[modbus.devices.values]] entry");
        foreach (var vs in sections)
        {
            var value = BindValue(vs, maxRegisters);
            if (value is null) continue;
            if (keys.TryGetValue(value.Key, out var first)) { vs.Error("key", $"\"{value.Key}\" is already read by {first}"); continue; }
            keys[value.Key] = vs.Path;
            values.Add(value);
        }
        s.Finish();
        if (s.Errors.Count > errorsBefore) return null;
        string deviceName = name;
        return new ModbusDeviceOptions
        {
            Name = deviceName,
            Transport = transport,
            Host = host,
            Port = port,
            Serial = serial,
            UnitId = unit,
            Interval = interval,
            Timeout = timeout,
            Retries = retries,
            MaxGap = maxGap,
            MaxRegisters = maxRegisters,
            MaxBits = maxBits,
            Values = values,
        };
    }

    private static SerialLineOptions? BindSerial(ConfigSection s)
    {
        string? port = s.GetOptionalString("serial_port");
        if (!s.Has("serial_port")) s.Error("transport \"rtu\" needs serial_port = \"/dev/ttyUSB0\"");
        else if (string.IsNullOrWhiteSpace(port)) s.Error("serial_port", "expected a device path such as \"/dev/ttyUSB0\"");
        int baud = (int)s.GetInteger("baud_rate", 9600, 300, 4_000_000);
        var parity = s.GetChoice("parity", "none", "none", "even", "odd") switch
        {
            "even" => Parity.Even,
            "odd" => Parity.Odd,
            _ => Parity.None,
        };
        int dataBits = (int)s.GetInteger("data_bits", 8, 5, 8);
        if (dataBits != 8) s.Error("data_bits", $"Modbus RTU sends 8 data bits, got {dataBits} (7 is Modbus ASCII, which is not supported)");
        var stopBits = s.GetInteger("stop_bits", 1, 1, 2) == 2 ? StopBits.Two : StopBits.One;
        bool echo = s.GetBool("echo", false);
        return string.IsNullOrWhiteSpace(port) ? null : new SerialLineOptions(port.Trim(), baud, parity, 8, stopBits, echo);
    }

    private static ModbusValueOptions? BindValue(ConfigSection s, int maxRegisters)
    {
        int errorsBefore = s.Errors.Count;
        string key = (s.GetOptionalString("key") ?? "").Trim();
        if (!s.Has("key")) s.Error("a value needs a key (key = \"active_power\")");
        else if (key.Length == 0) s.Error("key", "expected a key, got an empty string");

        var table = s.GetChoice("table", "holding", Tables) switch
        {
            "coil" => ModbusTable.Coil,
            "discrete" => ModbusTable.DiscreteInput,
            "input" => ModbusTable.InputRegister,
            _ => ModbusTable.HoldingRegister,
        };
        if (!s.Has("address")) s.Error("a value needs its zero-based address (address = 0)");
        var address = (ushort)s.GetInteger("address", 0, 0, 65535);

        string typeText = s.GetChoice("type", table.IsBits() ? "bool" : "uint16", Types);
        RegisterDecoder.TryParseType(typeText, out var type);
        string orderText = s.GetChoice("byte_order", "ABCD", Orders);
        var order = Enum.Parse<ModbusByteOrder>(orderText);
        double scale = s.GetFloat("scale", 1.0);
        double offset = s.GetFloat("offset", 0.0);
        bool counter = s.GetBool("counter", false);
        int? bit = s.Has("bit") ? (int)s.GetInteger("bit", 0, 0, 15) : null;
        int length = s.Has("length") ? (int)s.GetInteger("length", 1, 1, maxRegisters) : 0;

        if (scale == 0) s.Error("scale", "a scale of 0 makes every reading 0");
        var write = WriteLimits.Bind(s, WriteKindOf(table, type, scale, offset), NotWritable(table, type, counter));
        bool writeMultiple = s.GetBool("write_multiple", false);
        if (s.Has("write_multiple") && !s.GetBool("writable", false))
            s.Error("write_multiple", "applies to a writable point: add writable = true, or remove it");
        if (table.IsBits())
        {
            if (type != ModbusValueType.Bool) s.Error("type", $"a {table.Name()} is one bit: its type is \"bool\", not \"{typeText}\"");
            foreach (string k in (ReadOnlySpan<string>)["byte_order", "scale", "offset", "bit", "length", "counter"])
            {
                if (s.Has(k)) s.Error(k, $"does not apply to a {table.Name()} (one bit, stored as 0 or 1)");
            }
        }
        else
        {
            if (type == ModbusValueType.Bool && bit is null)
                s.Error("type", $"a bool in {(table == ModbusTable.InputRegister ? "an input" : "a holding")} register needs bit = 0-15 (the bit to read)");
            if (bit is not null && type != ModbusValueType.Bool)
                s.Error("bit", $"applies to type \"bool\" (one bit of a register), not \"{typeText}\"");
            if (type == ModbusValueType.String)
            {
                if (!s.Has("length")) s.Error("type", "a string needs length = the number of registers it spans (two characters each)");
                if (order is ModbusByteOrder.CDAB or ModbusByteOrder.DCBA)
                    s.Error("byte_order", $"a string's byte order is \"ABCD\" (first character in the high byte) or \"BADC\" (in the low byte), not \"{orderText}\"");
            }
            else if (s.Has("length")) s.Error("length", $"applies to type \"string\" only, not \"{typeText}\"");
            if (type is ModbusValueType.Bool or ModbusValueType.String)
            {
                foreach (string k in (ReadOnlySpan<string>)["scale", "offset", "counter"])
                {
                    if (s.Has(k)) s.Error(k, $"does not apply to type \"{typeText}\"");
                }
            }
            int count = RegisterDecoder.RegisterCount(type, length);
            if (count > 0 && address + count - 1 > 65535)
                s.Error("address", string.Create(CultureInfo.InvariantCulture,
                    $"a {typeText}{(type == ModbusValueType.String ? $" of {length} registers" : "")} at {address} spans registers {address} to {address + count - 1}, past the last register 65535"));
        }
        s.Finish();
        if (s.Errors.Count > errorsBefore) return null;
        return new ModbusValueOptions
        {
            Key = key,
            Table = table,
            Address = address,
            Type = type,
            ByteOrder = order,
            Scale = scale,
            Offset = offset,
            Bit = bit,
            Length = type == ModbusValueType.String ? length : 0,
            Counter = counter,
            Write = write,
            WriteMultiple = writeMultiple,
        };
    }

    private static WriteKind WriteKindOf(ModbusTable table, ModbusValueType type, double scale, double offset)
    {
        if (table.IsBits() || type == ModbusValueType.Bool) return WriteKind.Bool;
        if (type == ModbusValueType.String) return WriteKind.Text;
        return type.IsFloat() || !ModbusValueOptions.IsWhole(scale) || !ModbusValueOptions.IsWhole(offset) ? WriteKind.Number : WriteKind.Integer;
    }

    /// <summary>Why a value can never be written, or null.</summary>
    private static string? NotWritable(ModbusTable table, ModbusValueType type, bool counter)
    {
        if (table is ModbusTable.DiscreteInput or ModbusTable.InputRegister)
            return $"a{(table == ModbusTable.InputRegister ? "n input register" : " discrete input")} is read-only in Modbus: only coils and holding registers can be written";
        if (type == ModbusValueType.Bool && !table.IsBits())
            return "writing one bit of a holding register is not supported: it would rewrite the other 15 bits, which the device may change meanwhile; write the whole register (type = \"uint16\") or a coil";
        if (counter) return "a counter counts what the device measures; it is not a setting to write";
        return null;
    }

}
