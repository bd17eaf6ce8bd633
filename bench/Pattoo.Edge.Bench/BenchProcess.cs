using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.Bench;

/// <summary>What every benchmark does with the processes it measures: start, wait, read /proc, pick ports.</summary>
internal static class BenchProcess
{
    /// <summary>Starts a process in <paramref name="dir"/> with its output drained (a full pipe would stall it).</summary>
    public static Process Start(string file, IEnumerable<string> args, string dir)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    /// <summary>Waits until <paramref name="url"/> answers 2xx.</summary>
    public static async Task WaitHttp(HttpClient http, string url, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            try { using var r = await http.GetAsync(url); if (r.IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{url} did not answer within {seconds} s");
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>utime + stime of every thread of a process in seconds, from /proc/PID/stat (fields 14 and 15, clock ticks of 1/100 s).</summary>
    public static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>A kB figure of /proc/PID/status (VmRSS, VmHWM ...) in MiB.</summary>
    public static double StatusMiB(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        return double.NaN;
    }

    /// <summary>Bytes a directory occupies on the disk, as du counts them (allocated blocks).</summary>
    public static long DiskUsage(string dir)
    {
        var psi = new ProcessStartInfo("du", ["-s", "--block-size=1", dir]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return long.Parse(text.Split('\t')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>A GraphQL query to the appliance on 127.0.0.1:<paramref name="port"/>; its data, or the errors it answered as an exception.</summary>
    public static async Task<System.Text.Json.JsonElement> GraphQL(HttpClient http, int port, string query)
    {
        using var r = await http.PostAsync($"http://127.0.0.1:{port}/graphql", new StringContent(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["query"] = query }), System.Text.Encoding.UTF8, "application/json"));
        var root = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        if (root.TryGetProperty("errors", out var errors)) throw new InvalidOperationException(errors.ToString());
        return root.GetProperty("data").Clone();
    }

    /// <summary>The value at a percentile (nearest rank).</summary>
    public static double Percentile(IReadOnlyList<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1))];
    }
}
