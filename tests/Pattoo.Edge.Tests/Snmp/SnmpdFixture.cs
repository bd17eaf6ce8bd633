using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>
/// Debian's snmpd, started once for the SNMP tests on 127.0.0.1 and a free high UDP port,
/// with its own config, persistent directory (so createUser works on every start) and no
/// MIB files. Missing snmpd fails the tests: build.sh installs it.
/// </summary>
public sealed class SnmpdFixture : IDisposable
{
    public const string SnmpdPath = "/usr/sbin/snmpd";
    public const string Community = "pattoo-test";
    public const string SysLocation = "pattoo test lab";

    /// <summary>v3 users: name, createUser arguments, access level.</summary>
    public static readonly (string User, string Create, string Level)[] Users =
    [
        ("noauth", "", "noauth"),
        ("md5user", "MD5 \"md5password\"", "auth"),
        ("shauser", "SHA \"shapassword\"", "auth"),
        ("sha224user", "SHA-224 \"sha224password\"", "auth"),
        ("sha384user", "SHA-384 \"sha384password\"", "auth"),
        ("shaaes", "SHA \"shapassword\" AES \"aespassword\"", "priv"),
        ("sha256aes", "SHA-256 \"sha256password\" AES \"aespassword\"", "priv"),
        ("sha512aes256", "SHA-512 \"sha512password\" AES256 \"aespassword\"", "priv"),
        ("md5aes256", "MD5 \"md5password\" AES256 \"aespassword\"", "priv"),
        ("shaaes192", "SHA \"shapassword\" AES192 \"aespassword\"", "priv"),
        ("shades", "SHA \"shapassword\" DES \"despassword\"", "priv"),
    ];

    private readonly Process _process;
    private readonly string _dir;

    public SnmpdFixture()
    {
        if (!File.Exists(SnmpdPath))
            throw new InvalidOperationException($"{SnmpdPath} is missing: install Debian's snmpd (apt-get install snmpd snmp; build.sh test does it)");
        _dir = Directory.CreateTempSubdirectory("pattoo-snmpd-").FullName;
        if (Environment.GetEnvironmentVariable("PATTOO_SNMP_DEBUG_LOG") is { Length: > 0 } debugLog)
        {
            Pattoo.Edge.Common.Log.Configure(new StreamWriter(debugLog) { AutoFlush = true }, false);
            Pattoo.Edge.Common.Log.Level = Pattoo.Edge.Common.LogLevel.Debug;
        }
        Directory.CreateDirectory(Path.Combine(_dir, "persist"));
        Port = FreeUdpPort();
        var conf = new List<string>
        {
            $"rocommunity {Community} 127.0.0.1",
            $"syslocation {SysLocation}",
            "syscontact ops@example.invalid",
            "sysservices 72",
            "dontLogTCPWrappersConnects yes",
        };
        foreach (var (user, create, _) in Users) conf.Add(create.Length == 0 ? $"createUser {user}" : $"createUser {user} {create}");
        foreach (var (user, _, level) in Users) conf.Add($"rouser {user} {level}");
        string confPath = Path.Combine(_dir, "snmpd.conf");
        File.WriteAllLines(confPath, conf);
        var psi = new ProcessStartInfo(SnmpdPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-f", "-Lf", Path.Combine(_dir, "snmpd.log"), "-C", "-c", confPath, "-I", "-smux", "-p", Path.Combine(_dir, "snmpd.pid"), $"udp:127.0.0.1:{Port}" }) psi.ArgumentList.Add(a);
        psi.Environment["SNMP_PERSISTENT_DIR"] = Path.Combine(_dir, "persist");
        psi.Environment["MIBDIRS"] = Path.Combine(_dir, "no-mibs");
        psi.Environment["MIBS"] = "";
        _process = Process.Start(psi) ?? throw new InvalidOperationException("snmpd did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (Output) Output.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Output) Output.Add(e.Data); };
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => Pattoo.Edge.Common.Log.Warning($"snmpd exited: {string.Join(" | ", Output)}");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            WaitUntilAnswering();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";
    public List<string> Output { get; } = new();

    /// <summary>Runs a net-snmp command-line tool against this agent (no MIBs, numeric output).</summary>
    public string RunTool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/" + tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["MIBDIRS"] = Path.Combine(_dir, "no-mibs");
        psi.Environment["MIBS"] = "";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException($"{tool} did not finish"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {stderr.Result}");
        return stdout.Result;
    }

    private void WaitUntilAnswering()
    {
        var encoder = new SnmpEncoder();
        var request = new byte[512];
        encoder.TryWriteCommunityRequest(request, SnmpVersion.V2c, System.Text.Encoding.ASCII.GetBytes(Community), PduType.GetRequest, 1, 0, 0,
            [Oid.Parse("1.3.6.1.2.1.1.3.0")], out int length);
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var deadline = Stopwatch.StartNew();
        var receive = udp.ReceiveAsync();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited) throw new InvalidOperationException($"snmpd exited with {_process.ExitCode}: {string.Join("\n", Output)}");
            udp.Send(request, length, new IPEndPoint(IPAddress.Loopback, Port));
            if (receive.Wait(200)) return;
        }
        throw new TimeoutException($"snmpd did not answer on {Address}: {string.Join("\n", Output)}");
    }

    /// <summary>A UDP port nothing listens on at the moment (the kernel picks it).</summary>
    public static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        if (Environment.GetEnvironmentVariable("PATTOO_SNMP_DEBUG_LOG") is { Length: > 0 }) return;
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class SnmpdCollection : ICollectionFixture<SnmpdFixture>
{
    public const string Name = "snmpd";
}
