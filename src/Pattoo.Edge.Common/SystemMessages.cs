using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Pattoo.Edge.Common;

/// <summary>
/// Words for the framework's exceptions. The binary is built with UseSystemResourceKeys (the
/// framework's message tables cost megabytes), so <see cref="Exception.Message"/> of a
/// framework exception is a resource key such as <c>IO_FileNotFound_FileName, /etc/x</c>.
/// These are the messages users see instead: by exception type, by errno through the C
/// library's strerror, and else the key spelt out as words.
/// </summary>
public static class SystemMessages
{
    /// <summary>What went wrong, without the path (callers name the file and what it was for).</summary>
    public static string Describe(Exception e) => e switch
    {
        // ENOENT: the framework picks the type by guessing which part of the path is missing.
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        PathTooLongException => "the path is too long",
        UnauthorizedAccessException => "permission denied",
        JsonException j => DescribeJson(j),
        IOException io when Errno(io) is { } errno => Marshal.GetPInvokeErrorMessage(errno).ToLowerInvariant() switch
        {
            var text when text.Length > 0 && !text.StartsWith("unknown error", StringComparison.Ordinal) => text,
            _ => Spelt(e.Message),
        },
        _ => Spelt(e.Message),
    };

    /// <summary>A JSON reader's error: what, and where (line and byte, 1-based).</summary>
    public static string DescribeJson(JsonException e)
    {
        string key = Key(e.Message);
        string what = key switch
        {
            "ArrayDepthTooLarge" or "ObjectDepthTooLarge" or "DepthTooLarge" => "nested too deep",
            "ExpectedStartOfValueNotFound" => "expected a value",
            "ExpectedEndAfterSingleJson" => "unexpected text after the JSON value",
            "EndOfStringNotFound" => "unterminated string",
            "ZeroDepthAtEnd" or "ExpectedJsonTokens" => "the JSON ends early",
            "InvalidEndOfJsonNonPrimitive" => "the JSON ends early",
            "DeserializeUnableToConvertValue" => "a value has the wrong JSON type",
            _ => Spelt(WithoutPlace(e.Message)),
        };
        return e.LineNumber is { } line && e.BytePositionInLine is { } column
            ? $"{what} (line {line + 1}, byte {column + 1})"
            : what;
    }

    /// <summary>The message without the " Path: ... | LineNumber: ..." the reader appends (the place is told separately).</summary>
    private static string WithoutPlace(string message)
    {
        int at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (at < 0) at = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        return at < 0 ? message : message[..at];
    }

    /// <summary>The errno of an IOException raised by a system call (the framework puts it in HResult on Unix).</summary>
    private static int? Errno(IOException e) => e.HResult is > 0 and < 4096 ? e.HResult : null;

    /// <summary>A resource key such as <c>IO_FileExists_Name, /x</c> as words ("file exists"); a real message as it is.</summary>
    public static string Spelt(string message)
    {
        string key = Key(message);
        if (ReferenceEquals(key, message) && key.Contains(' ')) return message;
        var words = new StringBuilder();
        foreach (var part in key.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part is "IO" or "Arg" or "Argument" or "Name" or "FileName" or "Path") continue;
            for (int i = 0; i < part.Length; i++)
            {
                char ch = part[i];
                if (char.IsUpper(ch) && words.Length > 0 && (i == 0 || !char.IsUpper(part[i - 1]))) words.Append(' ');
                words.Append(char.ToLowerInvariant(ch));
            }
        }
        return words.Length > 0 ? words.ToString() : message;
    }

    /// <summary>
    /// The resource key at the start of a message ("Key", "Key, args" or "Key LineNumber: ..."),
    /// or the whole message when it does not start with one: a key is one identifier with a
    /// lower-to-upper case step or an underscore ("ArrayDepthTooLarge", "IO_FileExists_Name").
    /// </summary>
    private static string Key(string message)
    {
        int end = message.IndexOfAny([',', ' ']);
        string head = end < 0 ? message : message[..end];
        bool step = false;
        for (int i = 0; i < head.Length; i++)
        {
            char ch = head[i];
            if (!char.IsAsciiLetterOrDigit(ch) && ch != '_') return message;
            if (ch == '_' || (i > 0 && char.IsUpper(ch) && char.IsLower(head[i - 1]))) step = true;
        }
        return step && head.Length > 0 && char.IsUpper(head[0]) ? head : message;
    }
}
