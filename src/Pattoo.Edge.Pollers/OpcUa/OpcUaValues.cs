using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Pollers.OpcUa;

/// <summary>How OPC UA values become pattoo values.</summary>
internal static class OpcUaValues
{
    /// <summary>
    /// Boolean → integer 0/1; SByte to UInt64 → integer; Float, Double → float; String and
    /// LocalizedText → string; DateTime → integer, Unix time in milliseconds. Other types are
    /// refused with the reason in <paramref name="why"/>.
    /// </summary>
    public static bool TryConvert(in Variant v, out DataType type, out double value, out string? text, out string? why)
    {
        type = DataType.None;
        value = 0;
        text = null;
        why = null;
        switch (v.Type)
        {
            case BuiltInType.Boolean:
            case BuiltInType.SByte:
            case BuiltInType.Byte:
            case BuiltInType.Int16:
            case BuiltInType.UInt16:
            case BuiltInType.Int32:
            case BuiltInType.UInt32:
            case BuiltInType.Int64:
            case BuiltInType.UInt64:
                type = DataType.Integer;
                v.TryGetDouble(out value);
                return true;
            case BuiltInType.Float:
            case BuiltInType.Double:
                type = DataType.Float;
                v.TryGetDouble(out value);
                if (double.IsFinite(value)) return true;
                why = $"not a finite number ({v})";
                return false;
            case BuiltInType.String:
                type = DataType.String;
                text = v.AsString ?? "";
                return true;
            case BuiltInType.LocalizedText:
                type = DataType.String;
                text = ((LocalizedText)v.Reference!).Text ?? "";
                return true;
            case BuiltInType.DateTime:
                {
                    var dt = v.AsDateTime;
                    if (dt == DateTime.MinValue || dt == DateTime.MaxValue) { why = "a null DateTime"; return false; }
                    type = DataType.Integer;
                    value = new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)).ToUnixTimeMilliseconds();
                    return true;
                }
            case BuiltInType.Null:
                why = "no value";
                return false;
            default:
                why = $"type {v.Type} is not stored (Boolean, numbers, String, DateTime are)";
                return false;
        }
    }
}
