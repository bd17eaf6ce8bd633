namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>
/// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first
/// (MODBUS over Serial Line V1.02, sec 2.5.1.2 and appendix B).
/// </summary>
public static class Crc16
{
    private static readonly ushort[] Table = BuildTable();

    public static ushort Compute(ReadOnlySpan<byte> data)
    {
        ushort crc = 0xFFFF;
        foreach (byte b in data) crc = (ushort)((crc >> 8) ^ Table[(crc ^ b) & 0xFF]);
        return crc;
    }

    /// <summary>True when the last two bytes of <paramref name="frame"/> are the CRC of the rest.</summary>
    public static bool Check(ReadOnlySpan<byte> frame)
        => frame.Length >= 3 && Compute(frame[..^2]) == (ushort)(frame[^2] | frame[^1] << 8);

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            ushort crc = (ushort)i;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            table[i] = crc;
        }
        return table;
    }
}
