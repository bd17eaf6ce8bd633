using System.Globalization;

namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>
/// A BACnetObjectIdentifier (clause 20.2.14): a 10-bit object type and a 22-bit instance,
/// written "analog-input:0" (type in the standard's hyphenated name, or a number for
/// proprietary types).
/// </summary>
public readonly record struct BacnetObjectId(int Type, int Instance)
{
    public const int DeviceType = 8;

    public uint Encoded => ((uint)Type << 22) | (uint)Instance;

    public static BacnetObjectId FromEncoded(uint value) => new((int)(value >> 22), (int)(value & 0x3FFFFF));

    public override string ToString() => BacnetNames.ObjectTypeName(Type) + ":" + Instance.ToString(CultureInfo.InvariantCulture);

    /// <summary>"analog-input:0", "130:4"; false for anything else (instance 0-4194303).</summary>
    public static bool TryParse(string text, out BacnetObjectId id)
    {
        id = default;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) return false;
        string instanceText = text[(colon + 1)..];
        if (!BacnetNames.TryParseObjectType(text[..colon], out int type)) return false;
        if (instanceText.Length > 7 || !instanceText.All(char.IsAsciiDigit)) return false;
        int instance = int.Parse(instanceText, NumberStyles.None, CultureInfo.InvariantCulture);
        if (instance > BacnetNames.MaxInstance) return false;
        id = new BacnetObjectId(type, instance);
        return true;
    }
}
