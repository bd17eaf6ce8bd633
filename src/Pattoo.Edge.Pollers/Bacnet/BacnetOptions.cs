using System.Globalization;
using System.Net;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Config;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Protocols.Bacnet;

namespace Pattoo.Edge.Pollers.Bacnet;

/// <summary>One <c>[[bacnet.devices.objects]]</c> entry, checked: a property of an object, stored under a key.</summary>
public sealed record BacnetObjectOptions
{
    public required string Key { get; init; }
    public required BacnetObjectId Object { get; init; }
    public int Property { get; init; } = BacnetServices.PresentValue;
    public uint? ArrayIndex { get; init; }
    /// <summary>Also store the object's Status_Flags as <c>&lt;key&gt;_status_flags</c>.</summary>
    public bool StatusFlags { get; init; }
    /// <summary>Subscribed with SubscribeCOV (the device's <c>cov</c>, or the object's own): its changes are pushed, and it is read every <see cref="BacnetDeviceOptions.CovSafetyInterval"/>.</summary>
    public bool Cov { get; init; }
    /// <summary>What a write may set (<c>writable = true</c>), or null: the object is only read.</summary>
    public WriteLimits? Write { get; init; }
    /// <summary>The priority writes command (and relinquish) present-value at: 8 unless configured.</summary>
    public int WritePriority { get; init; } = 8;

    public PropertyReference Reference => new(Object, Property, ArrayIndex);

    public string StatusFlagsKey => Key + "_status_flags";

    internal string Fingerprint()
        => string.Create(CultureInfo.InvariantCulture, $"{Key}|{Object}|{Property}|{ArrayIndex}|{StatusFlags}|{Cov}|{Write?.Describe()}|{WritePriority}");
}

/// <summary>One <c>[[bacnet.devices]]</c> entry, checked: a device polled on its own schedule.</summary>
public sealed record BacnetDeviceOptions
{
    public required string Name { get; init; }
    /// <summary>The Device object's instance; found by Who-Is when <see cref="Address"/> is null.</summary>
    public int? DeviceInstance { get; init; }
    /// <summary>The device's B/IP address (or its router's, with <see cref="Route"/>); null = located by Who-Is.</summary>
    public IPEndPoint? Address { get; init; }
    /// <summary>DNET/DADR of a device behind a BACnet router; local when not set.</summary>
    public BacnetRoute Route { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3);
    public int Retries { get; init; } = 2;
    /// <summary>Largest APDU the device takes; null = what its I-Am says, else 1476.</summary>
    public int? MaxApdu { get; init; }
    public bool ReadMultiple { get; init; } = true;
    public required IReadOnlyList<BacnetObjectOptions> Objects { get; init; }
    /// <summary>COV notifications confirmed (acknowledged, repeated by the device) instead of unconfirmed.</summary>
    public bool CovConfirmed { get; init; }
    /// <summary>The lifetime asked for each subscription; it is renewed at half of it.</summary>
    public TimeSpan CovLifetime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How often objects with COV are read anyway (a lost notification is corrected within it).</summary>
    public TimeSpan CovSafetyInterval { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>"127.0.0.1:47808", "192.0.2.1:47808 network 5 mac 0a", "device 1234 (Who-Is)".</summary>
    public string Endpoint
    {
        get
        {
            var sb = new StringBuilder();
            if (Address is not null) sb.Append(Address);
            else sb.Append(CultureInfo.InvariantCulture, $"device {DeviceInstance} (Who-Is)");
            if (!Route.IsLocal) sb.Append(' ').Append(Route);
            return sb.ToString();
        }
    }

    /// <summary>Every setting the device was built from: a change restarts its poller.</summary>
    public string Fingerprint(BacnetOptions section)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"bacnet|{section.LocalAddress}:{section.LocalPort}|{section.BroadcastAddress}|{section.MaxApduAccepted}|{Name}|{DeviceInstance}|{Address}|{Route}|{Duration.Format(Interval)}|{Duration.Format(Timeout)}|{Retries}|{MaxApdu}|{ReadMultiple}|{CovConfirmed}|{CovLifetime.Ticks}|{CovSafetyInterval.Ticks}");
        foreach (var o in Objects) sb.Append(';').Append(o.Fingerprint());
        return sb.ToString();
    }
}

/// <summary>
/// The <c>[bacnet]</c> section: BACnet/IP devices read with ReadPropertyMultiple (or
/// ReadProperty) through one UDP socket on <see cref="LocalPort"/>. Everything is checked
/// when the file is read, so a device never fails mid-poll for a reason the file could have shown.
/// </summary>
public sealed record BacnetOptions : IPollerOptions
{
    public const string ProgramName = "bacnet";
    public const int DefaultPort = 47808;

    /// <summary>The UDP port this box binds (shared by every device).</summary>
    public int LocalPort { get; init; } = DefaultPort;
    /// <summary>The local address bound; 0.0.0.0 = every interface (needed to hear broadcast I-Ams).</summary>
    public IPAddress LocalAddress { get; init; } = IPAddress.Any;
    /// <summary>Where Who-Is goes when a device has no address.</summary>
    public IPEndPoint BroadcastAddress { get; init; } = new(IPAddress.Broadcast, DefaultPort);
    /// <summary>The max-APDU-length-accepted this client states (50, 128, 206, 480, 1024 or 1476).</summary>
    public int MaxApduAccepted { get; init; } = Apdu.MaxApduLength;
    /// <summary>Segments of a segmented answer this client takes (and states in its requests).</summary>
    public int MaxSegmentsAccepted { get; init; } = 16;
    public IReadOnlyList<BacnetDeviceOptions> Devices { get; init; } = [];

    /// <summary>Poll targets <see cref="CreateTargets(PollerContext)"/> makes: one per device.</summary>
    public int TargetCount => Devices.Count;

    /// <summary>Devices with an address; those found by Who-Is have none to probe.</summary>
    public IEnumerable<PollEndpoint> Endpoints()
        => Devices.Where(d => d.Address is not null).Select(d => new PollEndpoint($"bacnet {d.Name}", PollTransport.Udp, d.Address!.Address.ToString(), d.Address.Port));

    public string Program => ProgramName;

    /// <summary>Binds the whole [bacnet] table; an absent table binds to no devices. Errors go to the section's error list.</summary>
    public static BacnetOptions Bind(ConfigSection bacnetSection) => BacnetOptionsBinder.Bind(bacnetSection);

    /// <summary>One poll target per device; all share one UDP socket on <see cref="LocalPort"/>, opened on first use and closed with the last target.</summary>
    public IReadOnlyList<IPollTarget> CreateTargets(PollerContext context)
        => CreateTargets(context.ApplianceName, BacnetTransportRegistry.Shared, context.PushSamples);

    internal IReadOnlyList<IPollTarget> CreateTargets(string applianceName, BacnetTransportRegistry registry, Func<SampleBatch, Task>? pushSamples = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(applianceName);
        var targets = new List<IPollTarget>(Devices.Count);
        foreach (var device in Devices)
            targets.Add(new BacnetPoller(AgentIdentity.ForPoller(applianceName, ProgramName, device.Name), this, device, registry.Acquire(this), pushSamples));
        return targets;
    }

    public IEnumerable<string> Warnings()
    {
        foreach (var d in Devices)
        {
            if (PollerModules.BudgetWarning("bacnet.devices", d.Name, d.Interval, d.Timeout, d.Retries) is { } budget) yield return budget;
            foreach (var o in d.Objects)
            {
                if (o.Write is not null && o.WritePriority < 8)
                    yield return $"bacnet.devices \"{d.Name}\" object \"{o.Key}\": write_priority {o.WritePriority} is above the default 8 (manual operator); priorities 1-7 are for life safety and critical equipment, and override every controller below them";
            }
        }
    }

    /// <summary>Each device's reads, for <c>config check --verbose</c> and the test cases.</summary>
    public string DescribePlan()
    {
        var sb = new StringBuilder();
        foreach (var d in Devices)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"bacnet device \"{d.Name}\": {d.Endpoint}{(d.DeviceInstance is int i && d.Address is not null ? $" instance {i}" : "")}, every {Duration.Format(d.Interval)}, timeout {Duration.Format(d.Timeout)} x {1 + d.Retries}, {(d.ReadMultiple ? "read-property-multiple" : "read-property")}\n");
            foreach (var o in d.Objects)
                sb.Append(CultureInfo.InvariantCulture, $"  {o.Key}: {o.Reference}{(o.StatusFlags ? $" + status-flags as {o.StatusFlagsKey}" : "")}{(o.Cov ? $" (COV, {(d.CovConfirmed ? "confirmed" : "unconfirmed")}, lifetime {Duration.Format(d.CovLifetime)}, read every {Duration.Format(d.CovSafetyInterval)})" : "")}\n");
        }
        return sb.ToString();
    }
}
