using System.Globalization;
using Pattoo.Edge.Config;

namespace Pattoo.Edge.Pollers.Writing;

/// <summary>
/// What a write to one point may set: a range (<see cref="Min"/>..<see cref="Max"/>) or a list
/// (<see cref="Allowed"/>), and at most <see cref="Ramp"/> away from what the device reports
/// just before the write. Pure: the write service checks every request here before any byte
/// leaves the box.
/// </summary>
public sealed record WriteLimits(WriteKind Kind, double? Min, double? Max, IReadOnlyList<string> Allowed, double? Ramp)
{
    /// <summary>Config keys that only apply with <c>writable = true</c>.</summary>
    public static readonly string[] Keys = ["min", "max", "allowed", "ramp"];

    /// <summary>
    /// Reads a request's value as this point takes it, or null with <paramref name="problem"/>.
    /// Numbers in invariant culture ("21.5"), true/false as 1/0; a bool point also takes on/off.
    /// </summary>
    public PointValue? Parse(string text, out string? problem)
    {
        problem = null;
        text = text.Trim();
        if (Kind == WriteKind.Text) return PointValue.Of(text);
        if (Kind == WriteKind.Bool)
        {
            switch (text.ToLowerInvariant())
            {
                case "1" or "true" or "on": return PointValue.Of(1);
                case "0" or "false" or "off": return PointValue.Of(0);
            }
            problem = $"expected 0 or 1 (or true/false), got \"{Shorten(text)}\"";
            return null;
        }
        // A boolean is 1 or 0 to a number point too (an OPC UA Boolean node, an SNMP TruthValue), then checked against its limits.
        if (text is "true" or "false") return PointValue.Of(text == "true" ? 1 : 0);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || !double.IsFinite(n))
        {
            problem = $"expected a number, got \"{Shorten(text)}\"";
            return null;
        }
        if (Kind == WriteKind.Integer && n != Math.Floor(n))
        {
            problem = $"expected a whole number, got {text}";
            return null;
        }
        return PointValue.Of(n);
    }

    /// <summary>Null when <paramref name="value"/> may be written over <paramref name="current"/>, else why not.</summary>
    public string? Check(PointValue value, PointValue? current)
    {
        if (Allowed.Count > 0)
        {
            bool listed = false;
            foreach (var a in Allowed)
                listed |= value.IsText ? a == value.Text : double.Parse(a, CultureInfo.InvariantCulture) == value.Number;
            if (!listed) return $"{value} is not one of the allowed values ({string.Join(", ", Allowed)})";
        }
        if (value.IsText) return null;
        if (Min is { } min && value.Number < min) return $"{value} is below the minimum {Format(min)}";
        if (Max is { } max && value.Number > max) return $"{value} is above the maximum {Format(max)}";
        if (Ramp is { } ramp && current is { IsText: false } now && Math.Abs(value.Number - now.Number) > ramp)
            return $"{value} is {Format(Math.Abs(value.Number - now.Number))} away from the device's {now}; ramp allows {Format(ramp)} per write";
        return null;
    }

    /// <summary>"min 5, max 30, ramp 2" or "allowed: auto, manual", for the API, errors and the dashboard.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Allowed.Count > 0) parts.Add("allowed: " + string.Join(", ", Allowed));
        if (Min is { } min) parts.Add("min " + Format(min));
        if (Max is { } max) parts.Add("max " + Format(max));
        if (Ramp is { } ramp) parts.Add("ramp " + Format(ramp) + " per write");
        return string.Join(", ", parts);
    }

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    /// <summary>
    /// Reads <c>writable</c> and its limits from a point's table: null when the point is not
    /// writable (then no limit key may be there). Every problem goes to the section's errors.
    /// </summary>
    /// <param name="s">The point's table, before its <see cref="ConfigSection.Finish"/>.</param>
    /// <param name="kind">The kind of value the point takes.</param>
    /// <param name="notWritable">Why the point can never be written (an input register), or null.</param>
    public static WriteLimits? Bind(ConfigSection s, WriteKind kind, string? notWritable = null)
    {
        bool writable = s.GetBool("writable", false);
        if (!writable)
        {
            foreach (var key in Keys)
            {
                if (s.Has(key)) s.Error(key, "applies to a writable point: add writable = true, or remove it");
            }
            return null;
        }
        int errorsBefore = s.Errors.Count;
        if (notWritable is not null) s.Error("writable", notWritable); // its limits are still read, so they are not reported as unknown too
        double? min = s.Has("min") ? s.GetFloat("min", 0) : null;
        double? max = s.Has("max") ? s.GetFloat("max", 0) : null;
        double? ramp = s.Has("ramp") ? s.GetFloat("ramp", 0) : null;
        var allowed = new List<string>();
        if (s.Has("allowed"))
        {
            if (kind == WriteKind.Text) allowed = s.GetStringArray("allowed");
            else
            {
                foreach (double a in s.GetFloatArray("allowed"))
                {
                    if (kind is WriteKind.Integer or WriteKind.Bool && a != Math.Floor(a)) s.Error("allowed", $"this point takes whole numbers; {Format(a)} is not one");
                    else if (kind == WriteKind.Bool && a is not (0 or 1)) s.Error("allowed", $"this point is 0 or 1; {Format(a)} is neither");
                    allowed.Add(Format(a));
                }
            }
            if (allowed.Count == 0) s.Error("allowed", "an empty list allows nothing: list the values a write may set, or remove writable");
        }
        switch (kind)
        {
            case WriteKind.Text:
                foreach (var key in (ReadOnlySpan<string>)["min", "max", "ramp"])
                {
                    if (s.Has(key)) s.Error(key, "applies to numbers; this point is text: list what may be written in allowed = [\"...\"]");
                }
                if (!s.Has("allowed")) s.Error("writable", "a writable text point needs allowed = [\"...\"], the texts a write may set");
                break;
            case WriteKind.Bool:
                foreach (var key in (ReadOnlySpan<string>)["min", "max", "ramp"])
                {
                    if (s.Has(key)) s.Error(key, "does not apply to a point that is 0 or 1 (use allowed = [0] or [1] to allow one state only)");
                }
                if (allowed.Count == 0) allowed = ["0", "1"];
                break;
            default:
                if (s.Has("allowed") && (min is not null || max is not null))
                    s.Error("allowed", "use either min/max or allowed, not both");
                else if (!s.Has("allowed") && (min is null || max is null))
                    s.Error("writable", "a writable number needs min and max (or allowed = [...]): the box never sends a value outside them");
                if (min is { } lo && max is { } hi && lo > hi) s.Error("min", $"min {Format(lo)} is above max {Format(hi)}");
                if (ramp is { } r && !(r > 0)) s.Error("ramp", $"expected the largest step of one write, above 0, got {Format(r)}");
                break;
        }
        return s.Errors.Count > errorsBefore ? null : new WriteLimits(kind, min, max, allowed, ramp);
    }
}
