using Microsoft.Data.Sqlite;

namespace Pattoo.Edge.Storage;

/// <summary>
/// How a datapoint's checksum is kept in the database (schema 8). Pattoo's checksums are 128
/// lowercase hex digits (SHA-512); as text they took 128 bytes in the row and again in the
/// unique index, a third of the catalog. Lowercase hex of even length is stored as the bytes it
/// spells (64), anything else as the text it is, so every checksum reads back exactly as given.
/// </summary>
internal static class DatapointChecksum
{
    public static object ToDb(string checksum) => IsLowerHex(checksum) ? Convert.FromHexString(checksum) : checksum;

    public static string FromDb(SqliteDataReader r, int ordinal) =>
        r.GetValue(ordinal) is byte[] bytes ? Convert.ToHexStringLower(bytes) : r.GetString(ordinal);

    /// <summary>The rule, in SQL, for the migration of text checksums (it must match <see cref="IsLowerHex"/>).</summary>
    public const string LowerHexSql = "length(checksum) > 0 AND length(checksum) % 2 = 0 AND checksum NOT GLOB '*[^0-9a-f]*'";

    private static bool IsLowerHex(string s)
    {
        if (s.Length == 0 || s.Length % 2 != 0) return false;
        foreach (char c in s)
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }
}
