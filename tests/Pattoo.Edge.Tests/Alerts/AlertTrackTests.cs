using System.Text.Json;
using Pattoo.Edge.Alerts;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Tests.Alerts;

public class AlertTrackTests
{
    private static AlertRule Rule(string condition = "above = 80", string extra = "")
        => Assert.Single(Bind($"""
            [[alerts.rules]]
            name = "hot"
            key = "flow_temperature"
            {condition}
            {extra}
            """).Rules);

    private static AlertOptions Bind(string toml)
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, "edge.toml", errors);
        Assert.Empty(errors);
        var root = new ConfigSection("edge.toml", "", tree, errors);
        var options = AlertOptions.Bind(root.GetSection("alerts"));
        root.Finish();
        Assert.Empty(errors);
        return options;
    }

    private static List<string> BindErrors(string toml)
    {
        var errors = new ConfigErrors();
        var tree = TomlTree.Parse(toml, "edge.toml", errors);
        var root = new ConfigSection("edge.toml", "", tree, errors);
        AlertOptions.Bind(root.GetSection("alerts"));
        return [.. errors.Select(e => e.ToString())];
    }

    private static List<AlertTransition> Feed(AlertTrack t, params (long At, double Value)[] samples)
    {
        var reports = new List<AlertTransition>();
        foreach (var (at, value) in samples) t.Sample(at, value, counter: false, now: at, reports);
        return reports;
    }

    [Fact]
    public void AValueAboveItsLineFiresAfterForAndResolvesWhenItFalls()
    {
        var t = new AlertTrack(Rule(extra: "for = \"30s\"\nmin_notify_interval = \"0s\""));
        var r = Feed(t, (0, 70), (10_000, 85));
        Assert.Equal(AlertReport.Pending, Assert.Single(r).Report);
        Assert.Equal(AlertState.Pending, t.State);
        r = Feed(t, (20_000, 90), (40_000, 91));
        var firing = Assert.Single(r);
        Assert.Equal((AlertReport.Firing, 10_000L, 91.0), (firing.Report, firing.Since, firing.Value!.Value));
        r = Feed(t, (50_000, 79));
        Assert.Equal(AlertReport.Resolved, Assert.Single(r).Report);
        Assert.Equal(AlertState.Inactive, t.State);
    }

    [Fact]
    public void AValueThatFallsBeforeForIsNeverReportedAsFiring()
    {
        var t = new AlertTrack(Rule(extra: "for = \"30s\""));
        var r = Feed(t, (0, 85), (20_000, 70), (25_000, 85), (40_000, 70));
        Assert.All(r, x => Assert.Equal(AlertReport.Pending, x.Report));
        Assert.Single(r); // the second pending is within min_notify_interval (1m) of the first
    }

    [Fact]
    public void FlappingIsDampedToOneNotificationPerIntervalAndTheStateAtItsEndIsReported()
    {
        var t = new AlertTrack(Rule(extra: "min_notify_interval = \"60s\""));
        var r = Feed(t, (0, 85));
        Assert.Equal(AlertReport.Firing, Assert.Single(r).Report);
        // Down, up, down, up within the minute: nothing is sent.
        r = Feed(t, (5_000, 70), (10_000, 90), (15_000, 70), (20_000, 90), (25_000, 70));
        Assert.Empty(r);
        // The minute is up while it is below: one resolution, with the flaps counted.
        r = [];
        t.Tick(61_000, r);
        var resolved = Assert.Single(r);
        Assert.Equal(AlertReport.Resolved, resolved.Report);
        Assert.Equal(4, resolved.Flaps);
        // Up again at once: held for a minute after the resolution.
        r = Feed(t, (62_000, 95));
        Assert.Empty(r);
        r = [];
        t.Tick(121_000, r);
        Assert.Equal(AlertReport.Firing, Assert.Single(r).Report);
        // A flap that ends where it was reported sends nothing.
        r = Feed(t, (130_000, 70), (140_000, 95));
        t.Tick(190_000, r);
        Assert.Empty(r);
    }

    [Fact]
    public void CountersAreJudgedByTheirRateAndNoDataByTheClock()
    {
        var rate = new AlertTrack(Rule("above = 100"));
        var r = new List<AlertTransition>();
        rate.Sample(0, 1_000, counter: true, now: 0, r);
        rate.Sample(10_000, 1_500, counter: true, now: 10_000, r); // 50/s
        Assert.Empty(r);
        rate.Sample(20_000, 4_000, counter: true, now: 20_000, r); // 250/s
        Assert.Equal(250, Assert.Single(r).Value);
        rate.Sample(30_000, 10, counter: true, now: 30_000, r); // a reset: not judged
        Assert.Single(r);

        var silent = new AlertTrack(Rule("no_data_for = \"30s\"", "min_notify_interval = \"0s\"")) { LastSampleAt = 0 };
        r.Clear();
        silent.Tick(20_000, r);
        Assert.Empty(r);
        silent.Tick(31_000, r);
        Assert.Equal(AlertReport.Firing, Assert.Single(r).Report);
        silent.Sample(32_000, 1, counter: false, now: 32_000, r);
        silent.Tick(33_000, r);
        Assert.Equal(AlertReport.Resolved, r[^1].Report);
    }

    [Fact]
    public void RulesAreCheckedWithTheirLines()
    {
        var errors = BindErrors("""
            [[alerts.rules]]
            name = "a"
            above = 1
            below = 2

            [[alerts.rules]]
            name = "b"
            key = "x"
            outside = [5, 1]
            severity = "loud"
            message = "{key} is {valeu}"

            [[alerts.rules]]
            key = "y"

            [[alerts.webhooks]]
            url = "ftp://example.invalid/"
            token = ""
            """);
        Assert.Equal(
        [
            "edge.toml:1:3: alerts.rules[0]: a rule needs a selector: at least one of program, target, key and labels",
            "edge.toml:1:3: alerts.rules[0]: a rule has one condition: above, below, outside or no_data_for; make a rule for each",
            "edge.toml:9:1: alerts.rules[1].outside: expected [low, high] with low <= high, got [5, 1]",
            "edge.toml:10:12: alerts.rules[1].severity: expected one of \"info\", \"warning\", \"critical\", got \"loud\"",
            "edge.toml:11:11: alerts.rules[1].message: unknown placeholder {valeu}; known: {rule}, {program}, {target}, {key}, {value}, {condition}, {state}, {severity}, {for}, {label:NAME}",
            "edge.toml:13:3: alerts.rules[2]: a rule needs a name (name = \"boiler-too-hot\")",
            "edge.toml:13:3: alerts.rules[2]: a rule needs a condition: above = N, below = N, outside = [low, high] or no_data_for = \"5m\"",
            "edge.toml:17:7: alerts.webhooks[0].url: expected an http:// or https:// URL, got \"ftp://example.invalid/\"",
            "edge.toml:18:9: alerts.webhooks[0].token: expected a token, got an empty string (leave token out to send none)",
        ], errors);
    }

    [Fact]
    public void TheWebhookBodyIsAlertmanagersFormat()
    {
        var rule = Rule(extra: "severity = \"critical\"\nmessage = \"{target} {key} at {value} ({label:sensor})\"");
        var series = new AlertSeries(7, "modbus", "boiler-plc", "flow_temperature", [new("sensor", "flow")], false);
        var notifier = new AlertNotifier("plant-box", "http://plant-box:20202/");
        var body = JsonDocument.Parse(notifier.Payload(new AlertNotification(rule, series, new AlertTransition(AlertReport.Firing, 1_764_000_060_000, 85.5, 1_764_000_000_000, 0),
            AlertEvaluator.Message(rule, series, "firing", 85.5)), "ops")).RootElement;
        Assert.Equal("4", body.GetProperty("version").GetString());
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal("ops", body.GetProperty("receiver").GetString());
        var alert = body.GetProperty("alerts")[0];
        var labels = alert.GetProperty("labels");
        Assert.Equal(("hot", "critical", "plant-box", "boiler-plc", "flow"), (labels.GetProperty("alertname").GetString(), labels.GetProperty("severity").GetString(),
            labels.GetProperty("appliance").GetString(), labels.GetProperty("target").GetString(), labels.GetProperty("sensor").GetString()));
        Assert.Equal("boiler-plc flow_temperature at 85.5 (flow)", alert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("2025-11-24T16:00:00.000Z", alert.GetProperty("startsAt").GetString());
        Assert.Equal("0001-01-01T00:00:00Z", alert.GetProperty("endsAt").GetString());
        Assert.Equal(16, alert.GetProperty("fingerprint").GetString()!.Length);
        Assert.Equal("http://plant-box:20202/#/events?source=alerts%2Fhot", alert.GetProperty("generatorURL").GetString());
    }
}
