namespace Pattoo.Edge.Config;

/// <summary>One problem in a config file, pointing at the file, line, column and key path.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Path, string Message)
{
    public override string ToString()
    {
        // Line 0: about the file as a whole (it cannot be read), not a place in it.
        string place = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        return Path.Length == 0 ? $"{place}: {Message}" : $"{place}: {Path}: {Message}";
    }
}

public sealed class ConfigErrors : List<ConfigError>
{
    public override string ToString() => string.Join(Environment.NewLine, this);
}

/// <summary>Thrown when a config file has errors; <see cref="Errors"/> lists every one.</summary>
public sealed class ConfigException(ConfigErrors errors)
    : Exception(errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} errors:{Environment.NewLine}{errors}")
{
    public ConfigErrors Errors { get; } = errors;
}
