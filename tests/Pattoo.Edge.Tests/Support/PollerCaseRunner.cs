using System.Text.RegularExpressions;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers;

namespace Pattoo.Edge.Tests.Support;

/// <summary>How a case's expected.out is compared with what the poll reported.</summary>
internal enum OutputMatch
{
    /// <summary>Line for line, in order (a poll against fixed files or an in-process fake).</summary>
    Exact,

    /// <summary>
    /// Against a live peer whose tables vary with the machine: every line is a pattern where <c>*</c>
    /// stands for any text without ',' or '}'; every output line must match some pattern, and every
    /// pattern must match some line unless it starts with '?'. Lines starting with '#' are comments.
    /// </summary>
    Patterns,
}

/// <summary>
/// The data-driven poller test cases, one runner for every poller: one folder per case under
/// src/Pattoo.Edge.Pollers/POLLER/testcases holding config.toml plus either init.err (every config
/// error, one per line, each matched as a prefix, in order) or expected.out (what the poll reported,
/// compared as <see cref="OutputMatch"/> says). Placeholders in config.toml are replaced by live values
/// (peer ports) and written back in the output, so expected.out stays stable across runs.
/// PATTOO_UPDATE_EXPECTED=1 rewrites init.err and exact expected.out; read the diff before committing.
/// </summary>
internal static class PollerCaseRunner
{
    private static string[] CaseDir(string poller) => ["src", "Pattoo.Edge.Pollers", poller, "testcases"];

    /// <summary>The case names of one poller, for [MemberData].</summary>
    public static TheoryData<string> Cases(string poller) => RepoPaths.Cases(CaseDir(poller));

    /// <summary>
    /// Runs case <paramref name="name"/>: binds config.toml with <paramref name="bind"/> and compares
    /// the errors with init.err, or runs <paramref name="pollAsync"/> on the options and compares its lines with expected.out.
    /// </summary>
    public static Task RunAsync<TOptions>(string poller, string name, Func<string, TOptions> bind,
        Func<TOptions, Task<List<string>>> pollAsync, params (string Placeholder, string Value)[] placeholders)
        => RunAsync(poller, name, bind, pollAsync, OutputMatch.Exact, placeholders);

    /// <inheritdoc cref="RunAsync{TOptions}(string, string, Func{string, TOptions}, Func{TOptions, Task{List{string}}}, ValueTuple{string, string}[])"/>
    public static async Task RunAsync<TOptions>(string poller, string name, Func<string, TOptions> bind,
        Func<TOptions, Task<List<string>>> pollAsync, OutputMatch match, params (string Placeholder, string Value)[] placeholders)
    {
        string dir = RepoPaths.Combine([.. CaseDir(poller), name]);
        string toml = File.ReadAllText(Path.Combine(dir, "config.toml"));
        foreach (var (key, value) in placeholders) toml = toml.Replace(key, value, StringComparison.Ordinal);
        string outPath = Path.Combine(dir, "expected.out"), errPath = Path.Combine(dir, "init.err");
        Assert.True(File.Exists(outPath) ^ File.Exists(errPath), $"{name}: needs exactly one of expected.out and init.err");
        bool update = Environment.GetEnvironmentVariable("PATTOO_UPDATE_EXPECTED") == "1";

        TOptions options;
        try
        {
            options = bind(toml);
        }
        catch (ConfigException e)
        {
            AssertErrors(name, errPath, [.. e.Errors.Select(x => x.ToString())], update);
            return;
        }
        Assert.True(File.Exists(outPath), $"{name}: expected errors, the config bound");

        var lines = await pollAsync(options);
        for (int i = 0; i < lines.Count; i++)
        {
            foreach (var (key, value) in placeholders) lines[i] = lines[i].Replace(value, key, StringComparison.Ordinal);
        }
        if (match == OutputMatch.Patterns)
        {
            AssertMatchesPatterns(name, File.ReadAllLines(outPath), lines);
            return;
        }
        if (update) File.WriteAllLines(outPath, lines);
        // compared as one text: xUnit then shows where the two first differ
        Assert.Equal(string.Join("\n", File.ReadAllLines(outPath)), string.Join("\n", lines));
    }

    /// <summary>
    /// The one meaning of an errors file: every error, one per line, in order, each matched as a
    /// prefix. With <paramref name="update"/> an existing file is rewritten from <paramref name="actual"/>.
    /// </summary>
    public static void AssertErrors(string name, string errPath, List<string> actual, bool update)
    {
        if (update && File.Exists(errPath)) File.WriteAllLines(errPath, actual);
        Assert.True(File.Exists(errPath), $"{name}: unexpected errors:\n{string.Join("\n", actual)}");
        var expected = File.ReadAllLines(errPath).Where(l => l.Length > 0).ToList();
        Assert.True(expected.Count == actual.Count, $"expected {expected.Count} errors, got {actual.Count}:\n{string.Join("\n", actual)}");
        for (int i = 0; i < expected.Count; i++)
            Assert.True(actual[i].StartsWith(expected[i], StringComparison.Ordinal), $"error {i + 1}:\n  expected: {expected[i]}\n  actual:   {actual[i]}");
    }

    private static void AssertMatchesPatterns(string name, string[] expected, List<string> lines)
    {
        var patterns = expected.Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var regexes = patterns.Select(p => new Regex("^" + Regex.Escape(p.TrimStart('?')).Replace("\\*", "[^,}]*", StringComparison.Ordinal) + "$")).ToList();
        string all = string.Join("\n  ", lines);
        foreach (var line in lines)
            Assert.True(regexes.Any(r => r.IsMatch(line)), $"{name}: no pattern in expected.out matches\n  {line}\nall lines:\n  {all}");
        for (int i = 0; i < patterns.Count; i++)
        {
            if (!patterns[i].StartsWith('?'))
                Assert.True(lines.Any(regexes[i].IsMatch), $"{name}: nothing matches\n  {patterns[i]}\nall lines:\n  {all}");
        }
    }

    /// <summary>
    /// Polls each target once and disposes it: every sample as "target/" + <paramref name="describe"/>
    /// (default <see cref="PollerTestSupport.Describe"/>), sorted, then a "failed: ..." line per poll that threw
    /// an exception <paramref name="isPollFailure"/> accepts (any other fails the test) and a
    /// "skipped: target: ..." line per problem the poll reported.
    /// </summary>
    public static async Task<List<string>> PollEachAsync(IEnumerable<IPollTarget> targets, TimeSpan limit, Func<Exception, bool> isPollFailure,
        Func<Common.Sample, string>? describe = null)
    {
        describe ??= s => PollerTestSupport.Describe(s);
        var samples = new List<string>();
        var problems = new List<string>();
        foreach (var target in targets)
        {
            var batch = new Common.SampleBatch();
            var report = new PollReport();
            try
            {
                using var cts = new CancellationTokenSource(limit);
                await target.PollAsync(batch, report, cts.Token);
            }
            catch (Exception e) when (isPollFailure(e))
            {
                problems.Add($"failed: {e.Message}");
            }
            foreach (var s in batch.Items) samples.Add($"{target.Name}/{describe(s)}");
            problems.AddRange(report.Problems.Select(p => $"skipped: {target.Name}: {p}"));
            await target.DisposeAsync();
        }
        samples.Sort(StringComparer.Ordinal);
        samples.AddRange(problems);
        return samples;
    }
}
