using System.Net;
using System.Net.Sockets;

namespace Pattoo.Edge.EndToEnd.Doctor;

/// <summary>
/// <c>pattoo-edge doctor</c>, data-driven: each folder of Doctor/cases holds an <c>edge.toml</c>
/// and an <c>expected.txt</c> (an optional <c>args ...</c> line, the exit code, then lines the
/// output must contain). Placeholders: {DIR} the case's folder, {PORT} a free port, {BUSY_PORT}
/// a port another program listens on, {OPEN_PORT} a TCP port that accepts, {CLOSED_PORT} one
/// where nothing listens.
/// </summary>
public class DoctorTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(EndToEndSupport.RepoRoot, "tests", "Pattoo.Edge.EndToEnd", "Doctor", "cases")).Order())
            data.Add(Path.GetFileName(dir));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DoctorSaysWhatIsWrongAndHowToFixIt(string name)
    {
        string source = Path.Combine(EndToEndSupport.RepoRoot, "tests", "Pattoo.Edge.EndToEnd", "Doctor", "cases", name);
        string dir = Path.Combine(Path.GetTempPath(), $"pattoo-edge-doctor-{name}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(dir);
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        using var open = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        open.Start();
        try
        {
            var values = new Dictionary<string, string>
            {
                ["{DIR}"] = dir,
                ["{PORT}"] = EdgeProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["{BUSY_PORT}"] = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["{OPEN_PORT}"] = ((IPEndPoint)open.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["{CLOSED_PORT}"] = EdgeProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            string Fill(string text) => values.Aggregate(text, (t, v) => t.Replace(v.Key, v.Value, StringComparison.Ordinal));
            string config = Path.Combine(dir, "edge.toml");
            await File.WriteAllTextAsync(config, Fill(await File.ReadAllTextAsync(Path.Combine(source, "edge.toml"))));
            var expected = (await File.ReadAllLinesAsync(Path.Combine(source, "expected.txt"))).Select(Fill).Where(l => l.Length > 0).ToList();
            var args = new List<string> { "doctor", "--config", config };
            if (expected[0].StartsWith("args ", StringComparison.Ordinal))
            {
                args.AddRange(expected[0][5..].Split(' '));
                expected.RemoveAt(0);
            }
            var (code, stdout, stderr) = await EdgeProcess.RunAsync([.. args]);
            Assert.True(expected[0] == $"exit {code}", $"{name}: exit {code}, expected {expected[0]}\n{stdout}{stderr}");
            foreach (var line in expected.Skip(1))
                Assert.True(stdout.Contains(line, StringComparison.Ordinal), $"{name}: the output lacks \"{line}\":\n{stdout}{stderr}");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
