using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Alerts;

public enum AlertConditionKind { Above, Below, Outside, NoDataFor }

/// <summary>What makes a rule's series alert: a value above, below or outside a band, or no sample for a while.</summary>
public sealed record AlertCondition(AlertConditionKind Kind, double Low, double High, TimeSpan NoData)
{
    /// <summary>True when <paramref name="value"/> meets the condition (not for no_data_for, which the clock decides).</summary>
    public bool Holds(double value) => Kind switch
    {
        AlertConditionKind.Above => value > High,
        AlertConditionKind.Below => value < Low,
        AlertConditionKind.Outside => value < Low || value > High,
        _ => false,
    };

    public override string ToString() => Kind switch
    {
        AlertConditionKind.Above => "above " + Number(High),
        AlertConditionKind.Below => "below " + Number(Low),
        AlertConditionKind.Outside => $"outside [{Number(Low)}, {Number(High)}]",
        _ => "no data for " + Duration.Format(NoData),
    };

    public static string Number(double v) => v.ToString("G15", CultureInfo.InvariantCulture);
}

/// <summary>One [[alerts.rules]] entry.</summary>
public sealed record AlertRule
{
    public required string Name { get; init; }
    /// <summary>Selector: agent program, polled target, key and labels; null/empty matches any.</summary>
    public string? Program { get; init; }
    public string? Target { get; init; }
    public string? Key { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];
    public required AlertCondition Condition { get; init; }
    /// <summary>How long the condition must hold before the alert fires.</summary>
    public TimeSpan For { get; init; }
    public EventSeverity Severity { get; init; } = EventSeverity.Warning;
    public string Message { get; init; } = AlertOptions.DefaultMessage;
    /// <summary>Damping: the least time between two notifications of one rule and series.</summary>
    public TimeSpan MinNotifyInterval { get; init; } = TimeSpan.FromMinutes(1);

    public bool Matches(string program, string target, string key, IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        if (Program is { } p && p != program) return false;
        if (Target is { } t && t != target) return false;
        if (Key is { } k && k != key) return false;
        foreach (var (name, value) in Labels)
        {
            bool found = false;
            foreach (var l in labels) found |= l.Key == name && l.Value == value;
            if (!found) return false;
        }
        return true;
    }

    /// <summary>A digest of its settings: a reload keeps the state of rules whose fingerprint did not change.</summary>
    public string Fingerprint => $"{Name}|{Program}|{Target}|{Key}|{string.Join(',', Labels.Select(l => l.Key + "=" + l.Value))}|{Condition}|{For.Ticks}|{Severity}|{Message}|{MinNotifyInterval.Ticks}";
}

/// <summary>One [[alerts.webhooks]] entry: where notifications are posted.</summary>
public sealed record AlertWebhook(string Name, Uri Url, string? Token, TimeSpan Timeout);

/// <summary>The [alerts] section.</summary>
public sealed record AlertOptions
{
    public const string DefaultMessage = "{key} of {target} is {value} ({condition})";
    public static readonly AlertOptions None = new();

    public IReadOnlyList<AlertRule> Rules { get; init; } = [];
    public IReadOnlyList<AlertWebhook> Webhooks { get; init; } = [];

    private static readonly string[] Placeholders = ["rule", "program", "target", "key", "value", "condition", "state", "severity", "for"];

    /// <summary>Binds [alerts]; every problem is reported with its line.</summary>
    public static AlertOptions Bind(ConfigSection s)
    {
        var rules = new List<AlertRule>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in s.GetSectionArray("rules"))
        {
            int before = r.Errors.Count;
            string name = r.GetName("a rule needs a name (name = \"boiler-too-hot\")");
            if (name.Length > 0 && !names.Add(name)) r.Error("name", $"a rule named \"{name}\" is already defined");
            string? program = r.GetOptionalString("program");
            string? target = r.GetOptionalString("target");
            string? key = r.GetOptionalString("key");
            var labels = r.GetStringMap("labels");
            if (program is null && target is null && key is null && labels.Count == 0)
                r.Error("a rule needs a selector: at least one of program, target, key and labels");

            var conditions = new List<AlertCondition>();
            if (r.Has("above")) conditions.Add(new AlertCondition(AlertConditionKind.Above, double.NaN, Finite(r, "above"), default));
            if (r.Has("below")) conditions.Add(new AlertCondition(AlertConditionKind.Below, Finite(r, "below"), double.NaN, default));
            if (r.Has("outside"))
            {
                var band = Band(r);
                if (band is { } b) conditions.Add(new AlertCondition(AlertConditionKind.Outside, b.Low, b.High, default));
            }
            if (r.Has("no_data_for"))
                conditions.Add(new AlertCondition(AlertConditionKind.NoDataFor, double.NaN, double.NaN, r.GetDuration("no_data_for", TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromDays(30))));
            int given = new[] { "above", "below", "outside", "no_data_for" }.Count(r.Has);
            if (given == 0) r.Error("a rule needs a condition: above = N, below = N, outside = [low, high] or no_data_for = \"5m\"");
            else if (given > 1) r.Error("a rule has one condition: above, below, outside or no_data_for; make a rule for each");

            var forDuration = r.GetDuration("for", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromDays(7));
            var severityText = r.GetChoice("severity", "warning", EventSeverities.Names);
            EventSeverities.TryParse(severityText, out var severity);
            var message = r.GetString("message", DefaultMessage);
            foreach (var placeholder in PlaceholdersIn(message))
                if (!Placeholders.Contains(placeholder) && !placeholder.StartsWith("label:", StringComparison.Ordinal))
                    r.Error("message", $"unknown placeholder {{{placeholder}}}; known: {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))}, {{label:NAME}}");
            var minInterval = r.GetDuration("min_notify_interval", TimeSpan.FromMinutes(1), TimeSpan.Zero, TimeSpan.FromDays(1));
            r.Finish();
            if (r.Errors.Count > before || conditions.Count != 1) continue;
            rules.Add(new AlertRule
            {
                Name = name,
                Program = program,
                Target = target,
                Key = key,
                Labels = labels,
                Condition = conditions[0],
                For = forDuration,
                Severity = severity,
                Message = message,
                MinNotifyInterval = minInterval,
            });
        }

        var webhooks = new List<AlertWebhook>();
        foreach (var w in s.GetSectionArray("webhooks"))
        {
            int before = w.Errors.Count;
            var urlText = w.GetOptionalString("url");
            Uri? url = null;
            if (urlText is null) w.Error("a webhook needs url = \"http://host:port/path\"");
            else if (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
                w.Error("url", $"expected an http:// or https:// URL, got \"{urlText}\"");
            string name = w.GetString("name", url?.Authority ?? "webhook");
            string? token = w.GetOptionalString("token");
            if (token is { Length: 0 }) w.Error("token", "expected a token, got an empty string (leave token out to send none)");
            var timeout = w.GetDuration("timeout", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1));
            w.Finish();
            if (w.Errors.Count == before && url is not null) webhooks.Add(new AlertWebhook(name, url, token, timeout));
        }
        s.Finish();
        return new AlertOptions { Rules = rules, Webhooks = webhooks };
    }

    /// <summary>A threshold; NaN after an error (GetFloat reports it), and the rule is then left out.</summary>
    private static double Finite(ConfigSection r, string key) => r.GetFloat(key, double.NaN);

    private static (double Low, double High)? Band(ConfigSection r)
    {
        int before = r.Errors.Count;
        var values = r.GetFloatArray("outside");
        if (r.Errors.Count > before) return null;
        if (values is not [var low, var high])
        {
            r.Error("outside", "expected [low, high], two numbers");
            return null;
        }
        if (low > high)
        {
            r.Error("outside", $"expected [low, high] with low <= high, got [{AlertCondition.Number(low)}, {AlertCondition.Number(high)}]");
            return null;
        }
        return (low, high);
    }

    /// <summary>The {name}s of a message template.</summary>
    public static IEnumerable<string> PlaceholdersIn(string template)
    {
        for (int i = template.IndexOf('{', StringComparison.Ordinal); i >= 0; i = template.IndexOf('{', i + 1))
        {
            int end = template.IndexOf('}', i);
            if (end < 0) yield break;
            yield return template[(i + 1)..end];
        }
    }

    /// <summary>Fills a message template.</summary>
    public static string Render(string template, Func<string, string?> value)
    {
        var sb = new StringBuilder();
        int at = 0;
        for (int i = template.IndexOf('{', StringComparison.Ordinal); i >= 0; i = template.IndexOf('{', at))
        {
            int end = template.IndexOf('}', i);
            if (end < 0) break;
            sb.Append(template, at, i - at).Append(value(template[(i + 1)..end]) ?? "");
            at = end + 1;
        }
        return sb.Append(template, at, template.Length - at).ToString();
    }
}
