using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>Binds and checks the [bacnet] table, its devices and their objects; every problem is reported with its position.</summary>
internal static class BacnetOptionsBinder
{
    /// <summary>Object types whose present value comes with Status_Flags (analog, binary, multi-state, loop, accumulator, pulse converter, the value objects, lighting).</summary>
    private static readonly HashSet<int> TypesWithStatusFlags = [0, 1, 2, 3, 4, 5, 12, 13, 14, 19, 23, 24, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 54, 55];

    public static BacnetOptions Bind(ConfigSection s)
    {
        ArgumentNullException.ThrowIfNull(s);
        int localPort = (int)s.GetInteger("local_port", BacnetOptions.DefaultPort, 1, 65535);
        var localAddress = IPAddress.Any;
        string? localText = s.GetOptionalString("local_address");
        if (localText is not null && !TryParseIPv4(localText, out localAddress))
            s.Error("local_address", $"expected an IPv4 address such as \"0.0.0.0\" or \"192.0.2.5\", got \"{localText}\"");
        var broadcast = new IPEndPoint(IPAddress.Broadcast, BacnetOptions.DefaultPort);
        string? broadcastText = s.GetOptionalString("broadcast_address");
        if (broadcastText is not null && !TryParseEndPoint(broadcastText, out broadcast))
            s.Error("broadcast_address", $"expected \"a.b.c.d\" or \"a.b.c.d:port\" (the subnet's broadcast address, e.g. \"192.0.2.255\"), got \"{broadcastText}\"");
        int maxApdu = (int)s.GetInteger("max_apdu", Apdu.MaxApduLength, 50, Apdu.MaxApduLength);
        if (!Apdu.IsEncodableMaxApdu(maxApdu))
            s.Error("max_apdu", $"expected one of 50, 128, 206, 480, 1024, 1476 (the sizes a request can state), got {maxApdu}");
        int maxSegments = (int)s.GetInteger("max_segments", 16, 1, 64);

        var options = new BacnetOptions
        {
            LocalPort = localPort,
            LocalAddress = localAddress,
            BroadcastAddress = broadcast,
            MaxApduAccepted = maxApdu,
            MaxSegmentsAccepted = maxSegments,
        };
        var devices = new List<BacnetDeviceOptions>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var section in s.GetSectionArray("devices"))
        {
            var device = BindDevice(section, out string name);
            if (name.Length > 0 && !names.TryAdd(name, section.Path))
            {
                section.Error("name", $"device \"{name}\" is already defined at {names[name]}");
                continue;
            }
            if (device is not null) devices.Add(device);
        }
        s.Finish();
        return options with { Devices = devices };
    }

    private static BacnetDeviceOptions? BindDevice(ConfigSection s, out string name)
    {
        int errorsBefore = s.Errors.Count;
        name = s.GetName("a device needs a name (name = \"ahu-1\")");

        int? instance = s.Has("device_instance") ? (int)s.GetInteger("device_instance", 0, 0, BacnetNames.MaxInstance - 1) : null;
        IPEndPoint? address = null;
        string? addressText = s.GetOptionalString("address");
        if (addressText is not null && !TryParseEndPoint(addressText, out address))
            s.Error("address", $"expected \"a.b.c.d\" or \"a.b.c.d:port\" (port 47808 when left out), got \"{addressText}\"");
        if (!s.Has("device_instance") && !s.Has("address"))
            s.Error("a device needs device_instance (found by Who-Is), address, or both");

        var route = BacnetRoute.Local;
        int? network = s.Has("network") ? (int)s.GetInteger("network", 1, 1, 65534) : null;
        string? macText = s.GetOptionalString("mac");
        byte[]? mac = null;
        if (macText is not null && !TryParseMac(macText, out mac))
            s.Error("mac", $"expected the device's MAC on its network in hex (\"0a\" for MS/TP station 10) or \"a.b.c.d:port\" for a B/IP network, got \"{macText}\"");
        if (network is int net)
        {
            if (mac is not null) route = BacnetRoute.FromMac((ushort)net, mac);
            else if (macText is not null) { } // reported above
            else if (addressText is not null) s.Error("network", "a routed device with an address (its router's) needs mac = its MAC address on that network");
            else route = new BacnetRoute((ushort)net, 0, 0); // found by a Who-Is broadcast on that network
        }
        else if (macText is not null) s.Error("mac", "applies with network = the device's network number (DNET)");

        var interval = s.GetDuration("interval", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var timeout = s.GetDuration("timeout", TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1));
        int retries = (int)s.GetInteger("retries", 2, 0, 10);
        int? maxApdu = s.Has("max_apdu") ? (int)s.GetInteger("max_apdu", Apdu.MaxApduLength, 50, Apdu.MaxApduLength) : null;
        bool readMultiple = s.GetBool("read_multiple", true);
        s.CheckTimeoutWithinInterval(timeout, interval);
        bool cov = s.GetBool("cov", false);
        bool covConfirmed = s.GetBool("cov_confirmed", false);
        var covLifetime = s.GetDuration("cov_lifetime", TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10), TimeSpan.FromDays(1));
        var safety = s.GetDuration("cov_safety_interval", TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (s.Has("cov_safety_interval") && safety < interval)
            s.Error("cov_safety_interval", $"{Duration.Format(safety)} is shorter than the interval ({Duration.Format(interval)}): objects with COV are read at least every interval");

        var objects = new List<BacnetObjectOptions>();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var sections = s.GetSectionArray("objects");
        if (sections.Count == 0) s.Error("objects", "a device needs at least one [[bacnet.devices.objects]] entry");
        foreach (var os in sections)
        {
            var o = BindObject(os, cov);
            if (o is null) continue;
            if (keys.TryGetValue(o.Key, out var first)) { os.Error("key", $"\"{o.Key}\" is already stored by {first}"); continue; }
            if (o.StatusFlags && keys.TryGetValue(o.StatusFlagsKey, out first)) { os.Error("key", $"its status flags key \"{o.StatusFlagsKey}\" is already stored by {first}"); continue; }
            keys[o.Key] = os.Path;
            if (o.StatusFlags) keys[o.StatusFlagsKey] = os.Path + " (status flags)";
            objects.Add(o);
        }
        s.Finish();
        if (s.Errors.Count > errorsBefore) return null;
        return new BacnetDeviceOptions
        {
            Name = name,
            DeviceInstance = instance,
            Address = address,
            Route = route,
            Interval = interval,
            Timeout = timeout,
            Retries = retries,
            MaxApdu = maxApdu,
            ReadMultiple = readMultiple,
            Objects = objects,
            CovConfirmed = covConfirmed,
            CovLifetime = covLifetime,
            CovSafetyInterval = safety,
        };
    }

    private static BacnetObjectOptions? BindObject(ConfigSection s, bool deviceCov)
    {
        int errorsBefore = s.Errors.Count;
        string key = (s.GetOptionalString("key") ?? "").Trim();
        if (!s.Has("key")) s.Error("an object needs a key (key = \"supply_air_temp\")");
        else if (key.Length == 0) s.Error("key", "expected a key, got an empty string");

        BacnetObjectId id = default;
        string? objectText = s.GetOptionalString("object");
        if (!s.Has("object")) s.Error("an object needs object = \"type:instance\" (object = \"analog-input:0\")");
        else if (objectText is not null && !BacnetObjectId.TryParse(objectText.Trim(), out id))
            s.Error("object", $"expected \"type:instance\" with a standard type name (analog-input, binary-value, multi-state-value, ...) or a number 0-1023, and an instance 0-4194303, got \"{objectText}\"");

        int property = BacnetServices.PresentValue;
        string? propertyText = s.GetOptionalString("property");
        if (propertyText is not null && !BacnetNames.TryParseProperty(propertyText.Trim(), out property))
            s.Error("property", $"expected a standard property name (present-value, status-flags, units, object-name, ...) or a number, got \"{propertyText}\"");

        uint? index = s.Has("array_index") ? (uint)s.GetInteger("array_index", 1, 0, uint.MaxValue - 1) : null;
        bool defaultFlags = property == BacnetServices.PresentValue && TypesWithStatusFlags.Contains(id.Type);
        bool statusFlags = s.GetBool("status_flags", defaultFlags);
        if (statusFlags && s.Has("status_flags") && property == BacnetServices.StatusFlags)
            s.Error("status_flags", "the property read is status-flags already");
        // SubscribeCOV reports an object's present value and status flags (clause 13.1): the
        // objects that read another property (or an element) stay polled.
        bool covable = property == BacnetServices.PresentValue && index is null;
        bool cov = s.GetBool("cov", deviceCov && covable);
        if (cov && s.Has("cov") && !covable)
            s.Error("cov", "change of value reports present-value and status-flags: this object reads another property, so it is polled");
        var write = WriteLimits.Bind(s, WriteKindOf(id.Type), NotWritable(id.Type, property, index));
        int priority = 8;
        if (s.Has("write_priority"))
        {
            priority = (int)s.GetInteger("write_priority", 8, 1, 16);
            if (!s.GetBool("writable", false)) s.Error("write_priority", "applies to a writable object: add writable = true, or remove it");
            else if (priority == 6) s.Error("write_priority", "priority 6 is reserved for the device's minimum on/off times (clause 19.2.3): choose another");
        }
        s.Finish();
        if (s.Errors.Count > errorsBefore) return null;
        return new BacnetObjectOptions { Key = key, Object = id, Property = property, ArrayIndex = index, StatusFlags = statusFlags, Cov = cov, Write = write, WritePriority = priority };
    }

    private const int AnalogInput = 0, AnalogOutput = 1, AnalogValue = 2, BinaryInput = 3, BinaryOutput = 4, BinaryValue = 5,
        MultiStateInput = 13, MultiStateOutput = 14, MultiStateValue = 19, CharacterStringValue = 40, IntegerValue = 45, PositiveIntegerValue = 48;

    /// <summary>What a write to an object's present value takes: binary objects 0/1, multi-state and integer objects whole numbers, text objects a text.</summary>
    private static WriteKind WriteKindOf(int type) => type switch
    {
        BinaryOutput or BinaryValue => WriteKind.Bool,
        MultiStateOutput or MultiStateValue or IntegerValue or PositiveIntegerValue => WriteKind.Integer,
        CharacterStringValue => WriteKind.Text,
        _ => WriteKind.Number,
    };

    /// <summary>Why an object can never be written, or null.</summary>
    private static string? NotWritable(int type, int property, uint? index)
    {
        if (property != BacnetServices.PresentValue || index is not null)
            return "only present-value can be written: this object reads another property (or an element)";
        if (type is AnalogInput or BinaryInput or MultiStateInput)
            return "an input's present value follows its sensor: write an output or a value object (an analog-value setpoint, a binary-output command)";
        return null;
    }

    internal static bool TryParseIPv4(string text, out IPAddress address)
    {
        address = IPAddress.Any;
        text = text.Trim();
        if (text.Count(c => c == '.') != 3 || !IPAddress.TryParse(text, out var a) || a.AddressFamily != AddressFamily.InterNetwork) return false;
        address = a;
        return true;
    }

    /// <summary>"a.b.c.d" (port 47808) or "a.b.c.d:port", IPv4 only (BACnet/IP, Annex J).</summary>
    internal static bool TryParseEndPoint(string text, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.Any, BacnetOptions.DefaultPort);
        text = text.Trim();
        int port = BacnetOptions.DefaultPort;
        int colon = text.IndexOf(':');
        string host = text;
        if (colon >= 0)
        {
            host = text[..colon];
            if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return false;
        }
        if (!TryParseIPv4(host, out var ip)) return false;
        endPoint = new IPEndPoint(ip, port);
        return true;
    }

    /// <summary>A MAC in hex ("0a", "00:0a", "c0a8010a bac0") or a B/IP MAC written "a.b.c.d:port" (6 octets).</summary>
    internal static bool TryParseMac(string text, out byte[]? mac)
    {
        mac = null;
        text = text.Trim();
        if (text.Contains('.'))
        {
            if (!TryParseEndPoint(text, out var ep)) return false;
            mac = [.. ep.Address.GetAddressBytes(), (byte)(ep.Port >> 8), (byte)ep.Port];
            return true;
        }
        string hex = new(text.Where(c => c is not (':' or ' ' or '-')).ToArray());
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) hex = hex[2..];
        if (hex.Length == 0 || hex.Length % 2 != 0 || hex.Length > 16 || !hex.All(char.IsAsciiHexDigit)) return false;
        mac = Convert.FromHexString(hex);
        return true;
    }
}
