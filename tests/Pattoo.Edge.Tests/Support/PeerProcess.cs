using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Pattoo.Edge.Tests.Support;

/// <summary>
/// A helper process a test talks to (a node peer from tests/peers, socat). Its stdout is read as
/// lines (so the pipe never fills and blocks it), its stderr is kept for error messages, and
/// disposing kills its whole process tree. A missing executable or npm package throws, so the
/// test FAILS rather than skips: CI must not go green without the peers.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private const int StderrLimit = 20000; // enough to diagnose, not enough to flood a failure message

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Channel<string> _stdout = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    private PeerProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    /// <summary>tests/peers: the node scripts and their node_modules.</summary>
    public static string PeersDirectory => RepoPaths.Combine("tests", "peers");

    /// <summary>What the process is, for messages ("modbus peer 'tcp 40123'").</summary>
    public string Description { get; }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>"exit code N" or "still running", for messages.</summary>
    public string ExitState => _process.WaitForExit(2000) ? $"exit code {_process.ExitCode}" : "still running";

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="installHint"/> says how to get it when it is missing.</summary>
    public static PeerProcess Start(string fileName, IEnumerable<string> args, string description, string installHint,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true, // some peers take commands, and exit when stdin closes
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (environment is not null) foreach (var (key, value) in environment) psi.Environment[key] = value;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{fileName} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{fileName} is not installed ({installHint})", e);
        }
        var peer = new PeerProcess(process, description);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (peer._stderr) { if (peer._stderr.Length < StderrLimit) peer._stderr.AppendLine(e.Data); }
        };
        process.BeginErrorReadLine();
        _ = peer.ReadStdoutAsync();
        return peer;
    }

    /// <summary>
    /// Runs tests/peers/<paramref name="script"/> with node and waits until it prints a line
    /// starting with "READY". <paramref name="requiredPackage"/> (a folder under node_modules)
    /// is checked first so a missing npm ci says so instead of a node stack trace.
    /// <paramref name="onLine"/> sees every line before READY (e.g. what the peer reports about itself).
    /// </summary>
    public static async Task<PeerProcess> StartNodeAsync(string script, string requiredPackage, IEnumerable<string> args,
        string description, TimeSpan readyTimeout, Action<string>? onLine = null)
    {
        if (!Directory.Exists(Path.Combine(PeersDirectory, "node_modules", requiredPackage)))
            throw new InvalidOperationException($"tests/peers/node_modules has no {requiredPackage}: run npm ci --prefix tests/peers (./build.sh test does)");
        var peer = Start("node", [Path.Combine(PeersDirectory, script), .. args], description, "./build.sh test installs it", PeersDirectory);
        try
        {
            await peer.WaitForLineAsync(line =>
            {
                onLine?.Invoke(line);
                return line.StartsWith("READY", StringComparison.Ordinal);
            }, readyTimeout, "get ready");
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
        return peer;
    }

    /// <summary>Reads stdout lines until one matches; throws when the process exits or the time runs out first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> matches, TimeSpan timeout, string waitingTo)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _stdout.Reader.WaitToReadAsync(cts.Token))
            {
                while (_stdout.Reader.TryRead(out string? line))
                    if (matches(line)) return line;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new InvalidOperationException($"{Description} did not {waitingTo} in {timeout.TotalSeconds:0} s: {Stderr}");
        }
        throw new InvalidOperationException($"{Description} exited ({ExitState}) before it could {waitingTo}: {Stderr}");
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    private async Task ReadStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line) _stdout.Writer.TryWrite(line);
        }
        catch (Exception) { /* the process is gone */ }
        _stdout.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception) { /* already gone */ }
        _process.Dispose();
    }
}
