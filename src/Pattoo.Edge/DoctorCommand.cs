using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Storage;

namespace Pattoo.Edge;

/// <summary>
/// <c>pattoo-edge doctor [--config FILE] [--json]</c>: checks what technicians get wrong on a
/// new box, each with the fix: the C library and OpenSSL, the configuration, the listen port,
/// the storage directory and its free space, the clock, serial devices, one probe of every
/// target, certificates about to expire. Exit 1 when a check fails (warnings do not fail).
/// </summary>
internal static partial class DoctorCommand
{
    private enum Status { Ok, Warn, Fail }

    private sealed record Finding(string Check, Status Status, string Message, string? Fix = null);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        string? config = null;
        bool json = false;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c" && i + 1 < args.Length) config = args[++i];
            else if (args[i] == "--json") json = true;
            else
            {
                Console.Error.WriteLine("usage: pattoo-edge doctor [--config FILE] [--json]");
                return Program.ExitUsage;
            }
        }
        var findings = new List<Finding> { CLibrary(), OpenSsl(), Clock() };
        string? file = AdminDefaults.ConfigFile(config);
        EdgeOptions? options = null;
        try
        {
            options = AdminDefaults.Load(config);
            findings.Add(new Finding("config", Status.Ok, $"{file ?? "the embedded default"}: valid ({options.TargetCount} poll targets, {options.Forward.All.Count()} forwarders)"));
        }
        catch (ConfigException e)
        {
            string first = string.Join("; ", e.Errors.Take(3).Select(x => x.ToString()));
            findings.Add(new Finding("config", Status.Fail, $"{e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}: {first}{(e.Errors.Count > 3 ? "; ..." : "")}",
                $"pattoo-edge config check {file} lists them all with their lines"));
        }
        catch (IOException e)
        {
            findings.Add(new Finding("config", Status.Fail, e.Message, "pattoo-edge config default > edge.toml writes a valid file to start from"));
        }
        if (options is not null)
        {
            findings.Add(ListenPort(options));
            findings.AddRange(StorageDirectory(options.Storage));
            var endpoints = options.Pollers.SelectMany(p => p.Endpoints()).ToList();
            findings.AddRange(endpoints.Where(e => e.Transport == PollTransport.Serial).Select(SerialDevice));
            findings.AddRange(await Task.WhenAll(endpoints.Where(e => e.Transport != PollTransport.Serial).Select(ProbeAsync)).ConfigureAwait(false));
            findings.AddRange(Certificates(options));
        }
        int failed = findings.Count(f => f.Status == Status.Fail), warned = findings.Count(f => f.Status == Status.Warn);
        if (json) WriteJson(findings);
        else
        {
            foreach (var f in findings)
            {
                Console.Out.WriteLine($"[{f.Status switch { Status.Ok => " OK ", Status.Warn => "WARN", _ => "FAIL" }}] {f.Check}: {f.Message}");
                if (f.Fix is not null && f.Status != Status.Ok) Console.Out.WriteLine($"       fix: {f.Fix}");
            }
            Console.Out.WriteLine($"doctor: {findings.Count} checks, {failed} failed, {warned} warning{(warned == 1 ? "" : "s")}");
        }
        return failed > 0 ? Program.ExitError : Program.ExitOk;
    }

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    private static Finding CLibrary()
    {
        try
        {
            string version = Marshal.PtrToStringUTF8(GnuGetLibcVersion()) ?? "?";
            bool ok = Version.TryParse(version, out var v) && v >= new Version(2, 34);
            return new Finding("glibc", ok ? Status.Ok : Status.Fail, $"{version} (2.34 or newer needed)", ok ? null : "Debian 12, Raspberry Pi OS bookworm or Ubuntu 22.04 and later have it");
        }
        catch (EntryPointNotFoundException)
        {
            return new Finding("glibc", Status.Fail, "this C library is not glibc", "a glibc distribution (Debian, Raspberry Pi OS, Ubuntu); musl (Alpine) is not supported");
        }
    }

    private static Finding OpenSsl()
    {
        if (OperatingSystem.IsWindows()) return new Finding("openssl", Status.Fail, "this is not Linux");
        try
        {
            long v = SafeEvpPKeyHandle.OpenSslVersion;
            long major = v >> 28, minor = (v >> 20) & 0xFF, patch = (v >> 4) & 0xFF;
            bool ok = major >= 3;
            return new Finding("openssl", ok ? Status.Ok : Status.Warn, $"{major}.{minor}.{patch} (3 expected: TLS, SNMPv3 privacy, OPC UA security)", ok ? null : "apt install libssl3");
        }
        catch (Exception e) when (e is DllNotFoundException or PlatformNotSupportedException or TypeInitializationException or CryptographicException)
        {
            return new Finding("openssl", Status.Fail, $"OpenSSL cannot be loaded ({e.Message})", "apt install libssl3");
        }
    }

    private static Finding Clock()
    {
        var now = DateTimeOffset.UtcNow;
        if (now.Year < 2024)
            return new Finding("clock", Status.Fail, $"the clock says {now:yyyy-MM-dd HH:mm} UTC: samples would be stored at the wrong time", "timedatectl set-ntp true (or set it: timedatectl set-time 'YYYY-MM-DD HH:MM')");
        string? synced = Run("timedatectl", "show", "-p", "NTPSynchronized", "--value");
        return synced switch
        {
            "yes" => new Finding("clock", Status.Ok, $"{now:yyyy-MM-dd HH:mm} UTC, synchronised by NTP"),
            "no" => new Finding("clock", Status.Warn, $"{now:yyyy-MM-dd HH:mm} UTC, not synchronised by NTP: it will drift", "timedatectl set-ntp true"),
            _ => new Finding("clock", Status.Ok, $"{now:yyyy-MM-dd HH:mm} UTC (NTP state unknown: no timedatectl answer)"),
        };
    }

    private static Finding ListenPort(EdgeOptions options)
    {
        var endpoint = options.Server.Listen;
        try
        {
            using var listener = new TcpListener(endpoint);
            listener.Start();
            return new Finding("listen", Status.Ok, $"{endpoint} is free");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            if (StorageLock.IsHeld(options.Storage.Path, out int? pid))
                return new Finding("listen", Status.Ok, $"{endpoint} is in use by the running appliance (process {pid?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
            return new Finding("listen", Status.Fail, $"{endpoint} is in use by another program", $"ss -ltnp 'sport = :{endpoint.Port}' names it; stop it or change server.listen");
        }
        catch (SocketException e)
        {
            string fix = e.SocketErrorCode == SocketError.AccessDenied ? $"ports below 1024 need root; use server.listen = \"0.0.0.0:20202\"" : "server.listen must be an address of this box";
            return new Finding("listen", Status.Fail, $"{endpoint}: {e.Message}", fix);
        }
    }

    private static IEnumerable<Finding> StorageDirectory(StorageOptions storage)
    {
        string path = storage.Path;
        string existing = path;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent) existing = parent;
        try
        {
            string probe = Path.Combine(existing, $".pattoo-edge-doctor-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [new Finding("storage", Status.Fail, $"{path}: cannot write in {existing} ({e.Message})",
                $"storage.path must be writable by the user running pattoo-edge ({Environment.UserName}); the service's default /var/lib/pattoo-edge is")];
        }
        var drive = new DriveInfo(existing);
        double free = drive.TotalSize > 0 ? (double)drive.AvailableFreeSpace / drive.TotalSize : 1;
        string space = $"{drive.AvailableFreeSpace / 1048576.0:N0} MiB free of {drive.TotalSize / 1048576.0:N0} MiB ({free:P0})";
        return [free < 0.10
            ? new Finding("storage", Status.Warn, $"{path}: writable, only {space}", "lower storage.retention, or give the box a larger card or disk")
            : new Finding("storage", Status.Ok, $"{path}: writable, {space}")];
    }

    private static Finding SerialDevice(PollEndpoint e)
    {
        if (!File.Exists(e.Host))
            return new Finding($"serial {e.Target}", Status.Fail, $"{e.Host} does not exist", "check the adapter is plugged in; ls -l /dev/serial/by-id names the ports (a by-id path survives reboots)");
        // "dialout 660": the unit gives the service the dialout group (SupplementaryGroups=dialout).
        string? stat = Run("stat", "-L", "-c", "%G %a", e.Host);
        if (stat is { } text && text.Split(' ') is [var group, var mode] && mode.Length >= 3)
        {
            bool groupRw = group == "dialout" && (mode[^2] - '0' & 6) == 6, otherRw = (mode[^1] - '0' & 6) == 6;
            if (groupRw || otherRw) return new Finding($"serial {e.Target}", Status.Ok, $"{e.Host} (group {group}, mode {mode}): the service can use it");
            return new Finding($"serial {e.Target}", Status.Fail, $"{e.Host} (group {group}, mode {mode}): the service (group dialout) cannot open it",
                $"a udev rule giving it GROUP=\"dialout\", MODE=\"0660\" (most USB adapters get that already)");
        }
        return new Finding($"serial {e.Target}", Status.Ok, $"{e.Host} exists");
    }

    private static async Task<Finding> ProbeAsync(PollEndpoint e)
    {
        string where = $"{(e.Transport == PollTransport.Tcp ? "tcp" : "udp")} {e.Host}:{e.Port}";
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            if (e.Transport == PollTransport.Tcp)
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(e.Host, e.Port, timeout.Token).ConfigureAwait(false);
                return new Finding($"target {e.Target}", Status.Ok, $"{where}: connected");
            }
            // UDP: a datagram no protocol answers; a refusal (ICMP port unreachable) says nothing
            // listens; silence is what a listening device gives too, so it is not a failure.
            using var udp = new UdpClient(e.Host.Contains(':') ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            udp.Connect(e.Host, e.Port);
            await udp.SendAsync(new byte[] { 0 }, timeout.Token).ConfigureAwait(false);
            await udp.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            return new Finding($"target {e.Target}", Status.Ok, $"{where}: answered");
        }
        catch (OperationCanceledException)
        {
            return e.Transport == PollTransport.Tcp
                ? new Finding($"target {e.Target}", Status.Fail, $"{where}: no answer within {ProbeTimeout.TotalSeconds:F0} s", "check the address, the cable and any firewall between")
                : new Finding($"target {e.Target}", Status.Ok, $"{where}: reachable, not refused (UDP: the poller's own requests tell more)");
        }
        catch (SocketException x)
        {
            string fix = x.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "nothing listens on that port: check the port, and that the device's service is on",
                SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "the name does not resolve: use the device's IP address, or fix DNS",
                SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to it: check the box's address and gateway (ip route)",
                _ => "check the address, the cable and any firewall between",
            };
            return new Finding($"target {e.Target}", Status.Fail, $"{where}: {x.Message}", fix);
        }
    }

    private static List<Finding> Certificates(EdgeOptions options)
    {
        var findings = new List<Finding>();
        var files = new List<(string What, string Path)>();
        if (options.Server.TlsCertificate is { } tls) files.Add(("server.tls_certificate", tls));
        string trusted = Path.Combine(options.Storage.Path, "opcua", "pki", "trusted");
        if (Directory.Exists(trusted)) files.AddRange(Directory.EnumerateFiles(trusted).Select(f => ("trusted OPC UA server", f)));
        foreach (var (what, path) in files)
        {
            X509Certificate2 certificate;
            try
            {
                certificate = path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || File.ReadAllText(path).Contains("-----BEGIN", StringComparison.Ordinal)
                    ? X509Certificate2.CreateFromPem(File.ReadAllText(path))
                    : X509CertificateLoader.LoadCertificateFromFile(path);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                findings.Add(new Finding($"certificate {what}", Status.Fail, $"{path}: unreadable ({e.Message})", "replace it with a PEM or DER certificate"));
                continue;
            }
            using (certificate)
            {
                var left = certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow;
                string subject = certificate.GetNameInfo(X509NameType.SimpleName, false);
                if (left < TimeSpan.Zero)
                    findings.Add(new Finding($"certificate {what}", Status.Fail, $"{path} ({subject}) expired on {certificate.NotAfter:yyyy-MM-dd}", "renew it; TLS clients and OPC UA peers refuse an expired certificate"));
                else if (left < TimeSpan.FromDays(30))
                    findings.Add(new Finding($"certificate {what}", Status.Warn, $"{path} ({subject}) expires on {certificate.NotAfter:yyyy-MM-dd}, in {left.TotalDays:F0} days", "renew it before then"));
                else
                    findings.Add(new Finding($"certificate {what}", Status.Ok, $"{path} ({subject}) valid until {certificate.NotAfter:yyyy-MM-dd}"));
            }
        }
        return findings;
    }

    private static void WriteJson(List<Finding> findings)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", findings.All(f => f.Status != Status.Fail));
            w.WriteStartArray("checks");
            foreach (var f in findings)
            {
                w.WriteStartObject();
                w.WriteString("check", f.Check);
                w.WriteString("status", f.Status.ToString().ToLowerInvariant());
                w.WriteString("message", f.Message);
                if (f.Fix is not null && f.Status != Status.Ok) w.WriteString("fix", f.Fix);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    /// <summary>A tool's output, trimmed; null when it cannot run or fails.</summary>
    private static string? Run(string program, params string[] args)
        => ToolProcess.Run(program, args) is (0, var output, _) ? output.Trim() : null;
}
