namespace Pattoo.Edge.Common;

/// <summary>
/// pattoo's data types, with pattoo's numeric codes (pattoo_shared.constants) so that
/// posted payloads and stored rows use the numbers pattoo users already know.
/// </summary>
public enum DataType
{
    /// <summary>No value (pattoo sends JSON null).</summary>
    None = 0,
    /// <summary>A string value (pattoo DATA_STRING).</summary>
    String = 2,
    /// <summary>A 32-bit counter, stored raw, read as a per-second rate (pattoo DATA_COUNT).</summary>
    Counter32 = 32,
    /// <summary>A 64-bit counter, stored raw, read as a per-second rate (pattoo DATA_COUNT64).</summary>
    Counter64 = 64,
    /// <summary>An integer gauge (pattoo DATA_INT).</summary>
    Integer = 99,
    /// <summary>A floating point gauge (pattoo DATA_FLOAT).</summary>
    Float = 101,
}

public static class DataTypes
{
    public static bool IsCounter(this DataType t) => t is DataType.Counter32 or DataType.Counter64;
    public static bool IsNumeric(this DataType t) => t is DataType.Counter32 or DataType.Counter64 or DataType.Integer or DataType.Float;

    /// <summary>Maps pattoo's code to the enum; false for a code pattoo does not define.</summary>
    public static bool TryFromCode(int code, out DataType type)
    {
        switch (code)
        {
            case 0: type = DataType.None; return true;
            case 2: type = DataType.String; return true;
            case 32: type = DataType.Counter32; return true;
            case 64: type = DataType.Counter64; return true;
            case 99: type = DataType.Integer; return true;
            case 101: type = DataType.Float; return true;
            default: type = DataType.None; return false;
        }
    }

    /// <summary>The wrap modulus of a counter: 2^32 or 2^64.</summary>
    public static double CounterModulus(this DataType t) => t == DataType.Counter32 ? 4294967296.0 : 18446744073709551616.0;

    public static string Name(this DataType t) => t switch
    {
        DataType.String => "string",
        DataType.Counter32 => "counter32",
        DataType.Counter64 => "counter64",
        DataType.Integer => "integer",
        DataType.Float => "float",
        _ => "none",
    };
}
