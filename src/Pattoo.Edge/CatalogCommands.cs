using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge;

/// <summary>
/// pattoo_cli's <c>import</c> and <c>create</c> commands for translations, with pattoo's option
/// names and CSV formats, on the database of the configured storage.path (also while the appliance runs).
/// </summary>
internal static class CatalogCommands
{
    /// <summary>Runs <c>import ...</c> or <c>create ...</c>; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 2; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) return Program.BadUsage(args);
            options[args[i][2..]] = args[++i];
        }
        string? Option(string name) => options.Remove(name, out var v) ? v : null;
        string[] allowed = (args[0], args.Length > 1 ? args[1] : "") switch
        {
            ("import", "key_translation") => ["config", "filename", "idx_pair_xlate_group"],
            ("import", "agent_translation") => ["config", "filename"],
            ("create", "language") => ["config", "code", "name"],
            ("create", "key_translation") => ["config", "name"],
            _ => [],
        };
        if (allowed.Length == 0) return Program.BadUsage(args);
        foreach (var key in options.Keys)
        {
            if (Array.IndexOf(allowed, key) < 0)
            {
                Console.Error.WriteLine($"pattoo-edge: {args[0]} {args[1]}: unknown option --{key}; expected {string.Join(", ", allowed.Select(a => "--" + a))}");
                return Program.ExitUsage;
            }
        }
        try
        {
            var config = Option("config");
            var edge = config is null ? EdgeOptions.LoadDefault() : EdgeOptions.LoadFile(config);
            var store = new CatalogStore(edge.Storage);
            string done;
            switch (args[0], args.Length > 1 ? args[1] : "")
            {
                case ("import", "key_translation"):
                    {
                        var file = Option("filename") ?? throw new CatalogException("--filename is required");
                        long group = long.TryParse(Option("idx_pair_xlate_group") ?? "1", out long g) ? g : throw new CatalogException("--idx_pair_xlate_group must be a number");
                        int n = store.ImportKeyTranslations(group, TranslationCsv.ReadKeyTranslations(ReadInput(file), file));
                        done = $"imported {n} key translations into group {group}";
                        break;
                    }
                case ("import", "agent_translation"):
                    {
                        var file = Option("filename") ?? throw new CatalogException("--filename is required");
                        int n = store.ImportAgentTranslations(TranslationCsv.ReadAgentTranslations(ReadInput(file), file));
                        done = $"imported {n} agent translations";
                        break;
                    }
                case ("create", "language"):
                    {
                        var row = store.UpsertLanguage(Option("code") ?? throw new CatalogException("--code is required"), Option("name") ?? throw new CatalogException("--name is required"));
                        done = $"language {row.Code} ({row.Name}) is idx_language {row.IdxLanguage}";
                        break;
                    }
                case ("create", "key_translation"):
                    {
                        var row = store.CreatePairXlateGroup(Option("name") ?? throw new CatalogException("--name is required"));
                        done = $"key translation group \"{row.Name}\" is idx_pair_xlate_group {row.IdxPairXlateGroup}";
                        break;
                    }
                default:
                    return Program.BadUsage(args);
            }
            Console.Out.WriteLine(done);
            return Program.ExitOk;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pattoo-edge: {SystemMessages.Describe(e)}");
            return Program.ExitError;
        }
        catch (Exception e) when (e is CatalogException or ConfigException or Microsoft.Data.Sqlite.SqliteException)
        {
            Console.Error.WriteLine($"pattoo-edge: {e.Message}");
            return Program.ExitError;
        }
    }

    private static string ReadInput(string file)
    {
        try { return File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CatalogException($"cannot read {file}: {SystemMessages.Describe(e)}");
        }
    }
}
