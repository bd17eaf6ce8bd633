using System.Text.RegularExpressions;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>
/// Each folder of src/Pattoo.Edge.Pollers/Snmp/testcases is a config.toml (its [snmp] table,
/// ${ADDRESS} standing for the test's snmpd) plus expected.out (line patterns of every sample:
/// key{metadata} type, values left out as they change) or init.err (one line, matched as a
/// substring of the config errors). Adding a case is adding files.
/// </summary>
[Collection(SnmpdCollection.Name)]
public sealed class SnmpCaseTests(SnmpdFixture agent)
{
    public static TheoryData<string> Cases => RepoPaths.Cases("src", "Pattoo.Edge.Pollers", "Snmp", "testcases");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case(string name)
    {
        var dir = RepoPaths.Combine("src", "Pattoo.Edge.Pollers", "Snmp", "testcases", name);
        var toml = File.ReadAllText(Path.Combine(dir, "config.toml")).Replace("${ADDRESS}", agent.Address, StringComparison.Ordinal);
        var outPath = Path.Combine(dir, "expected.out");
        var errPath = Path.Combine(dir, "init.err");
        Assert.True(File.Exists(outPath) ^ File.Exists(errPath), $"{name}: needs exactly one of expected.out and init.err");
        if (File.Exists(errPath))
        {
            var expected = File.ReadAllText(errPath).Trim();
            var errors = SnmpTestSupport.BindErrors(toml);
            Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"expected an error containing\n  {expected}\ngot\n  {string.Join("\n  ", errors)}");
            return;
        }

        var targets = SnmpTestSupport.Bind(toml).CreateTargets(new PollerContext(SnmpTestSupport.Appliance, "/nonexistent"));
        try
        {
            var lines = new List<string>();
            foreach (var target in targets)
            {
                var (batch, report) = await SnmpTestSupport.PollOnceAsync(target);
                Assert.True(report.Problems.Count == 0, string.Join("\n", report.Problems));
                lines.AddRange(SnmpTestSupport.Lines(batch));
            }
            var patterns = File.ReadAllLines(outPath).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
            var regexes = patterns.Select(p => new Regex("^" + Regex.Escape(p.TrimStart('?')).Replace("\\*", "[^,}]*") + "$")).ToList();
            foreach (var line in lines)
                Assert.True(regexes.Any(r => r.IsMatch(line)), $"{name}: no pattern in expected.out matches\n  {line}\nall samples:\n  {string.Join("\n  ", lines)}");
            for (int i = 0; i < patterns.Count; i++)
                if (!patterns[i].StartsWith('?'))
                    Assert.True(lines.Any(regexes[i].IsMatch), $"{name}: nothing matches\n  {patterns[i]}\nall samples:\n  {string.Join("\n  ", lines)}");
        }
        finally
        {
            foreach (var t in targets) await t.DisposeAsync();
        }
    }
}
