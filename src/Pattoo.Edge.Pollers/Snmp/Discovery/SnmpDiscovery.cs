using System.Globalization;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Snmp;

namespace Pattoo.Edge.Pollers.Snmp.Discovery;

/// <summary>One value an agent answered, copied out of its datagram.</summary>
public sealed record SnmpValue(byte[] Oid, SnmpValueType Type, byte[] Raw)
{
    /// <summary>The index below <paramref name="column"/> ("2", "1.4").</summary>
    public string IndexUnder(byte[] column) => Protocols.Snmp.Oid.FormatSuffix(Oid.AsSpan(column.Length));

    /// <summary>A number, for the numeric types; else null.</summary>
    public double? Number => Type switch
    {
        SnmpValueType.Integer => SnmpDecoder.ReadInt64(Raw),
        SnmpValueType.Counter32 or SnmpValueType.Gauge32 or SnmpValueType.TimeTicks => SnmpDecoder.ReadUInt64(Raw) & 0xFFFF_FFFF,
        SnmpValueType.Counter64 => SnmpDecoder.ReadUInt64(Raw),
        _ => null,
    };

    /// <summary>Printable text as text, other octets in hex, numbers as numbers, an OID dotted.</summary>
    public string Text => Type switch
    {
        SnmpValueType.OctetString => Raw.All(b => b is >= 0x20 and < 0x7F or (byte)'\t' or (byte)'\n' or (byte)'\r')
            ? Encoding.ASCII.GetString(Raw).Trim() : Convert.ToHexString(Raw),
        SnmpValueType.ObjectIdentifier => Protocols.Snmp.Oid.Format(Raw),
        SnmpValueType.IpAddress when Raw.Length == 4 => string.Join('.', Raw),
        _ => Number?.ToString(CultureInfo.InvariantCulture) ?? Type.ToString(),
    };
}

/// <summary>What an agent serves of the MIBs the appliance knows, read by <see cref="SnmpDiscovery"/>.</summary>
public sealed record SnmpSurvey(
    IReadOnlyDictionary<string, string> System,
    IReadOnlyList<string> Interfaces,
    bool HasIfXTable,
    IReadOnlyList<string> Storage,
    int Processors,
    IReadOnlyList<SnmpSensor> Sensors,
    int Requests);

/// <summary>An ENTITY-SENSOR-MIB sensor: its entPhysicalName, type (RFC 3433 SensorDataType), scale and precision.</summary>
public sealed record SnmpSensor(string Index, string Name, int Type, int Scale, int Precision);

/// <summary>
/// <c>pattoo-edge discover snmp</c>: reads the agent's <c>system</c> group, walks IF-MIB
/// (ifXTable when served), HOST-RESOURCES (storage, processors) and ENTITY-SENSOR-MIB, and writes a
/// <c>[[snmp.targets]]</c> table using the built-in groups where they fit and explicit OIDs otherwise.
/// </summary>
public static class SnmpDiscovery
{
    private static readonly (string Name, string Oid)[] SystemScalars =
    [
        ("sysDescr", "1.3.6.1.2.1.1.1.0"), ("sysObjectID", "1.3.6.1.2.1.1.2.0"), ("sysUpTime", "1.3.6.1.2.1.1.3.0"),
        ("sysContact", "1.3.6.1.2.1.1.4.0"), ("sysName", "1.3.6.1.2.1.1.5.0"), ("sysLocation", "1.3.6.1.2.1.1.6.0"),
    ];

    private const string IfDescr = "1.3.6.1.2.1.2.2.1.2", IfName = "1.3.6.1.2.1.31.1.1.1.1";
    private const string HrStorageDescr = "1.3.6.1.2.1.25.2.3.1.3", HrProcessorLoad = "1.3.6.1.2.1.25.3.3.1.2";
    private const string EntPhysicalName = "1.3.6.1.2.1.47.1.1.1.1.7";
    private const string EntPhySensorType = "1.3.6.1.2.1.99.1.1.1.1", EntPhySensorScale = "1.3.6.1.2.1.99.1.1.1.2",
        EntPhySensorPrecision = "1.3.6.1.2.1.99.1.1.1.3", EntPhySensorValue = "1.3.6.1.2.1.99.1.1.1.4";

    /// <summary>Rows read of one column at most: a discovery is bounded in requests.</summary>
    public const int MaxRows = 2000;

    /// <summary>
    /// Discovers the agent <paramref name="target"/> describes (address and credentials, checked by
    /// the config binder) within <paramref name="timeout"/>; returns the TOML.
    /// </summary>
    public static async Task<string> RunAsync(SnmpTargetOptions target, string commandLine, TimeSpan timeout, Action<string> progress, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        await using var lease = SnmpTransport.CreatePrivate();
        using var session = new SnmpSession(target, lease.Resource);
        var client = new SnmpWalker(session, target.MaxRepetitions);
        try
        {
            var system = await client.GetAsync(SystemScalars.Select(s => s.Oid).ToArray(), limit.Token).ConfigureAwait(false);
            var sys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, oid) in SystemScalars)
                if (system.TryGetValue(oid, out var v)) sys[name] = v.Text;
            progress($"{session.Remote}: {(sys.TryGetValue("sysName", out var n) ? n : "?")}: {(sys.TryGetValue("sysDescr", out var d) ? d : "no sysDescr")}");

            var ifNames = await client.WalkAsync(IfName, limit.Token).ConfigureAwait(false);
            var ifDescrs = ifNames.Count > 0 ? ifNames : await client.WalkAsync(IfDescr, limit.Token).ConfigureAwait(false);
            progress($"IF-MIB: {ifDescrs.Count} interfaces{(ifNames.Count > 0 ? " (ifXTable)" : ifDescrs.Count > 0 ? " (ifTable only: 32-bit counters)" : "")}");
            var storage = await client.WalkAsync(HrStorageDescr, limit.Token).ConfigureAwait(false);
            var processors = await client.WalkAsync(HrProcessorLoad, limit.Token).ConfigureAwait(false);
            progress($"HOST-RESOURCES-MIB: {storage.Count} storage areas, {processors.Count} processors");
            var sensorTypes = await client.WalkAsync(EntPhySensorType, limit.Token).ConfigureAwait(false);
            var sensors = new List<SnmpSensor>();
            if (sensorTypes.Count > 0)
            {
                var scales = Column(await client.WalkAsync(EntPhySensorScale, limit.Token).ConfigureAwait(false), EntPhySensorScale);
                var precisions = Column(await client.WalkAsync(EntPhySensorPrecision, limit.Token).ConfigureAwait(false), EntPhySensorPrecision);
                var names = Column(await client.WalkAsync(EntPhysicalName, limit.Token).ConfigureAwait(false), EntPhysicalName);
                byte[] typeColumn = Protocols.Snmp.Oid.Parse(EntPhySensorType);
                foreach (var t in sensorTypes)
                {
                    string index = t.IndexUnder(typeColumn);
                    sensors.Add(new SnmpSensor(index, names.TryGetValue(index, out var nm) ? nm.Text : $"sensor {index}", (int)(t.Number ?? 0),
                        (int)(scales.TryGetValue(index, out var sc) ? sc.Number ?? 9 : 9), (int)(precisions.TryGetValue(index, out var p) ? p.Number ?? 0 : 0)));
                }
            }
            progress($"ENTITY-SENSOR-MIB: {sensors.Count} sensors");

            var survey = new SnmpSurvey(sys, [.. ifDescrs.Select(v => v.Text)], ifNames.Count > 0, [.. storage.Select(v => v.Text)], processors.Count, sensors, client.Requests);
            return SnmpDiscoveryToml.Write(commandLine, target, survey, DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException($"discovery of {session.Remote} did not finish within {Common.Duration.Format(timeout)} ({client.Requests} requests); give a longer --timeout");
        }
        catch (SnmpTimeoutException e)
        {
            throw new DiscoveryException($"{session.Remote}: {e.Message}; check the address, the version and the community or user (a wrong community gets no answer at all)");
        }
        catch (Exception e) when (e is SnmpReportException or SnmpAgentException)
        {
            throw new DiscoveryException($"{session.Remote}: {e.Message}");
        }
    }

    private static Dictionary<string, SnmpValue> Column(List<SnmpValue> values, string column)
    {
        byte[] prefix = Protocols.Snmp.Oid.Parse(column);
        return values.ToDictionary(v => v.IndexUnder(prefix), StringComparer.Ordinal);
    }
}

/// <summary>GETs and walks over one session, copying values out of each answer.</summary>
internal sealed class SnmpWalker(SnmpSession session, int repetitions)
{
    public int Requests { get; private set; }

    /// <summary>The values of <paramref name="oids"/> the agent has, by dotted OID (absent ones left out).</summary>
    public async Task<Dictionary<string, SnmpValue>> GetAsync(string[] oids, CancellationToken ct)
    {
        var found = new Dictionary<string, SnmpValue>(StringComparer.Ordinal);
        // one OID per request: SNMPv1 refuses a whole request for one missing name
        foreach (string oid in oids)
        {
            Requests++;
            var r = await session.RequestAsync(PduType.GetRequest, [Protocols.Snmp.Oid.Parse(oid)], 1, 0, 0, ct).ConfigureAwait(false);
            if (r.Header.ErrorStatus != 0) continue;
            var reader = new VarbindReader(r.Buffer, r.Header.Varbinds);
            if (reader.TryRead(out var vb) && vb.Type is not (SnmpValueType.NoSuchObject or SnmpValueType.NoSuchInstance or SnmpValueType.EndOfMibView or SnmpValueType.Null))
                found[oid] = new SnmpValue(vb.Oid.ToArray(), vb.Type, vb.Value.ToArray());
        }
        return found;
    }

    /// <summary>Every value under <paramref name="column"/>, in order, at most <see cref="SnmpDiscovery.MaxRows"/>.</summary>
    public async Task<List<SnmpValue>> WalkAsync(string column, CancellationToken ct)
    {
        byte[] prefix = Protocols.Snmp.Oid.Parse(column);
        byte[] last = prefix;
        var values = new List<SnmpValue>();
        bool bulk = session.Version != SnmpVersion.V1;
        while (values.Count < SnmpDiscovery.MaxRows)
        {
            Requests++;
            var r = bulk
                ? await session.RequestAsync(PduType.GetBulkRequest, [last], 1, 0, repetitions, ct).ConfigureAwait(false)
                : await session.RequestAsync(PduType.GetNextRequest, [last], 1, 0, 0, ct).ConfigureAwait(false);
            if (r.Header.ErrorStatus != 0) return values; // v1's noSuchName: the end of the view
            var reader = new VarbindReader(r.Buffer, r.Header.Varbinds);
            bool any = false;
            while (reader.TryRead(out var vb))
            {
                if (vb.Type == SnmpValueType.EndOfMibView || !Protocols.Snmp.Oid.IsUnder(vb.Oid, prefix)) return values;
                if (Protocols.Snmp.Oid.Compare(vb.Oid, last) <= 0) return values; // an agent going backwards
                last = vb.Oid.ToArray();
                values.Add(new SnmpValue(last, vb.Type, vb.Value.ToArray()));
                any = true;
            }
            if (!any) return values;
        }
        return values;
    }
}
