using Pattoo.Edge.Config;
using Pattoo.Edge.Host;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge;

/// <summary>
/// Where the administration commands (backup, restore, doctor) look without <c>--config</c>: the
/// packaged service's configuration and data, so <c>sudo pattoo-edge backup FILE</c> on an
/// installed box needs nothing more.
/// </summary>
internal static class AdminDefaults
{
    public const string ServiceConfig = "/etc/pattoo-edge/edge.toml", ServiceState = "/var/lib/pattoo-edge";

    /// <summary>The file given, else the service's if there is one, else null (the embedded default).</summary>
    public static string? ConfigFile(string? given) => given ?? (File.Exists(ServiceConfig) ? ServiceConfig : null);

    /// <summary>Loads <see cref="ConfigFile"/>, with the storage path the service uses (<see cref="StoragePath"/>).</summary>
    /// <exception cref="ConfigException">the file's errors.</exception>
    public static EdgeOptions Load(string? given)
    {
        string? file = ConfigFile(given);
        var options = file is null ? EdgeOptions.LoadDefault() : EdgeOptions.LoadFile(file);
        return options with { Storage = options.Storage with { Path = StoragePath(options.Storage.Path) } };
    }

    /// <summary>
    /// The configured storage path; when the configuration leaves it to the default and this is
    /// not the service, the service's directory if there is one, so the commands find the data
    /// the service writes.
    /// </summary>
    public static string StoragePath(string configured)
        => configured == StorageOptions.DefaultPath() && Environment.GetEnvironmentVariable("STATE_DIRECTORY") is null && Directory.Exists(ServiceState)
            ? ServiceState : configured;
}
