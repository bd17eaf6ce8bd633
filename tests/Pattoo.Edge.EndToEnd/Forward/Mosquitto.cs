using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pattoo.Edge.EndToEnd.Forward;

/// <summary>
/// Debian's mosquitto on 127.0.0.1, on ports of its own, with persistence in the test's folder
/// (a restart keeps subscribers' sessions and queued QoS 1 messages), a password file, and
/// optionally a TLS listener with a self-signed certificate made by openssl.
/// </summary>
public sealed class Mosquitto : IDisposable
{
    public const string Broker = "/usr/sbin/mosquitto";
    public const string User = "edge", Password = "s3cret";

    private readonly string _dir;
    private Process? _process;

    public Mosquitto(string dir, bool tls = false)
    {
        Assert.True(File.Exists(Broker), $"{Broker} is missing: apt-get install mosquitto mosquitto-clients (./build.sh test installs them)");
        _dir = Path.Combine(dir, "mosquitto");
        Directory.CreateDirectory(_dir);
        Port = EdgeProcess.FreePort();
        Run("mosquitto_passwd", "-b", "-c", Path.Combine(_dir, "passwords"), User, Password);
        var config = new StringBuilder($"""
            # Run as root, mosquitto would switch to its own user, who cannot read this folder.
            user {Environment.UserName}
            per_listener_settings false
            allow_anonymous false
            password_file {_dir}/passwords
            persistence true
            persistence_location {_dir}/
            autosave_interval 1
            listener {Port} 127.0.0.1

            """);
        if (tls)
        {
            TlsPort = EdgeProcess.FreePort();
            CertificateFile = Path.Combine(_dir, "cert.pem");
            Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", Path.Combine(_dir, "key.pem"), "-out", CertificateFile);
            config.Append($"listener {TlsPort} 127.0.0.1\ncertfile {CertificateFile}\nkeyfile {_dir}/key.pem\n");
        }
        File.WriteAllText(Path.Combine(_dir, "mosquitto.conf"), config.ToString());
        Start();
    }

    public int Port { get; }
    public int TlsPort { get; }
    public string? CertificateFile { get; }

    public void Start()
    {
        var psi = new ProcessStartInfo(Broker) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Path.Combine(_dir, "mosquitto.conf"));
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitForPort(Port);
    }

    private readonly StringBuilder _log = new();

    /// <summary>What mosquitto logged.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>A clean stop (SIGTERM): mosquitto saves its sessions and queued messages.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
        _process = null;
    }

    private void WaitForPort(int port)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                tcp.Connect("127.0.0.1", port);
                return;
            }
            catch (System.Net.Sockets.SocketException) { Thread.Sleep(100); }
        }
        throw new TimeoutException($"mosquitto did not listen on 127.0.0.1:{port} within 15 s: {Log}");
    }

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string errors = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {errors}");
    }

    public void Dispose()
    {
        if (_process is null) return;
        try { _process.Kill(); _process.WaitForExit(10_000); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>
/// Debian's mosquitto_sub as the subscriber: a persistent session (clean session off) at QoS 1,
/// so what is published while it reconnects is kept for it; each message is one line
/// "MSG topic payload" (payload as text, or as hex with <paramref name="hex"/>).
/// </summary>
public sealed class MosquittoSubscriber : IDisposable
{
    private readonly List<string> _lines = new();
    private readonly ProcessStartInfo _psi;
    private Process _process;
    private int _subscribed;

    public MosquittoSubscriber(int port, string filter, bool hex)
    {
        // stdbuf: into a pipe, mosquitto_sub's stdio would hold lines back until 4 KiB gathered.
        _psi = new ProcessStartInfo("/usr/bin/stdbuf") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-oL", "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-u", Mosquitto.User, "-P", Mosquitto.Password,
                     "-i", "e2e-subscriber", "-c", "-q", "1", "-t", filter, "-d", "-F", hex ? "MSG %t %x" : "MSG %t %p" })
            _psi.ArgumentList.Add(a);
        _process = Start();
        var until = DateTime.UtcNow.AddSeconds(15);
        while (Volatile.Read(ref _subscribed) == 0 && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.True(_subscribed > 0, "mosquitto_sub did not subscribe within 15 s");
    }

    private Process Start()
    {
        var p = Process.Start(_psi)!;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line) return;
            if (line.StartsWith("MSG ", StringComparison.Ordinal)) { lock (_lines) _lines.Add(line[4..]); }
            else if (line.Contains("received SUBACK", StringComparison.Ordinal) || line.Contains("received CONNACK (0)", StringComparison.Ordinal)) Interlocked.Increment(ref _subscribed);
        };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>mosquitto_sub ends when its broker goes away: started again, it resumes its session.</summary>
    public void ResumeIfEnded()
    {
        if (!_process.HasExited) return;
        _process.Dispose();
        _process = Start();
    }

    /// <summary>(topic, payload) of every message received so far, in order.</summary>
    public List<(string Topic, string Payload)> Messages
    {
        get
        {
            lock (_lines) return [.. _lines.Select(l => l.IndexOf(' ') is var i and > 0 ? (l[..i], l[(i + 1)..]) : (l, ""))];
        }
    }

    public void Dispose()
    {
        try { _process.Kill(); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
