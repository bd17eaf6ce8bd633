namespace Pattoo.Edge.Common;

public enum LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 }

/// <summary>
/// A small logger made for journald: under systemd (JOURNAL_STREAM set) each line starts with
/// a syslog priority prefix ("&lt;6&gt;") and carries no timestamp, because the journal adds its own;
/// on a terminal each line gets a local timestamp and a level word instead.
/// </summary>
public static class Log
{
    private static readonly object Gate = new();
    private static TextWriter _out = Console.Error;
    private static bool _journal = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 };

    public static LogLevel Level { get; set; } = LogLevel.Info;

    /// <summary>Redirects output (tests); journal decides the line format.</summary>
    public static void Configure(TextWriter writer, bool journal)
    {
        lock (Gate) { _out = writer; _journal = journal; }
    }

    public static bool IsEnabled(LogLevel level) => level >= Level;

    public static void Debug(string message) => Write(LogLevel.Debug, message);
    public static void Info(string message) => Write(LogLevel.Info, message);
    public static void Warning(string message) => Write(LogLevel.Warning, message);
    public static void Error(string message) => Write(LogLevel.Error, message);

    public static bool TryParseLevel(string text, out LogLevel level)
    {
        switch (text)
        {
            case "debug": level = LogLevel.Debug; return true;
            case "info": level = LogLevel.Info; return true;
            case "warning": level = LogLevel.Warning; return true;
            case "error": level = LogLevel.Error; return true;
            default: level = LogLevel.Info; return false;
        }
    }

    public static void Write(LogLevel level, string message)
    {
        if (level < Level) return;
        string line = _journal
            ? $"<{Priority(level)}>{message}"
            : $"{DateTime.Now:yyyy-MM-dd HH:mm:ss.fff} {Word(level)} {message}";
        lock (Gate)
        {
            _out.WriteLine(line);
            _out.Flush();
        }
    }

    private static int Priority(LogLevel level) => level switch
    {
        LogLevel.Debug => 7,
        LogLevel.Info => 6,
        LogLevel.Warning => 4,
        _ => 3,
    };

    private static string Word(LogLevel level) => level switch
    {
        LogLevel.Debug => "DEBUG",
        LogLevel.Info => "INFO ",
        LogLevel.Warning => "WARN ",
        _ => "ERROR",
    };
}
