using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.Snmp;
using Pattoo.Edge.Pollers.Snmp.Traps;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>
/// The trap receiver against Debian net-snmp's own senders, snmptrap and snmpinform, on
/// 127.0.0.1: v1 and v2c traps, v2c informs, v3 traps and informs (authNoPriv, authPriv),
/// and the wrong community, user and keys, each counted and dropped, never stored.
/// </summary>
public sealed class SnmpTrapReceiverTests : IAsyncLifetime
{
    private const string TrapEngine = "0x8000000001020304";
    private static readonly string Config = $$"""
        [snmp.traps]
        listen = "127.0.0.1:{PORT}"
        communities = ["traps-public"]
        store_values = true

        [[snmp.traps.users]]
        user = "authonly"
        auth_protocol = "SHA256"
        auth_password = "authonly-pass"

        [[snmp.traps.users]]
        user = "secret"
        auth_protocol = "SHA512"
        auth_password = "secret-auth-pass"
        priv_protocol = "AES"
        priv_password = "secret-priv-pass"

        [[snmp.traps.users]]
        user = "pinned"
        auth_protocol = "SHA"
        auth_password = "pinned-auth-pass"
        engine_ids = ["{{TrapEngine}}"]

        [[snmp.targets]]
        name = "core-switch"
        address = "127.0.0.1"
        groups = ["if-mib"]
        """;

    private readonly string _state = Directory.CreateTempSubdirectory("pattoo-traps-").FullName;
    private readonly CapturingSink _events = new();
    private readonly List<SampleBatch> _samples = [];
    private SnmpTrapReceiver _receiver = null!;
    private int _port;

    private sealed class CapturingSink : IEventSink
    {
        public List<EdgeEvent> Events { get; } = [];
        public void Publish(EdgeEvent e) { lock (Events) Events.Add(e); }
    }

    public Task InitializeAsync()
    {
        _port = SnmpdFixture.FreeUdpPort();
        var options = SnmpTestSupport.Bind(Config.Replace("{PORT}", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var context = new ListenerContext("edge-test", _state, _events, b => { lock (_samples) _samples.Add(b); return Task.CompletedTask; },
            (target, ifIndex) => target == "core-switch" && ifIndex == "2" ? "eth1" : null);
        _receiver = (SnmpTrapReceiver)Assert.Single(options.CreateListeners(context));
        _receiver.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public async Task AV2cLinkDownBecomesAnEventNamingTheInterfaceAndItsValuesBecomeSamples()
    {
        await Send("snmptrap", "-v", "2c", "-c", "traps-public", Address, "", "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.7.2", "i", "1", "1.3.6.1.2.1.2.2.1.8.2", "i", "2");
        var e = await Single();
        Assert.Equal(("snmp", "core-switch", "trap", EventSeverity.Warning), (e.Program, e.Target, e.Kind, e.Severity));
        Assert.Equal("linkDown from core-switch: interface eth1, ifIndex.2 = 2, ifAdminStatus.2 = up(1), ifOperStatus.2 = down(2)", e.Text);
        Assert.Contains(new("interface", "eth1"), e.Details);
        Assert.Contains(new("security", "v2c community traps-public"), e.Details);
        SampleBatch batch;
        lock (_samples) batch = Assert.Single(_samples);
        Assert.Equal(3, batch.Count);
        Assert.Equal(1, _receiver[TrapCounter.Stored]);
    }

    [Fact]
    public async Task AV1TrapIsReadInSnmpV2Form()
    {
        await Send("snmptrap", "-v", "1", "-c", "traps-public", Address, "1.3.6.1.4.1.8072.2.3", "192.0.2.7", "6", "17", "", "1.3.6.1.2.1.1.5.0", "s", "plant room");
        var e = await Single();
        Assert.Equal("1.3.6.1.4.1.8072.2.3.0.17 from core-switch: sysName.0 = plant room", e.Text);
        Assert.Contains(new("agentAddress", "192.0.2.7"), e.Details);
        Assert.Contains(new("enterprise", "1.3.6.1.4.1.8072.2.3"), e.Details);
        Assert.Contains(new("security", "v1 community traps-public"), e.Details);
    }

    [Fact]
    public async Task AV2cInformIsAnswered()
    {
        // snmpinform exits 0 only once the box's response arrived.
        await Send("snmpinform", "-v", "2c", "-c", "traps-public", "-t", "2", "-r", "1", Address, "", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.8.2", "i", "1");
        var e = await Single();
        Assert.Equal(("inform", EventSeverity.Info), (e.Kind, e.Severity));
        Assert.StartsWith("linkUp from core-switch: interface eth1", e.Text, StringComparison.Ordinal);
        Assert.Equal(1, _receiver[TrapCounter.InformsAnswered]);
    }

    [Theory]
    [InlineData("authonly", "authNoPriv", "SHA-256", "authonly-pass", null, null)]
    [InlineData("secret", "authPriv", "SHA-512", "secret-auth-pass", "AES", "secret-priv-pass")]
    public async Task V3TrapsAndInformsAreTakenForTheConfiguredUsers(string user, string level, string auth, string authPass, string? priv, string? privPass)
    {
        var security = new List<string> { "-v", "3", "-u", user, "-l", level, "-a", auth, "-A", authPass };
        if (priv is not null) security.AddRange(["-x", priv, "-X", privPass!]);
        // A trap: the sender is the authoritative engine (its id given with -e).
        await Send("snmptrap", [.. security, "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.2.1.1.5.0", "s", "ups-1"]);
        var trap = await Single();
        Assert.Equal("coldStart from core-switch: sysName.0 = ups-1", trap.Text);
        Assert.Contains(new("security", $"v3 user {user} {level}"), trap.Details);
        // An inform: this box is the authoritative engine; snmpinform discovers it, then gets the answer.
        await Send("snmpinform", [.. security, "-t", "2", "-r", "1", Address, "", "1.3.6.1.6.3.1.1.5.2"]);
        var inform = await Next(2);
        Assert.Equal(("inform", "warmStart from core-switch"), (inform.Kind, inform.Text));
        Assert.Equal(1, _receiver[TrapCounter.InformsAnswered]);
        Assert.True(_receiver[TrapCounter.ReportsSent] >= 1, "the discovery was answered with a report");
    }

    [Fact]
    public async Task WrongCommunitiesUsersKeysAndEnginesAreCountedAndDropped()
    {
        await Send("snmptrap", "-v", "2c", "-c", "guess", Address, "", "1.3.6.1.6.3.1.1.5.1");
        await Send("snmptrap", "-v", "3", "-u", "mallory", "-l", "authNoPriv", "-a", "SHA-256", "-A", "authonly-pass", "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1");
        await Send("snmptrap", "-v", "3", "-u", "authonly", "-l", "authNoPriv", "-a", "SHA-256", "-A", "not-the-password", "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1");
        await Send("snmptrap", "-v", "3", "-u", "secret", "-l", "authPriv", "-a", "SHA-512", "-A", "secret-auth-pass", "-x", "AES", "-X", "wrong-priv-pass", "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1");
        await Send("snmptrap", "-v", "3", "-u", "secret", "-l", "authNoPriv", "-a", "SHA-512", "-A", "secret-auth-pass", "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1");
        await Send("snmptrap", "-v", "3", "-u", "pinned", "-l", "authNoPriv", "-a", "SHA", "-A", "pinned-auth-pass", "-e", "0x8000000001099999", Address, "", "1.3.6.1.6.3.1.1.5.1");
        // The informs of a wrong password never get an answer: snmpinform fails.
        await Send("snmpinform", ["-v", "3", "-u", "authonly", "-l", "authNoPriv", "-a", "SHA-256", "-A", "not-the-password", "-t", "1", "-r", "0", Address, "", "1.3.6.1.6.3.1.1.5.2"], expectSuccess: false);
        await WaitFor(() => _receiver[TrapDrop.BadCommunity] == 1 && _receiver[TrapDrop.UnknownUser] == 1 && _receiver[TrapDrop.WrongDigest] >= 2
            && _receiver[TrapDrop.DecryptionError] == 1 && _receiver[TrapDrop.WrongSecurityLevel] == 1 && _receiver[TrapDrop.EngineNotAllowed] == 1);
        // The pinned user's own engine is taken.
        await Send("snmptrap", "-v", "3", "-u", "pinned", "-l", "authNoPriv", "-a", "SHA", "-A", "pinned-auth-pass", "-e", TrapEngine, Address, "", "1.3.6.1.6.3.1.1.5.1");
        var e = await Single();
        Assert.Contains(new("security", "v3 user pinned authNoPriv"), e.Details);
        Assert.Equal(1, _receiver[TrapCounter.Stored]);
    }

    [Fact]
    public async Task ASourceAboveItsRateIsCountedAndDropped()
    {
        await _receiver.DisposeAsync();
        var options = SnmpTestSupport.Bind(Config.Replace("{PORT}", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("store_values = true", "max_per_second = 2", StringComparison.Ordinal));
        _receiver = (SnmpTrapReceiver)Assert.Single(options.CreateListeners(new ListenerContext("edge-test", _state, _events)));
        _receiver.Start();
        var datagram = await Capture("-v", "2c", "-c", "traps-public", "127.0.0.1:{PORT}", "", "1.3.6.1.6.3.1.1.5.1");
        using var client = new UdpClient(AddressFamily.InterNetwork);
        for (int i = 0; i < 10; i++) await client.SendAsync(datagram, new IPEndPoint(IPAddress.Loopback, _port));
        await WaitFor(() => _receiver[TrapCounter.Received] == 10);
        Assert.InRange(_receiver[TrapCounter.Stored], 2, 4); // 2 a second; the ten may straddle a second or two
        Assert.Equal(10 - _receiver[TrapCounter.Stored], _receiver[TrapCounter.RateLimited]);
    }

    [Fact]
    public async Task TheEngineIdAndABootCountAreKeptInTheStateDirectory()
    {
        var first = File.ReadAllText(Path.Combine(_state, LocalEngine.FileName));
        var again = LocalEngine.Start(_state, null);
        Assert.Equal(_receiver.EngineId, again.Id);
        Assert.Equal(2, again.Boots);
        Assert.Contains("boots 1", first, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    private string Address => $"127.0.0.1:{_port}";

    private async Task<EdgeEvent> Single()
    {
        await WaitFor(() => { lock (_events.Events) return _events.Events.Count >= 1; });
        await Task.Delay(100);
        lock (_events.Events) return Assert.Single(_events.Events);
    }

    private async Task<EdgeEvent> Next(int count)
    {
        await WaitFor(() => { lock (_events.Events) return _events.Events.Count >= count; });
        lock (_events.Events) return _events.Events[count - 1];
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("timed out waiting for the receiver");
            await Task.Delay(20);
        }
    }

    /// <summary>Runs a net-snmp sender with no MIBs and a persistent directory of its own.</summary>
    internal static Task Send(string tool, params string[] args) => Send(tool, args, expectSuccess: true);

    internal static async Task Send(string tool, string[] args, bool expectSuccess)
    {
        var psi = new ProcessStartInfo("/usr/bin/" + tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var persist = Directory.CreateTempSubdirectory("pattoo-netsnmp-").FullName;
        psi.Environment["SNMP_PERSISTENT_DIR"] = persist;
        psi.Environment["MIBS"] = "";
        psi.Environment["MIBDIRS"] = Path.Combine(persist, "no-mibs");
        try
        {
            using var p = Process.Start(psi) ?? throw new InvalidOperationException(tool + " did not start");
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            if (expectSuccess) Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} exited {p.ExitCode}: {await stderr}");
            else Assert.NotEqual(0, p.ExitCode);
        }
        finally
        {
            Directory.Delete(persist, recursive: true);
        }
    }

    /// <summary>What snmptrap sends, caught on a socket of its own ({PORT} in the arguments is that socket's port).</summary>
    internal static async Task<byte[]> Capture(params string[] args)
    {
        using var socket = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)socket.Client.LocalEndPoint!).Port;
        var receive = socket.ReceiveAsync();
        await Send("snmptrap", [.. args.Select(a => a.Replace("{PORT}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))]);
        return (await receive.WaitAsync(TimeSpan.FromSeconds(10))).Buffer;
    }
}

/// <summary>
/// The trap processor on mutated datagrams (seeded): notifications net-snmp sent (v1, v2c,
/// inform, v3 authNoPriv and authPriv) flipped, cut and padded. Every one is taken or dropped
/// with a reason; nothing throws.
/// </summary>
public sealed class SnmpTrapFuzzTests
{
    [Fact]
    public async Task MutatedNotificationsAreTakenOrDroppedNeverThrown()
    {
        const string engine = "0x8000000001020304";
        var seeds = new List<byte[]>
        {
            await SnmpTrapReceiverTests.Capture("-v", "1", "-c", "public", "127.0.0.1:{PORT}", "1.3.6.1.4.1.8072.2.3", "192.0.2.7", "6", "17", "", "1.3.6.1.2.1.1.5.0", "s", "plant room"),
            await SnmpTrapReceiverTests.Capture("-v", "2c", "-c", "public", "127.0.0.1:{PORT}", "", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "eth1", "1.3.6.1.2.1.4.20.1.1.10.0.0.1", "a", "10.0.0.1"),
            await SnmpTrapReceiverTests.Capture("-v", "3", "-u", "fuzz", "-l", "authNoPriv", "-a", "SHA-256", "-A", "fuzz-auth-pass", "-e", engine, "127.0.0.1:{PORT}", "", "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.2.1.1.3.0", "t", "12345"),
            await SnmpTrapReceiverTests.Capture("-v", "3", "-u", "fuzz", "-l", "authPriv", "-a", "SHA-256", "-A", "fuzz-auth-pass", "-x", "AES", "-X", "fuzz-priv-pass", "-e", engine, "127.0.0.1:{PORT}", "", "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.4.1.8072.9999.1", "x", "0102ff"),
        };
        var options = SnmpTrapOptions.Bind(ConfigFor("""
            communities = ["public"]
            [[users]]
            user = "fuzz"
            auth_protocol = "SHA256"
            auth_password = "fuzz-auth-pass"
            """));
        var authPrivOptions = SnmpTrapOptions.Bind(ConfigFor("""
            [[users]]
            user = "fuzz"
            auth_protocol = "SHA256"
            auth_password = "fuzz-auth-pass"
            priv_protocol = "AES"
            priv_password = "fuzz-priv-pass"
            """));
        var engineOfBox = new LocalEngine(Convert.FromHexString("80001F8880AABBCCDDEEFF0011"), 1);
        var processors = new[] { new TrapProcessor(options, engineOfBox), new TrapProcessor(authPrivOptions, engineOfBox) };
        // The seeds themselves are taken by the processor whose user matches.
        Assert.NotNull(processors[0].Process((byte[])seeds[0].Clone()).Notification);
        Assert.NotNull(processors[0].Process((byte[])seeds[2].Clone()).Notification);
        Assert.NotNull(processors[1].Process((byte[])seeds[3].Clone()).Notification);
        var random = new Random(20261207);
        int taken = 0, dropped = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var d = DatagramMutator.Mutate(random, seeds[random.Next(seeds.Count)]);
            var result = processors[i & 1].Process(d);
            if (result.Notification is not null) taken++;
            else
            {
                Assert.NotEqual(TrapDrop.None, result.Drop);
                Assert.False(string.IsNullOrEmpty(result.Why));
                dropped++;
            }
        }
        Assert.True(dropped > 10_000, $"{dropped} dropped, {taken} taken");
    }

    private static global::Pattoo.Edge.Config.ConfigSection ConfigFor(string toml)
    {
        var errors = new global::Pattoo.Edge.Config.ConfigErrors();
        var tree = global::Pattoo.Edge.Config.TomlTree.Parse(toml, "traps.toml", errors);
        Assert.Empty(errors);
        return new global::Pattoo.Edge.Config.ConfigSection("traps.toml", "snmp.traps", tree, errors);
    }
}
