namespace Pattoo.Edge.Forwarding.Mqtt;

/// <summary>Topic names built from datapoint fields.</summary>
public static class MqttTopic
{
    /// <summary><paramref name="text"/> as one topic level: '/', '+', '#' and NUL become '_' (a level, never a wildcard); nothing becomes "_".</summary>
    public static string Level(string text)
    {
        if (text.Length == 0) return "_";
        return text.AsSpan().IndexOfAny("/+#\0") < 0 ? text : string.Create(text.Length, text, static (span, t) =>
        {
            for (int i = 0; i < t.Length; i++) span[i] = t[i] is '/' or '+' or '#' or '\0' ? '_' : t[i];
        });
    }
}
