using System.Globalization;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// Temperatures: thermal zones and hwmon chips, their sensor files found by a scan that runs
/// again only every so often or when a known sensor disappears.
/// </summary>
public sealed partial class LinuxCollector
{
    private void CollectTemperatures(SampleBatch batch, long ts)
    {
        if (_rescanSensors || _cycle - _sensorsScannedAt >= SensorRescanCycles)
        {
            ScanSensors();
            _sensorsScannedAt = _cycle;
            _rescanSensors = false;
        }
        foreach (var sensor in _sensors)
        {
            switch (_reader.Read(Rooted(sensor.Path), out var text, out _))
            {
                case TextFileReader.Outcome.Missing:
                    _rescanSensors = true; // unplugged or driver unloaded
                    continue;
                case TextFileReader.Outcome.Failed:
                    continue; // a sleeping sensor answers EIO or ENODATA: no reading this time, not a fault
            }
            if (Thermal.TryParseMillidegrees(text, out double celsius)) batch.Add(sensor.Key, ts, celsius);
            else _problems.Add($"{sensor.Path}: cannot parse temperature: {ProblemWriter.Quote(text)}");
        }
    }

    /// <summary>
    /// Lists thermal zones ("sensor" = the zone's type, e.g. cpu-thermal) and hwmon temperature
    /// inputs ("sensor" = chip/label, e.g. coretemp/Core 0). An hwmon chip that is the copy of a
    /// thermal zone is left out. Zones or chips that share a name (two NVMe drives) are told apart
    /// by their directory: "hwmon2/nvme/Composite".
    /// </summary>
    private void ScanSensors()
    {
        var found = new List<(string Group, string Name, string Path, string Directory)>();
        var zoneTypes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (zone, zoneDir) in NumberedEntries(ThermalDir, "thermal_zone", "", directories: true))
        {
            string tempPath = zoneDir + "/temp";
            if (!File.Exists(Rooted(tempPath))) continue;
            string directory = "thermal_zone" + zone.ToString(CultureInfo.InvariantCulture);
            string type = ReadName(zoneDir + "/type") ?? directory;
            zoneTypes.Add(Thermal.HwmonFormOf(type));
            found.Add(("zone:" + type, type, tempPath, directory));
        }
        foreach (var (hwmon, hwmonDir) in NumberedEntries(HwmonDir, "hwmon", "", directories: true))
        {
            // Kernels before 3.x kept the attributes in the device directory.
            string dir = File.Exists(Rooted(hwmonDir + "/name")) ? hwmonDir : hwmonDir + "/device";
            string directory = "hwmon" + hwmon.ToString(CultureInfo.InvariantCulture);
            string chip = ReadName(dir + "/name") ?? directory;
            if (zoneTypes.Contains(chip)) continue;
            foreach (var (input, inputPath) in NumberedEntries(dir, "temp", "_input", directories: false))
            {
                string number = input.ToString(CultureInfo.InvariantCulture);
                string label = ReadName(dir + "/temp" + number + "_label") ?? "temp" + number;
                found.Add(("chip:" + chip, chip + "/" + label, inputPath, directory));
            }
        }

        // How many directories carry each zone type or chip name.
        var directoriesPerGroup = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var f in found)
        {
            if (!directoriesPerGroup.TryGetValue(f.Group, out var set)) directoriesPerGroup[f.Group] = set = new(StringComparer.Ordinal);
            set.Add(f.Directory);
        }
        var keys = new Dictionary<string, SeriesKey>(StringComparer.Ordinal);
        _sensors.Clear();
        foreach (var f in found)
        {
            string name = directoriesPerGroup[f.Group].Count > 1 ? f.Directory + "/" + f.Name : f.Name;
            if (keys.ContainsKey(name)) continue; // two labels alike on one chip: the first is kept
            if (!_sensorKeys.TryGetValue(name, out var key)) key = NewKey("temperature_celsius", DataType.Float, "sensor", name);
            keys[name] = key;
            _sensors.Add(new Sensor(f.Path, key));
        }
        _sensorKeys.Clear();
        foreach (var pair in keys) _sensorKeys[pair.Key] = pair.Value;
    }

    /// <summary>Entries of <paramref name="dir"/> named prefix + number + suffix, by number, as
    /// display paths ("/sys/class/hwmon/hwmon0"). A missing directory has none.</summary>
    private List<(int Number, string Path)> NumberedEntries(string dir, string prefix, string suffix, bool directories)
    {
        var result = new List<(int, string)>();
        IEnumerable<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(Rooted(dir));
            foreach (string full in names)
            {
                string name = Path.GetFileName(full);
                if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(suffix, StringComparison.Ordinal)) continue;
                var digits = name.AsSpan(prefix.Length, name.Length - prefix.Length - suffix.Length);
                if (!Numbers.TryParseInt(digits, out int number)) continue;
                // Zones and hwmon chips are symbolic links to directories; Directory.Exists follows them.
                if (directories ? !Directory.Exists(full) : !File.Exists(full)) continue;
                result.Add((number, dir + "/" + name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return result; // no such directory (a container), or not ours to read
        }
        result.Sort(static (a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }

    /// <summary>The trimmed first line of a small sysfs file, or null if it is missing, unreadable or blank.</summary>
    private string? ReadName(string displayPath)
    {
        if (_reader.Read(Rooted(displayPath), out var text, out _) != TextFileReader.Outcome.Ok) return null;
        var line = LoadAvg.FirstLine(text).Trim();
        return line.IsEmpty ? null : line.ToString();
    }
}
