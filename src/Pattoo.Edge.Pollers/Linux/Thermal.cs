using System.Globalization;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// Parses the temperature files of /sys/class/thermal/thermal_zone*/temp and
/// /sys/class/hwmon/hwmon*/temp*_input: one integer in millidegrees Celsius ("48686\n").
/// </summary>
public static class Thermal
{
    public static bool TryParseMillidegrees(ReadOnlySpan<char> text, out double celsius)
    {
        var trimmed = text.Trim();
        if (long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long milli))
        {
            celsius = milli / 1000.0;
            return true;
        }
        celsius = 0;
        return false;
    }

    /// <summary>
    /// hwmon names may not contain '-', so the kernel registers a thermal zone "cpu-thermal" as hwmon
    /// "cpu_thermal"; comparing names in this form finds the hwmon copy of a zone.
    /// </summary>
    public static string HwmonFormOf(string zoneType) => zoneType.Replace('-', '_');
}
