using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Snmp.Traps;

/// <summary>
/// This box as an SNMP engine, which it is for informs (RFC 3414 sec 2.2: the receiver of an
/// inform is authoritative): its engine id, how often it has booted, and seconds since then.
/// The id and the boot count are kept in <c>snmp-engine</c> in the state directory, so a
/// sender's discovered id stays valid across restarts and a replayed old inform never is.
/// </summary>
public sealed class LocalEngine
{
    public const string FileName = "snmp-engine";
    private readonly long _startedAt = Stopwatch.GetTimestamp();

    public LocalEngine(byte[] id, int boots)
    {
        Id = id;
        Boots = boots;
    }

    public byte[] Id { get; }
    public int Boots { get; }

    /// <summary>snmpEngineTime: seconds since this boot.</summary>
    public int Time => (int)Math.Min(int.MaxValue, (long)Stopwatch.GetElapsedTime(_startedAt).TotalSeconds);

    private static readonly Dictionary<string, LocalEngine> OfProcess = new(StringComparer.Ordinal);

    /// <summary>
    /// The engine of this process for a state directory and configured id: started (its boot
    /// count moved on) once, then the same on every reload, as an SNMP engine boots once per
    /// start of the process.
    /// </summary>
    public static LocalEngine ForProcess(string stateDirectory, byte[]? configuredId)
    {
        string key = Path.GetFullPath(stateDirectory) + "|" + (configuredId is null ? "" : Convert.ToHexString(configuredId));
        lock (OfProcess)
        {
            if (!OfProcess.TryGetValue(key, out var engine)) OfProcess[key] = engine = Start(stateDirectory, configuredId);
            return engine;
        }
    }

    /// <summary>
    /// The engine of this start: the configured id or the one kept in <paramref name="stateDirectory"/>
    /// (else a new one: net-snmp's enterprise 8072, format 128, 8 random octets), and the kept
    /// boot count plus one, written back. A state directory that cannot be written is logged:
    /// informs still work, but senders must discover the engine again after a restart.
    /// </summary>
    public static LocalEngine Start(string stateDirectory, byte[]? configuredId)
    {
        var file = Path.Combine(stateDirectory, FileName);
        byte[]? keptId = null;
        int boots = 0;
        try
        {
            if (File.Exists(file))
            {
                foreach (var line in File.ReadAllLines(file))
                {
                    var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
                    if (parts.Length != 2) continue;
                    if (parts[0] == "id" && SnmpTrapOptions.TryParseEngineId(parts[1], out var id, out _)) keptId = id;
                    else if (parts[0] == "boots" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b)) boots = b;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Warning($"snmp traps: cannot read {file}: {SystemMessages.Describe(e)}");
        }
        var engineId = configuredId ?? keptId ?? NewId();
        // RFC 3414 sec 2.2.2: at 2147483647 the engine would need new keys; wrap to 1 instead.
        boots = boots >= int.MaxValue - 1 || (configuredId is not null && keptId is not null && !configuredId.AsSpan().SequenceEqual(keptId)) ? 1 : boots + 1;
        try
        {
            Directory.CreateDirectory(stateDirectory);
            var temp = file + ".tmp";
            File.WriteAllText(temp, $"id 0x{Convert.ToHexString(engineId).ToLowerInvariant()}\nboots {boots.ToString(CultureInfo.InvariantCulture)}\n");
            File.Move(temp, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Warning($"snmp traps: cannot keep the engine id and boot count in {file} ({SystemMessages.Describe(e)}); inform senders must discover this box again after each restart");
        }
        return new LocalEngine(engineId, boots);
    }

    private static byte[] NewId()
    {
        var id = new byte[13];
        id[0] = 0x80; id[1] = 0x00; id[2] = 0x1F; id[3] = 0x88; // enterprise 8072 (net-snmp), RFC 3411 format bit
        id[4] = 0x80; // format 128: random octets, as net-snmp makes them
        RandomNumberGenerator.Fill(id.AsSpan(5));
        return id;
    }
}
