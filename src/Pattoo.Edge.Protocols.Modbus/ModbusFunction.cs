namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>The functions this codec speaks (MODBUS Application Protocol V1.1b3, sec 6.1-6.6, 6.11, 6.12).</summary>
public enum ModbusFunction : byte
{
    ReadCoils = 1,
    ReadDiscreteInputs = 2,
    ReadHoldingRegisters = 3,
    ReadInputRegisters = 4,
    WriteSingleCoil = 5,
    WriteSingleRegister = 6,
    WriteMultipleCoils = 15,
    WriteMultipleRegisters = 16,
}

/// <summary>The four data tables of a Modbus server (sec 4.3).</summary>
public enum ModbusTable : byte
{
    Coil,
    DiscreteInput,
    HoldingRegister,
    InputRegister,
}

public static class ModbusFunctions
{
    /// <summary>Most registers one read may ask for (sec 6.3: 1 to 125).</summary>
    public const int MaxRegisters = 125;

    /// <summary>Most bits one read may ask for (sec 6.1: 1 to 2000).</summary>
    public const int MaxBits = 2000;

    public static ModbusFunction ReadFunction(this ModbusTable table) => table switch
    {
        ModbusTable.Coil => ModbusFunction.ReadCoils,
        ModbusTable.DiscreteInput => ModbusFunction.ReadDiscreteInputs,
        ModbusTable.HoldingRegister => ModbusFunction.ReadHoldingRegisters,
        ModbusTable.InputRegister => ModbusFunction.ReadInputRegisters,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
    };

    /// <summary>True for the bit tables (coils, discrete inputs), false for the register tables.</summary>
    public static bool IsBits(this ModbusTable table) => table is ModbusTable.Coil or ModbusTable.DiscreteInput;

    public static bool IsBits(this ModbusFunction function) => function is ModbusFunction.ReadCoils or ModbusFunction.ReadDiscreteInputs;

    /// <summary>True for the four read functions (1-4).</summary>
    public static bool IsKnown(this ModbusFunction function) => function is >= ModbusFunction.ReadCoils and <= ModbusFunction.ReadInputRegisters;

    /// <summary>True for the four write functions (5, 6, 15, 16).</summary>
    public static bool IsWrite(this ModbusFunction function)
        => function is ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister or ModbusFunction.WriteMultipleCoils or ModbusFunction.WriteMultipleRegisters;

    /// <summary>Most items (bits or registers) one read of this function may ask for.</summary>
    public static int MaxCount(this ModbusFunction function) => function.IsBits() ? MaxBits : MaxRegisters;

    /// <summary>"read holding registers (3)", for error messages.</summary>
    public static string Describe(this ModbusFunction function) => function switch
    {
        ModbusFunction.ReadCoils => "read coils (1)",
        ModbusFunction.ReadDiscreteInputs => "read discrete inputs (2)",
        ModbusFunction.ReadHoldingRegisters => "read holding registers (3)",
        ModbusFunction.ReadInputRegisters => "read input registers (4)",
        ModbusFunction.WriteSingleCoil => "write single coil (5)",
        ModbusFunction.WriteSingleRegister => "write single register (6)",
        ModbusFunction.WriteMultipleCoils => "write multiple coils (15)",
        ModbusFunction.WriteMultipleRegisters => "write multiple registers (16)",
        _ => $"function {(byte)function}",
    };

    /// <summary>The config name of a table: "coil", "discrete", "holding", "input".</summary>
    public static string Name(this ModbusTable table) => table switch
    {
        ModbusTable.Coil => "coil",
        ModbusTable.DiscreteInput => "discrete",
        ModbusTable.HoldingRegister => "holding",
        _ => "input",
    };
}
