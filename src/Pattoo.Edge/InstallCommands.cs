using Pattoo.Edge.Host;

namespace Pattoo.Edge;

/// <summary>
/// <c>pattoo-edge install</c> and <c>uninstall</c>: the self-install for a box without the
/// package (or without apt). Each step says what it did or that it was already so, so running
/// either twice changes nothing the second time. <c>--root DIR</c> works under DIR instead of
/// "/" and leaves systemd alone (tests, image builds).
/// </summary>
internal static class InstallCommands
{
    private const string BinaryPath = "usr/local/bin/pattoo-edge";
    private const string UnitPath = "etc/systemd/system/pattoo-edge.service";
    private const string ConfigDir = "etc/pattoo-edge";
    private const string StateDir = "var/lib/pattoo-edge";
    /// <summary>Where systemd keeps a <c>DynamicUser=yes</c> service's state, linked from <see cref="StateDir"/>.</summary>
    private const string PrivateStateDir = "var/lib/private/pattoo-edge";

    public static int Run(string[] args)
    {
        bool install = args[0] == "install", purge = false;
        string? root = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root" when i + 1 < args.Length: root = args[++i]; break;
                case "--purge" when !install: purge = true; break;
                default:
                    Console.Error.WriteLine($"usage: pattoo-edge install [--root DIR]\n       pattoo-edge uninstall [--purge] [--root DIR]\n(unknown: {args[i]})");
                    return Program.ExitUsage;
            }
        }
        if (root is null && !Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine($"pattoo-edge {args[0]}: run it as root (sudo pattoo-edge {string.Join(' ', args)}): it writes to /usr/local/bin, /etc and /var/lib and tells systemd");
            return Program.ExitError;
        }
        try
        {
            return install ? Install(root ?? "/") : Uninstall(root ?? "/", purge, useSystemd: root is null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pattoo-edge {args[0]}: {e.Message}");
            return Program.ExitError;
        }
    }

    private static int Install(string root)
    {
        bool useSystemd = root == "/";
        string binary = Path.Combine(root, BinaryPath);
        string running = Environment.ProcessPath ?? throw new IOException("the path of the running binary is unknown");
        if (File.Exists(binary) && SameBytes(binary, running)) Say($"{binary}: already this binary");
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
            // Copied beside, then renamed over: a running service's binary is replaced, not overwritten in place.
            File.Copy(running, binary + ".new", overwrite: true);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(binary + ".new", (UnixFileMode)0b111_101_101);
            File.Move(binary + ".new", binary, overwrite: true);
            Say($"{binary}: installed pattoo-edge {EdgeHost.Version}");
        }
        WriteIfChanged(Path.Combine(root, UnitPath), UnitText(), "the systemd unit");
        string config = Path.Combine(root, ConfigDir, "edge.toml");
        if (File.Exists(config)) Say($"{config}: kept as it is");
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(config)!);
            File.WriteAllText(config, EdgeOptions.DefaultText());
            Say($"{config}: wrote the default configuration (every setting commented); edit it, then: systemctl reload pattoo-edge");
        }
        string state = Path.Combine(root, StateDir);
        if (Directory.Exists(state)) Say($"{state}: already there");
        else
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(state);
            else Directory.CreateDirectory(state, (UnixFileMode)0b111_101_000);
            Say($"{state}: created (systemd gives it to the service's dynamic user)");
        }
        if (!useSystemd) Say("systemd: left alone (--root)");
        else if (!Directory.Exists("/run/systemd/system")) Say("systemd: not running here; on the box: systemctl daemon-reload && systemctl enable --now pattoo-edge");
        else
        {
            Systemctl("daemon-reload");
            Systemctl("enable", "--now", "pattoo-edge.service");
            Say("systemd: pattoo-edge.service enabled and started; journalctl -u pattoo-edge -f shows its log");
        }
        return Program.ExitOk;
    }

    private static int Uninstall(string root, bool purge, bool useSystemd)
    {
        string unit = Path.Combine(root, UnitPath);
        if (useSystemd && Directory.Exists("/run/systemd/system") && File.Exists(unit))
        {
            Systemctl("disable", "--now", "pattoo-edge.service");
            Say("systemd: pattoo-edge.service stopped and disabled");
        }
        Remove(unit, "the systemd unit");
        if (useSystemd && Directory.Exists("/run/systemd/system")) Systemctl("daemon-reload");
        Remove(Path.Combine(root, BinaryPath), "the binary");
        string config = Path.Combine(root, ConfigDir), state = Path.Combine(root, StateDir), privateState = Path.Combine(root, PrivateStateDir);
        if (!purge)
        {
            foreach (var dir in new[] { config, state })
                if (Directory.Exists(dir)) Say($"{dir}: kept (uninstall --purge deletes it)");
            return Program.ExitOk;
        }
        foreach (var dir in new[] { config, state, privateState })
        {
            if (new FileInfo(dir).LinkTarget is not null) { File.Delete(dir); Say($"{dir}: deleted (a link)"); }
            else if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); Say($"{dir}: deleted"); }
        }
        return Program.ExitOk;
    }

    /// <summary>The unit the repository ships (systemd/pattoo-edge.service), embedded in the binary.</summary>
    internal static string UnitText()
    {
        using var stream = typeof(InstallCommands).Assembly.GetManifestResourceStream("Pattoo.Edge.pattoo-edge.service")
            ?? throw new IOException("the systemd unit is missing from this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static void WriteIfChanged(string path, string text, string what)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text) { Say($"{path}: already {what}"); return; }
        bool had = File.Exists(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        Say($"{path}: {(had ? "updated" : "wrote")} {what}");
    }

    private static void Remove(string path, string what)
    {
        if (!File.Exists(path)) { Say($"{path}: already gone"); return; }
        File.Delete(path);
        Say($"{path}: removed {what}");
    }

    private static bool SameBytes(string a, string b)
    {
        if (Path.GetFullPath(a) == Path.GetFullPath(b)) return true;
        var fa = new FileInfo(a);
        if (fa.Length != new FileInfo(b).Length) return false;
        return File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b));
    }

    private static void Systemctl(params string[] args)
    {
        var (code, _, errors) = ToolProcess.Run("systemctl", args);
        if (code != 0) throw new IOException($"systemctl {string.Join(' ', args)} failed: {errors.Trim()}");
    }

    private static void Say(string line) => Console.Out.WriteLine(line);
}
