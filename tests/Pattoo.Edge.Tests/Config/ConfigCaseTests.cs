using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Host;
using Pattoo.Edge.Pollers.Linux;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Config;

/// <summary>
/// One folder per case under Config/testcases: edge.toml plus expected.out (the parsed
/// result) or expected.err (one line per error, each matched as a prefix, in order).
/// Adding a case is adding files.
/// </summary>
public class ConfigCaseTests
{
    public static TheoryData<string> Cases => RepoPaths.Cases("tests", "Pattoo.Edge.Tests", "Config", "testcases");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name)
    {
        var dir = RepoPaths.Combine("tests", "Pattoo.Edge.Tests", "Config", "testcases", name);
        var text = File.ReadAllText(Path.Combine(dir, "edge.toml"));
        var expectedOut = Path.Combine(dir, "expected.out");
        var expectedErr = Path.Combine(dir, "expected.err");
        Assert.True(File.Exists(expectedOut) ^ File.Exists(expectedErr), $"{name}: needs exactly one of expected.out and expected.err");
        if (File.Exists(expectedOut))
        {
            var options = EdgeOptions.Parse(text, "edge.toml");
            Assert.Equal(Lines(File.ReadAllText(expectedOut)), Lines(Describe(options)));
        }
        else
        {
            var e = Assert.Throws<ConfigException>(() => EdgeOptions.Parse(text, "edge.toml"));
            var expected = Lines(File.ReadAllText(expectedErr));
            var actual = e.Errors.Select(x => x.ToString()).ToList();
            Assert.True(expected.Count == actual.Count, $"expected {expected.Count} errors, got {actual.Count}:\n{string.Join("\n", actual)}");
            for (int i = 0; i < expected.Count; i++)
                Assert.True(actual[i].StartsWith(expected[i], StringComparison.Ordinal), $"error {i + 1}:\n  expected: {expected[i]}\n  actual:   {actual[i]}");
        }
    }

    [Fact]
    public void EmbeddedDefaultParsesAndEnablesLinux()
    {
        var o = EdgeOptions.LoadDefault();
        Assert.True(o.Poller<LinuxOptions>().Enabled);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Poller<LinuxOptions>().Interval);
        Assert.Equal(20202, o.Server.Listen.Port);
        Assert.Equal(TimeSpan.FromDays(400), o.Storage.Retention);
    }

    [Fact]
    public void UnreadableFileIsOneErrorNamingIt()
    {
        var e = Assert.Throws<ConfigException>(() => EdgeOptions.LoadFile("/nonexistent/edge.toml"));
        Assert.Contains("cannot read the file", Assert.Single(e.Errors).ToString());
    }

    internal static string Describe(EdgeOptions o)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"appliance.name = {o.Appliance.Name}");
        sb.AppendLine($"server.listen = {o.Server.Listen}");
        sb.AppendLine($"storage.path = {o.Storage.Path}");
        sb.AppendLine($"storage.retention = {Duration.Format(o.Storage.Retention)}");
        sb.AppendLine($"storage.chunk_span = {Duration.Format(o.Storage.ChunkSpan)}");
        sb.AppendLine($"log.level = {o.LogLevel}");
        sb.AppendLine($"linux.enabled = {o.Poller<LinuxOptions>().Enabled}");
        sb.AppendLine($"linux.interval = {Duration.Format(o.Poller<LinuxOptions>().Interval)}");
        return sb.ToString();
    }

    private static List<string> Lines(string text)
        => text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
}

public class DurationTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("10s", 10_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("400d", 34_560_000_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData(" 1w ", 604_800_000)]
    public void Parses(string text, long ms)
    {
        Assert.True(Duration.TryParse(text, out var d));
        Assert.Equal(ms, (long)d.TotalMilliseconds);
        Assert.True(Duration.TryParse(Duration.Format(d), out var again));
        Assert.Equal(d, again);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("-5s")]
    [InlineData("1.5h")]
    [InlineData("10 s")]
    [InlineData("99999999999999d")]
    public void Rejects(string text) => Assert.False(Duration.TryParse(text, out _));
}
