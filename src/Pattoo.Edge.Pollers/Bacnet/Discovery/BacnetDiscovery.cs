using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet.Discovery;

/// <summary>What <c>pattoo-edge discover bacnet</c> was asked.</summary>
public sealed record BacnetDiscoveryOptions
{
    /// <summary>Where Who-Is goes: a broadcast address, or one device's address (directed).</summary>
    public IPEndPoint Target { get; init; } = new(IPAddress.Broadcast, 47808);

    /// <summary>One device instance to look for, or every device.</summary>
    public int? Device { get; init; }

    /// <summary>How long to listen for I-Ams.</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(3);

    public IPEndPoint Local { get; init; } = new(IPAddress.Any, 47808);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Every object, not only the analog, binary and multi-state inputs, outputs and values.</summary>
    public bool All { get; init; }
}

/// <summary>One object of a device as discovery read it.</summary>
public sealed record BacnetDiscoveredObject(BacnetObjectId Id, string? Name, int? Units, string? Description);

/// <summary>One device: where its I-Am came from, its name and its objects.</summary>
public sealed record BacnetDiscoveredDevice(int Instance, string Address, BacnetRoute Route, string? Name, int ObjectCount, IReadOnlyList<BacnetDiscoveredObject> Objects, string? Note);

/// <summary>
/// <c>pattoo-edge discover bacnet</c>: Who-Is (global or for one instance), then each device's
/// object-list (element by element when the whole array does not fit one answer), and each
/// object's object-name, units and description; writes <c>[[bacnet.devices]]</c> tables.
/// </summary>
public static class BacnetDiscovery
{
    private const int ObjectList = 76, ObjectName = 77, Units = 117, Description = 28;

    /// <summary>Analog, binary and multi-state inputs, outputs and values: what a technician polls.</summary>
    private static readonly HashSet<int> PolledTypes = [0, 1, 2, 3, 4, 5, 13, 14, 19];

    /// <summary>Objects read of one device at most: a discovery is bounded in requests.</summary>
    public const int MaxObjects = 5000;

    public static async Task<string> RunAsync(BacnetDiscoveryOptions o, string commandLine, Action<string> progress, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(o.Timeout);
        await using var transport = new BacnetTransport(o.Local);
        int requests = 0;
        try
        {
            // two Who-Is half the wait apart: one lost datagram does not hide a device
            for (int i = 0; i < 2; i++)
            {
                await transport.SendWhoIsAsync(o.Device, o.Device, o.Target, IsBroadcast(o.Target.Address), limit.Token).ConfigureAwait(false);
                await Task.Delay(o.Wait / 2, limit.Token).ConfigureAwait(false);
            }
            var located = transport.Seen().Where(d => o.Device is null || d.IAm.DeviceInstance == o.Device).ToList();
            progress($"Who-Is to {o.Target}: {located.Count} device{(located.Count == 1 ? "" : "s")} answered" +
                     (located.Count > 0 ? ": " + string.Join(", ", located.Select(d => $"{d.IAm.DeviceInstance} at {d.Address}")) : ""));
            if (located.Count == 0)
            {
                throw new DiscoveryException($"no device{(o.Device is int n ? $" {n}" : "")} answered Who-Is sent to {o.Target} within {Duration.Format(o.Wait)}; " +
                    "give the subnet's broadcast address (--broadcast 192.0.2.255) or the device's address, and check that UDP port 47808 is open");
            }

            var devices = new List<BacnetDiscoveredDevice>();
            foreach (var d in located)
            {
                var reader = new DeviceReader(transport, d.Address, new RequestLimits(Apdu.MaxApduLength, 16, o.RequestTimeout, 2));
                var device = await ReadDeviceAsync(reader, d, o.All, progress, limit.Token).ConfigureAwait(false);
                requests += reader.Requests;
                devices.Add(device);
            }
            return BacnetDiscoveryToml.Write(commandLine, devices, requests, DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException($"discovery did not finish within {Duration.Format(o.Timeout)}; look for one device (--device N), or give a longer --timeout");
        }
        catch (SocketException e)
        {
            throw new DiscoveryException($"cannot use UDP {o.Local}: {e.Message}" + (e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? " (a running appliance or another BACnet program holds it: stop it, or give --local-port 0 to hear devices that answer the sender)" : ""));
        }
        catch (BacnetTransportException e)
        {
            throw new DiscoveryException(e.Message);
        }
    }

    private static bool IsBroadcast(IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        return address.Equals(IPAddress.Broadcast) || (b.Length == 4 && b[3] == 255);
    }

    private static async Task<BacnetDiscoveredDevice> ReadDeviceAsync(DeviceReader reader, LocatedDevice located, bool all, Action<string> progress, CancellationToken ct)
    {
        var device = new BacnetObjectId(BacnetObjectId.DeviceType, located.IAm.DeviceInstance);
        string? name = (await reader.ReadAsync(device, ObjectName, null, ct).ConfigureAwait(false))?.Text;
        var (ids, note) = await ReadObjectListAsync(reader, device, ct).ConfigureAwait(false);
        var chosen = ids.Where(id => id.Type != BacnetObjectId.DeviceType && (all || PolledTypes.Contains(id.Type))).Take(MaxObjects).ToList();
        progress($"device {located.IAm.DeviceInstance} ({name ?? "no name"}): {ids.Count} objects, reading {chosen.Count}");
        var objects = new List<BacnetDiscoveredObject>(chosen.Count);
        foreach (var id in chosen)
        {
            string? objectName = (await reader.ReadAsync(id, ObjectName, null, ct).ConfigureAwait(false))?.Text;
            int? units = id.Type is 0 or 1 or 2 && await reader.ReadAsync(id, Units, null, ct).ConfigureAwait(false) is { } u ? (int)u.Enumerated : null;
            string? description = (await reader.ReadAsync(id, Description, null, ct).ConfigureAwait(false))?.Text;
            objects.Add(new BacnetDiscoveredObject(id, objectName, units, string.IsNullOrWhiteSpace(description) ? null : description));
        }
        string address = located.Address.EndPoint.Port == 47808 ? located.Address.EndPoint.Address.ToString() : located.Address.EndPoint.ToString();
        return new BacnetDiscoveredDevice(located.IAm.DeviceInstance, address, located.Address.Route, name, ids.Count, objects, note);
    }

    /// <summary>The whole object-list in one read, or its length (index 0) then each element when the whole does not fit.</summary>
    private static async Task<(List<BacnetObjectId> Ids, string? Note)> ReadObjectListAsync(DeviceReader reader, BacnetObjectId device, CancellationToken ct)
    {
        var whole = await reader.ReadAllAsync(device, ObjectList, null, ct).ConfigureAwait(false);
        if (whole.Values is { } values) return ([.. values.Where(v => v.Tag == ApplicationTag.ObjectIdentifier).Select(v => v.ObjectId)], null);
        var length = await reader.ReadAsync(device, ObjectList, 0, ct).ConfigureAwait(false);
        if (length is null) return ([], $"object-list not readable ({whole.Problem})");
        int count = (int)Math.Min(length.Value.Unsigned, MaxObjects);
        var ids = new List<BacnetObjectId>(count);
        for (uint i = 1; i <= count; i++)
        {
            if (await reader.ReadAsync(device, ObjectList, i, ct).ConfigureAwait(false) is { Tag: ApplicationTag.ObjectIdentifier } v) ids.Add(v.ObjectId);
        }
        return (ids, $"object-list read element by element ({count} elements; the whole list: {whole.Problem})");
    }

    /// <summary>ReadProperty on one device, counting requests; a refused property reads as null.</summary>
    private sealed class DeviceReader(BacnetTransport transport, DeviceAddress address, RequestLimits limits)
    {
        private readonly byte[] _buffer = new byte[32];

        public int Requests { get; private set; }

        public async Task<BacnetValue?> ReadAsync(BacnetObjectId id, int property, uint? index, CancellationToken ct)
            => (await ReadAllAsync(id, property, index, ct).ConfigureAwait(false)).Values is [var first, ..] ? first : null;

        public async Task<(List<BacnetValue>? Values, string? Problem)> ReadAllAsync(BacnetObjectId id, int property, uint? index, CancellationToken ct)
        {
            BacnetServices.TryWriteReadProperty(_buffer, new PropertyReference(id, property, index), out int n);
            Requests++;
            var reply = await transport.RequestAsync(address, BacnetService.ReadProperty, _buffer.AsMemory(0, n), limits, ct).ConfigureAwait(false);
            if (reply.Kind != ReplyKind.Ack) return (null, reply.Describe());
            try
            {
                var result = BacnetServices.ReadReadPropertyAck(reply.Data);
                return result.Error is null ? (result.Values, null) : (null, "error " + result.Error);
            }
            catch (BacnetFormatException e)
            {
                return (null, $"malformed answer: {e.Message}");
            }
        }
    }
}

/// <summary>Writes discovered devices as <c>[[bacnet.devices]]</c> tables that <c>config check</c> accepts.</summary>
public static class BacnetDiscoveryToml
{
    public static string Write(string commandLine, IReadOnlyList<BacnetDiscoveredDevice> devices, int requests, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(commandLine).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"# {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {devices.Count} device{(devices.Count == 1 ? "" : "s")}, {requests} requests.\n");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in devices)
        {
            sb.Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"# device {d.Instance} at {d.Address}{(d.Route.IsLocal ? "" : $" network {d.Route.Network} mac {d.Route.MacText()}")}: {d.ObjectCount} objects\n");
            if (d.Note is not null) sb.Append("# ").Append(d.Note).Append('\n');
            if (d.Objects.Count == 0)
            {
                sb.Append("# nothing to poll: no analog, binary or multi-state object found (--all lists every object)\n");
                continue;
            }
            string name = TomlText.Unique(names, d.Name is { Length: > 0 } n ? n : $"bacnet-{d.Instance}");
            sb.Append("[[bacnet.devices]]\n");
            sb.Append("  name = ").Append(TomlText.String(name)).Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"  device_instance = {d.Instance}\n");
            sb.Append("  address = ").Append(TomlText.String(d.Address)).Append('\n');
            if (!d.Route.IsLocal)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  network = {d.Route.Network}\n");
                sb.Append("  mac = ").Append(TomlText.String(d.Route.MacText())).Append('\n');
            }
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var o in d.Objects)
            {
                sb.Append("\n  [[bacnet.devices.objects]]\n");
                sb.Append("    # ").Append(o.Id.ToString());
                if (o.Name is not null) sb.Append(' ').Append(TomlText.OneLine(o.Name, 100));
                if (o.Units is int units) sb.Append(", ").Append(BacnetNames.UnitsName(units));
                if (o.Description is not null) sb.Append(": ").Append(TomlText.OneLine(o.Description, 100));
                sb.Append('\n');
                sb.Append("    object = ").Append(TomlText.String(o.Id.ToString())).Append('\n');
                string key = TomlText.Unique(keys, TomlText.KeyFrom(o.Name ?? "", fallback: TomlText.KeyFrom(o.Id.ToString())));
                sb.Append("    key = ").Append(TomlText.String(key)).Append('\n');
            }
        }
        return sb.ToString();
    }
}
