using System.Globalization;
using System.Text;
using GraphQL;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>pattoo's Relay ids and value formats.</summary>
internal static class Ids
{
    /// <summary>Relay global id as pattoo makes it: base64 of "Type:key".</summary>
    public static string Global(string type, string key) => Convert.ToBase64String(Encoding.UTF8.GetBytes(type + ":" + key));

    public static bool TryParseGlobal(string id, out string type, out string key)
    {
        type = key = "";
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(id));
            int colon = text.IndexOf(':');
            if (colon <= 0) return false;
            type = text[..colon];
            key = text[(colon + 1)..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>pattoo's timestamps columns as ISO 8601 UTC.</summary>
    /// <summary>pattoo's DATETIME columns as graphene shows them: seconds, no zone (the times are UTC).</summary>
    public static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>An idx argument: "12" or a Relay id of the expected type.</summary>
    public static long ParseIdx(string? text, string argument, string expectedType)
    {
        if (text is null) throw new ExecutionError($"{argument} is required");
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long idx)) return idx;
        if (TryParseGlobal(text, out var type, out var key) && type == expectedType && long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out idx)) return idx;
        throw new ExecutionError($"{argument}: expected an index such as \"12\" or a {expectedType} id, got \"{text}\"");
    }
}
