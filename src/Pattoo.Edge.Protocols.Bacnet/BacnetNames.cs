namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>
/// The standard's hyphenated names (ASHRAE 135 clause 21, the ASN.1 enumerations) of object
/// types, property identifiers, engineering units, error classes and codes, reject and abort
/// reasons. A code without a standard name (proprietary ranges) is written as its number, and a
/// number is accepted wherever a name is.
/// </summary>
public static partial class BacnetNames
{
    /// <summary>Largest object type (10 bits of an object identifier).</summary>
    public const int MaxObjectType = 1023;
    /// <summary>Largest object instance (22 bits); 4194303 itself means "unspecified".</summary>
    public const int MaxInstance = 4194303;
    /// <summary>Largest property identifier (22 bits).</summary>
    public const int MaxProperty = 4194303;

    /// <summary>Lookups built on first use (the tables live in another part of this class, so they are not field initialisers here).</summary>
    private static class Maps
    {
        public static readonly Dictionary<int, string> ObjectTypeByCode = ToCodeMap(ObjectTypes);
        public static readonly Dictionary<string, int> ObjectTypeByName = ToNameMap(ObjectTypes);
        public static readonly Dictionary<int, string> PropertyByCode = ToCodeMap(Properties);
        public static readonly Dictionary<string, int> PropertyByName = ToNameMap(Properties);
        public static readonly Dictionary<int, string> UnitsByCode = ToCodeMap(Units);
        public static readonly Dictionary<int, string> ErrorClassByCode = ToCodeMap(ErrorClasses);
        public static readonly Dictionary<int, string> ErrorCodeByCode = ToCodeMap(ErrorCodes);
        public static readonly Dictionary<int, string> RejectByCode = ToCodeMap(RejectReasons);
        public static readonly Dictionary<int, string> AbortByCode = ToCodeMap(AbortReasons);
    }

    public static string ObjectTypeName(int code) => Name(Maps.ObjectTypeByCode, code);
    public static string PropertyName(int code) => Name(Maps.PropertyByCode, code);
    public static string UnitsName(int code) => Name(Maps.UnitsByCode, code);
    public static string ErrorClassName(int code) => Name(Maps.ErrorClassByCode, code);
    public static string ErrorCodeName(int code) => Name(Maps.ErrorCodeByCode, code);
    public static string RejectReasonName(int code) => Name(Maps.RejectByCode, code);
    public static string AbortReasonName(int code) => Name(Maps.AbortByCode, code);

    /// <summary>"analog-input" or a number 0-1023.</summary>
    public static bool TryParseObjectType(string text, out int code) => TryParse(Maps.ObjectTypeByName, text, MaxObjectType, out code);

    /// <summary>"present-value" or a number 0-4194303.</summary>
    public static bool TryParseProperty(string text, out int code) => TryParse(Maps.PropertyByName, text, MaxProperty, out code);

    private static string Name(Dictionary<int, string> map, int code)
        => map.TryGetValue(code, out var name) ? name : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static bool TryParse(Dictionary<string, int> map, string text, int max, out int code)
    {
        if (map.TryGetValue(text, out code)) return true;
        if (text.Length is > 0 and <= 7 && text.All(char.IsAsciiDigit)
            && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out code) && code <= max)
            return true;
        code = 0;
        return false;
    }

    private static Dictionary<int, string> ToCodeMap((int Code, string Name)[] table)
    {
        var d = new Dictionary<int, string>(table.Length);
        foreach (var (code, name) in table) d.TryAdd(code, name);
        return d;
    }

    private static Dictionary<string, int> ToNameMap((int Code, string Name)[] table)
    {
        var d = new Dictionary<string, int>(table.Length, StringComparer.Ordinal);
        foreach (var (code, name) in table) d.TryAdd(name, code);
        return d;
    }
}
