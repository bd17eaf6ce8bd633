using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The published AOT binary, run as a child process on a temporary config. Every test
/// uses the same binary (build.sh publishes it once per run and sets PATTOO_EDGE_BINARY).
/// </summary>
public sealed partial class EdgeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();

    public static string Binary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("PATTOO_EDGE_BINARY");
            if (string.IsNullOrEmpty(path))
            {
                string arch = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64";
                path = Path.Combine(EndToEndSupport.RepoRoot, "artifacts", "publish", $"linux-{arch}", "pattoo-edge");
            }
            if (!File.Exists(path))
                throw new InvalidOperationException($"the published binary is missing at {path}: run ./build.sh test (it publishes it first) or set PATTOO_EDGE_BINARY");
            return path;
        }
    }

    public EdgeProcess(string workDir, params string[] args)
    {
        WorkDir = workDir;
        var psi = new ProcessStartInfo(Binary)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("JOURNAL_STREAM");
        psi.Environment.Remove("NOTIFY_SOCKET");
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string WorkDir { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_gate) return _output.ToString(); }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _output.AppendLine(line);
    }

    /// <summary>Waits until the output contains <paramref name="text"/> (after <paramref name="from"/> chars).</summary>
    public async Task<int> WaitForOutputAsync(string text, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var o = Output;
            int at = o.IndexOf(text, Math.Min(from, o.Length), StringComparison.Ordinal);
            if (at >= 0) return at + text.Length;
            if (_process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"'{text}' did not appear within {timeout.TotalSeconds} s. Output so far:\n{Output}");
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    public const int SIGHUP = 1, SIGTERM = 15;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Runs the binary to completion (CLI commands), returning exit code and output.</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunProgramAsync(Binary, TimeSpan.FromSeconds(30), args);

    /// <summary>Runs any program to completion (dpkg-deb, lintian, mosquitto_pub), returning exit code and output.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunProgramAsync(string program, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
