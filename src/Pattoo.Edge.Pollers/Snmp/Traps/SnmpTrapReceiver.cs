using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers.Shared;

namespace Pattoo.Edge.Pollers.Snmp.Traps;

/// <summary>What the trap receiver counts besides its drops (<see cref="TrapDrop"/>); the API lists both as counters of "snmp traps".</summary>
public enum TrapCounter
{
    Received,
    Stored,
    InformsAnswered,
    ReportsSent,
    RateLimited,
}

/// <summary>
/// The [snmp.traps] receiver: one UDP socket, one loop. Each datagram is rate limited by its
/// source address, checked by <see cref="TrapProcessor"/>, answered when it is an inform (or a
/// discovery), and stored as an event (program "snmp", the polled target with that address or
/// else the address, kind "trap" or "inform"); with store_values its numeric varbinds also
/// become samples. Whatever is dropped is counted by reason and logged at most once a minute
/// per reason and source.
/// </summary>
public sealed class SnmpTrapReceiver : IListener
{
    private readonly SnmpTrapOptions _options;
    private readonly ListenerContext _context;
    private readonly TrapProcessor _processor;
    private readonly TrapNames _names;
    private readonly IReadOnlyDictionary<IPAddress, string> _targetsByAddress;
    private readonly Counters<TrapCounter> _counters = new();
    private readonly Counters<TrapDrop> _drops = new();
    private readonly Dictionary<IPAddress, (long Second, int Count)> _rates = new();
    /// <summary>A drop is logged once a minute per reason and source.</summary>
    private readonly KeyedRateGate<(TrapDrop, IPAddress)> _dropLog = new(TimeSpan.FromMinutes(1), 1_000);
    private Socket? _socket;
    private CancellationTokenSource? _stop;
    private Task? _loop;

    public SnmpTrapReceiver(SnmpTrapOptions options, ListenerContext context, LocalEngine engine, SnmpOptions snmp)
    {
        _options = options;
        _context = context;
        _processor = new TrapProcessor(options, engine);
        _names = new TrapNames(snmp.Groups.Values);
        var byAddress = new Dictionary<IPAddress, string>();
        foreach (var t in snmp.Targets)
            if (IPAddress.TryParse(t.Host, out var a)) byAddress.TryAdd(Normal(a), t.Name);
        _targetsByAddress = byAddress;
        Fingerprint = options.Fingerprint() + "|" + string.Join(',', byAddress.Select(kv => kv.Key + "=" + kv.Value));
        EngineId = engine.Id;
    }

    public string Name => "snmp traps";
    public string Listen => _options.Listen.ToString();
    public string Fingerprint { get; }
    public byte[] EngineId { get; }
    public IReadOnlyList<KeyValuePair<string, long>> Counters
    {
        get
        {
            var list = new List<KeyValuePair<string, long>>();
            _counters.AppendTo(list);
            _drops.AppendTo(list);
            list.RemoveAll(c => c.Key == "none"); // TrapDrop.None: taken, counted as stored
            return list;
        }
    }

    public long this[TrapCounter c] => _counters[c];
    public long this[TrapDrop d] => _drops[d];

    /// <summary>Binds the socket (an error names the address and, for ports under 1024, the capability needed) and starts the loop.</summary>
    /// <exception cref="SocketException">the address cannot be bound.</exception>
    public void Start()
    {
        var socket = new Socket(_options.Listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (_options.Listen.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(_options.Listen);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string hint = e.SocketErrorCode == SocketError.AccessDenied && _options.Listen.Port < 1024
                ? " (a port under 1024 needs root or CAP_NET_BIND_SERVICE: the systemd unit grants it; or listen on a port above 1023)"
                : e.SocketErrorCode == SocketError.AddressAlreadyInUse ? " (another program, such as snmptrapd, already listens there)" : "";
            throw new SocketException((int)e.SocketErrorCode, $"snmp.traps.listen {_options.Listen}: {e.Message}{hint}");
        }
        _socket = socket;
        _stop = new CancellationTokenSource();
        _loop = Task.Run(() => ReceiveLoop(socket, _stop.Token));
        Log.Info($"snmp traps: listening on {socket.LocalEndPoint} (engine id 0x{Convert.ToHexString(EngineId).ToLowerInvariant()}, {_options.Communities.Count} communit{(_options.Communities.Count == 1 ? "y" : "ies")}, {_options.Users.Count} SNMPv3 user{(_options.Users.Count == 1 ? "" : "s")})");
    }

    private async Task ReceiveLoop(Socket socket, CancellationToken stop)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            // Closed under a pending receive: the socket is disposed before the cancellation is seen.
            catch (SocketException) when (stop.IsCancellationRequested) { break; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize) { continue; }
            var from = (IPEndPoint)r.RemoteEndPoint;
            try
            {
                await HandleAsync(socket, buffer.AsMemory(0, r.ReceivedBytes), from).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad datagram must never stop the receiver.
                Log.Warning($"snmp traps: a datagram from {from} could not be handled: {e.Message}");
            }
        }
    }

    private async Task HandleAsync(Socket socket, Memory<byte> datagram, IPEndPoint from)
    {
        _counters.Increment(TrapCounter.Received);
        var source = Normal(from.Address);
        if (!TakeRate(source))
        {
            _counters.Increment(TrapCounter.RateLimited);
            LogDrop(TrapDrop.None, source, $"more than {_options.MaxPerSecond} notifications a second (snmp.traps.max_per_second); the rest of this second's are dropped");
            return;
        }
        var result = _processor.Process(datagram.Span);
        if (result.Reply is { } reply)
        {
            try
            {
                await socket.SendToAsync(reply, SocketFlags.None, from).ConfigureAwait(false);
                _counters.Increment(result.Notification is null ? TrapCounter.ReportsSent : TrapCounter.InformsAnswered);
            }
            catch (SocketException e)
            {
                Log.Warning($"snmp traps: cannot answer {from}: {e.Message}");
            }
        }
        if (result.Notification is not { } n)
        {
            _drops.Increment(result.Drop);
            // A discovery is the normal start of an inform exchange: counted, not logged.
            if (!(result.Drop == TrapDrop.UnknownEngineId && result.Reply is not null)) LogDrop(result.Drop, source, result.Why);
            return;
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string target = _targetsByAddress.TryGetValue(source, out var t) ? t : source.ToString();
        string trapName = _names.Name(n.TrapOid);
        var details = new List<KeyValuePair<string, string>>
        {
            new("trap", trapName),
            new("trapOid", n.TrapOid),
            new("source", from.ToString()),
            new("security", result.Security),
            new("uptime", (n.UptimeTicks / 100.0).ToString("0.##", CultureInfo.InvariantCulture) + " s"),
        };
        if (n.Enterprise is { } enterprise) details.Add(new("enterprise", enterprise));
        if (n.AgentAddress is { } agent) details.Add(new("agentAddress", agent));
        var text = new StringBuilder(trapName).Append(" from ").Append(target);
        // linkDown/linkUp name the interface when the poller has stored its name; else the varbinds say its ifIndex.
        bool named = false;
        if (TrapNames.InterfaceIndex(n) is { } ifIndex && _context.InterfaceName?.Invoke(target, ifIndex) is { } ifName)
        {
            text.Append(": interface ").Append(ifName);
            details.Add(new("interface", ifName));
            named = true;
        }
        var batch = _options.StoreValues ? new SampleBatch(n.Varbinds.Count) : null;
        var agentIdentity = AgentIdentity.ForPoller(_context.ApplianceName, SnmpPoller.ProgramName, target);
        int shown = 0;
        foreach (var v in n.Varbinds)
        {
            string name = _names.Name(v.Oid);
            string value = TrapNames.Value(name, v);
            details.Add(new(name, value));
            if (shown++ < 4) text.Append(shown == 1 && !named ? ": " : ", ").Append(name).Append(" = ").Append(value);
            if (batch is not null && v.Number is { } number)
                batch.Add(new SeriesKey(agentIdentity, TrapNames.SampleKey(name), DataType.Float, TimeSpan.FromMinutes(5), [new("trap", trapName)]), now, number);
        }
        if (n.Varbinds.Count > 4) text.Append(CultureInfo.InvariantCulture, $" and {n.Varbinds.Count - 4} more");
        _context.Events.Publish(new EdgeEvent(now, SnmpPoller.ProgramName, target, n.IsInform ? "inform" : "trap",
            TrapNames.Severity(n.TrapOid), text.ToString(), details));
        _counters.Increment(TrapCounter.Stored);
        if (batch is { Count: > 0 } && _context.StoreSamples is { } store)
        {
            try { await store(batch).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException) { Log.Warning($"snmp traps: the values of a {trapName} from {target} were not stored: {e.Message}"); }
        }
    }

    private bool TakeRate(IPAddress source)
    {
        long second = Environment.TickCount64 / 1000;
        _rates.TryGetValue(source, out var rate);
        if (rate.Second != second) rate = (second, 0);
        if (rate.Count >= _options.MaxPerSecond) return false;
        if (_rates.Count > 10_000 && !_rates.ContainsKey(source)) _rates.Clear(); // a sweep of spoofed sources must not grow this without end
        _rates[source] = (second, rate.Count + 1);
        return true;
    }

    private void LogDrop(TrapDrop drop, IPAddress source, string why)
    {
        if (!_dropLog.TryPass((drop, source), Environment.TickCount64, out _)) return;
        Log.Warning($"snmp traps: dropped a datagram from {source}: {why}");
    }

    private static IPAddress Normal(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    public async ValueTask DisposeAsync()
    {
        if (_stop is null) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _stop = null;
    }
}
