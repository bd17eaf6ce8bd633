using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pattoo.Edge.Common;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Pollers.Snmp;

/// <summary>A response PDU as accepted: its header and the buffer its varbinds lie in (valid until the next request).</summary>
internal readonly record struct SnmpResponse(byte[] Buffer, PduHeader Header);

/// <summary>
/// Talks to one agent: builds requests for its version and security, sends them over the
/// shared transport, waits with retries and backoff, and checks what comes back. For SNMPv3
/// it discovers the engine (RFC 3414 sec 4), keeps its boots/time, localises the keys,
/// signs, encrypts, verifies and decrypts, and turns Report PDUs into clear errors.
/// One request at a time; not thread-safe.
/// </summary>
internal sealed class SnmpSession : ISnmpResponseSink, IDisposable
{
    /// <summary>Each retransmission waits this much longer than the try before.</summary>
    private const double RetransmitFactor = 1.5;

    // usmStats (RFC 3414 sec 5) and the other report counters, as content octets.
    private static readonly byte[] UsmStatsPrefix = Oid.Parse("1.3.6.1.6.3.15.1.1");
    private static readonly byte[] UnsupportedSecLevels = Oid.Parse("1.3.6.1.6.3.15.1.1.1.0");
    private static readonly byte[] NotInTimeWindows = Oid.Parse("1.3.6.1.6.3.15.1.1.2.0");
    private static readonly byte[] UnknownUserNames = Oid.Parse("1.3.6.1.6.3.15.1.1.3.0");
    private static readonly byte[] UnknownEngineIds = Oid.Parse("1.3.6.1.6.3.15.1.1.4.0");
    private static readonly byte[] WrongDigests = Oid.Parse("1.3.6.1.6.3.15.1.1.5.0");
    private static readonly byte[] DecryptionErrors = Oid.Parse("1.3.6.1.6.3.15.1.1.6.0");
    private static readonly byte[] UnknownContexts = Oid.Parse("1.3.6.1.6.3.12.1.5.0");
    private static readonly byte[] UnavailableContexts = Oid.Parse("1.3.6.1.6.3.12.1.4.0");

    private readonly SnmpTargetOptions _o;
    private readonly SnmpTransport _transport;
    private readonly SnmpEncoder _encoder = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _send = new byte[SnmpEncoder.MaxMessageSize];
    private readonly byte[] _recv = new byte[65536];
    private readonly byte[] _plain = new byte[65536 + 16];
    private readonly byte[] _scoped = new byte[SnmpEncoder.MaxMessageSize];
    private readonly byte[] _cipher = new byte[SnmpEncoder.MaxMessageSize + 16];
    private readonly byte[] _community;
    private readonly byte[] _user;
    private readonly byte[] _context;
    private readonly object _acceptGate = new();

    private SocketAddress? _remote;
    private string _remoteText;

    // The request being waited for.
    private TaskCompletionSource<bool>? _waiting;
    private int _waitId;
    private int _waitRequestId;
    private bool _discovering;
    private SnmpResponse _response;
    private bool _responseIsReport;
    private byte[] _reportOid = [];

    // SNMPv3 engine state (RFC 3414 sec 2.3).
    private byte[] _engineId = [];
    private int _engineBoots;
    private int _engineTime;
    private long _timeSyncedAt;
    private readonly byte[]? _authKu;
    private readonly byte[]? _privKu;
    private byte[]? _authKey;
    private UsmPrivacy? _privacy;
    private ulong _salt = (ulong)Random.Shared.NextInt64();

    public SnmpSession(SnmpTargetOptions options, SnmpTransport transport)
    {
        _o = options;
        _transport = transport;
        _community = Encoding.UTF8.GetBytes(options.Community);
        _user = Encoding.UTF8.GetBytes(options.User);
        _context = Encoding.UTF8.GetBytes(options.Context);
        _remoteText = options.Host.Contains(':') ? $"[{options.Host}]:{options.Port}" : $"{options.Host}:{options.Port}";
        if (options.Version == SnmpVersion.V3 && options.SecurityLevel >= SnmpSecurityLevel.AuthNoPriv)
        {
            // Password to key costs a megabyte of hashing: once per target, not per poll.
            _authKu = UsmCrypto.PasswordToKey(options.AuthProtocol, options.AuthPassword);
            if (options.SecurityLevel == SnmpSecurityLevel.AuthPriv) _privKu = UsmCrypto.PasswordToKey(options.AuthProtocol, options.PrivPassword);
        }
    }

    public SnmpVersion Version => _o.Version;

    /// <summary>The agent as "host:port", for messages.</summary>
    public string Remote => _remoteText;

    /// <summary>Sends one request and returns the agent's Response PDU.</summary>
    /// <exception cref="SnmpTimeoutException">no answer after every retry.</exception>
    /// <exception cref="SnmpReportException">an SNMPv3 agent refused the request.</exception>
    public Task<SnmpResponse> RequestAsync(PduType type, ReadOnlyMemory<byte>[] oids, int count, int nonRepeaters, int maxRepetitions, CancellationToken cancellationToken)
        => GatedAsync(type, oids, count, nonRepeaters, maxRepetitions, default, cancellationToken);

    /// <summary>
    /// Sends a SetRequest carrying <paramref name="varbindList"/> (<see cref="SnmpEncoder.EncodeSetVarbindList"/>)
    /// and returns the agent's response; its error-status says whether the agent took it.
    /// </summary>
    /// <exception cref="SnmpTimeoutException">no answer after every retry.</exception>
    /// <exception cref="SnmpReportException">an SNMPv3 agent refused the request.</exception>
    public Task<SnmpResponse> SetAsync(ReadOnlyMemory<byte> varbindList, CancellationToken cancellationToken)
        => GatedAsync(PduType.SetRequest, [], 0, 0, 0, varbindList, cancellationToken);

    /// <summary>One request at a time: a write from the API waits for the poll in flight (the session keeps one pending request).</summary>
    private async Task<SnmpResponse> GatedAsync(PduType type, ReadOnlyMemory<byte>[] oids, int count, int nonRepeaters, int maxRepetitions,
        ReadOnlyMemory<byte> varbindList, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SendAsync(type, oids, count, nonRepeaters, maxRepetitions, varbindList, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SnmpResponse> SendAsync(PduType type, ReadOnlyMemory<byte>[] oids, int count, int nonRepeaters, int maxRepetitions,
        ReadOnlyMemory<byte> varbindList, CancellationToken cancellationToken)
    {
        await EnsureRemoteAsync(cancellationToken).ConfigureAwait(false);
        if (_o.Version != SnmpVersion.V3)
            return await ExchangeAsync(type, oids, count, nonRepeaters, maxRepetitions, varbindList, cancellationToken).ConfigureAwait(false);

        bool resynced = false, rediscovered = false;
        while (true)
        {
            if (_engineId.Length == 0) await DiscoverAsync(cancellationToken).ConfigureAwait(false);
            var r = await ExchangeAsync(type, oids, count, nonRepeaters, maxRepetitions, varbindList, cancellationToken).ConfigureAwait(false);
            if (!_responseIsReport) return r;
            if (_reportOid.AsSpan().SequenceEqual(NotInTimeWindows) && !resynced)
            {
                resynced = true; // the report carried the engine's boots and time: try again once
                continue;
            }
            if (_reportOid.AsSpan().SequenceEqual(UnknownEngineIds) && !rediscovered)
            {
                rediscovered = true; // the agent's engine changed (reinstalled, new engine id)
                _engineId = [];
                continue;
            }
            throw ReportError(_reportOid);
        }
    }

    private async Task EnsureRemoteAsync(CancellationToken cancellationToken)
    {
        if (_remote is not null) return;
        IPAddress? address;
        if (!IPAddress.TryParse(_o.Host, out address))
        {
            IPAddress[] found;
            try { found = await Dns.GetHostAddressesAsync(_o.Host, cancellationToken).ConfigureAwait(false); }
            catch (SocketException e) { throw new SnmpAgentException($"cannot resolve \"{_o.Host}\": {e.Message}"); }
            address = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.FirstOrDefault()
                ?? throw new SnmpAgentException($"\"{_o.Host}\" resolves to no address");
        }
        _remote = _transport.AddressOf(new IPEndPoint(address, _o.Port));
    }

    /// <summary>RFC 3414 sec 4: an unauthenticated, empty request whose Report names the engine.</summary>
    private async Task DiscoverAsync(CancellationToken cancellationToken)
    {
        _discovering = true;
        try
        {
            await ExchangeAsync(PduType.GetRequest, [], 0, 0, 0, default, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _discovering = false;
        }
        if (_engineId.Length == 0) throw new SnmpAgentException($"{_remoteText} answered engine discovery without an engine id");
        if (_authKu is not null)
        {
            _authKey = UsmCrypto.LocalizeKey(_o.AuthProtocol, _authKu, _engineId);
            if (_privKu is not null)
            {
                _privacy?.Dispose();
                var kul = UsmCrypto.LocalizeKey(_o.AuthProtocol, _privKu, _engineId);
                _privacy = new UsmPrivacy(_o.PrivProtocol, UsmCrypto.PrivacyKey(_o.AuthProtocol, _o.PrivProtocol, kul));
            }
        }
    }

    private async Task<SnmpResponse> ExchangeAsync(PduType type, ReadOnlyMemory<byte>[] oids, int count, int nonRepeaters, int maxRepetitions,
        ReadOnlyMemory<byte> varbindList, CancellationToken cancellationToken)
    {
        int requestId = _transport.NextId();
        int routingId = _o.Version == SnmpVersion.V3 ? _transport.NextId() : requestId;
        // Completed on the transport's receive thread, outside any lock (TryAccept): the poll goes
        // on there until it waits for its next answer, so an answer wakes one thread, not two.
        var waiting = new TaskCompletionSource<bool>();
        lock (_acceptGate)
        {
            _waiting = waiting;
            _waitId = routingId;
            _waitRequestId = requestId;
            _responseIsReport = false;
        }
        _transport.Register(routingId, _remote!, this);
        try
        {
            var timeout = _o.Timeout;
            for (int attempt = 0; attempt <= _o.Retries; attempt++)
            {
                // v3 messages are rebuilt for each try: a fresh engine time and salt.
                int length = Encode(type, requestId, routingId, oids.AsSpan(0, count), nonRepeaters, maxRepetitions, varbindList.Span);
                if (Common.Log.IsEnabled(Common.LogLevel.Debug)) Common.Log.Debug($"snmp: {_o.Name}: {type} id {routingId}, {count} OIDs, {length} octets, try {attempt + 1}");
                await _transport.SendAsync(_send.AsMemory(0, length), _remote!, cancellationToken).ConfigureAwait(false);
                try
                {
                    await waiting.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                    return _response;
                }
                catch (TimeoutException)
                {
                    timeout = Backoff.Delay(_o.Timeout, TimeSpan.MaxValue, RetransmitFactor, attempt + 2);
                }
            }
        }
        finally
        {
            _transport.Unregister(routingId);
            lock (_acceptGate) _waiting = null;
        }
        throw new SnmpTimeoutException(TimeoutMessage());
    }

    private string TimeoutMessage()
    {
        string tries = _o.Retries == 0 ? "1 try" : $"{_o.Retries + 1} tries";
        string hint = _o.Version switch
        {
            SnmpVersion.V3 when _discovering => "the agent is down, unreachable, or does not speak SNMPv3",
            SnmpVersion.V3 when _o.SecurityLevel == SnmpSecurityLevel.AuthPriv => "the agent is down or unreachable, or the priv_password or priv_protocol is wrong (agents drop what they cannot decrypt)",
            SnmpVersion.V3 => "the agent is down or unreachable",
            _ => "the agent is down or unreachable, or the community is wrong (agents ignore requests with a wrong community)",
        };
        return $"no response from {_remoteText} after {tries} ({Common.Duration.Format(_o.Timeout)} timeout, with backoff): {hint}";
    }

    /// <summary>The request: a NULL-valued varbind per OID, or <paramref name="varbindList"/> as given (a SetRequest).</summary>
    private int Encode(PduType type, int requestId, int messageId, ReadOnlySpan<ReadOnlyMemory<byte>> oids, int nonRepeaters, int maxRepetitions, ReadOnlySpan<byte> varbindList)
    {
        if (type != PduType.GetBulkRequest) nonRepeaters = maxRepetitions = 0;
        bool given = !varbindList.IsEmpty;
        int written;
        if (_o.Version != SnmpVersion.V3)
        {
            if (!(given ? _encoder.TryWriteCommunityPdu(_send, _o.Version, _community, type, requestId, 0, 0, varbindList, out written)
                        : _encoder.TryWriteCommunityRequest(_send, _o.Version, _community, type, requestId, nonRepeaters, maxRepetitions, oids, out written)))
                throw new SnmpAgentException("request larger than a datagram: lower max_oids_per_request");
            return written;
        }

        bool discovery = _discovering;
        var level = discovery ? SnmpSecurityLevel.NoAuthNoPriv : _o.SecurityLevel;
        var flags = SnmpV3Flags.Reportable
            | (level >= SnmpSecurityLevel.AuthNoPriv ? SnmpV3Flags.Auth : 0)
            | (level == SnmpSecurityLevel.AuthPriv ? SnmpV3Flags.Priv : 0);
        int boots = discovery ? 0 : _engineBoots;
        int time = discovery ? 0 : EstimatedEngineTime();
        ReadOnlySpan<byte> engineId = discovery ? [] : _engineId;
        int scopedLength;
        if (!(given && !discovery
                ? _encoder.TryWriteScopedPdu(_scoped, engineId, _context, type, requestId, 0, 0, varbindList, out scopedLength)
                : _encoder.TryWriteScopedPdu(_scoped, engineId, discovery ? [] : _context, type, requestId, nonRepeaters, maxRepetitions, oids, out scopedLength)))
            throw new SnmpAgentException("request larger than a datagram: lower max_oids_per_request");
        ReadOnlySpan<byte> data = _scoped.AsSpan(0, scopedLength);
        Span<byte> privParams = stackalloc byte[8];
        bool encrypted = false;
        if (level == SnmpSecurityLevel.AuthPriv)
        {
            int n = _privacy!.Encrypt(data, boots, time, ++_salt, privParams, _cipher);
            data = _cipher.AsSpan(0, n);
            encrypted = true;
        }
        int macLength = level >= SnmpSecurityLevel.AuthNoPriv ? UsmCrypto.MacLength(_o.AuthProtocol) : 0;
        if (!_encoder.TryWriteV3Message(_send, messageId, _o.MaxMessageSize, flags, engineId, boots, time,
                discovery ? [] : _user, macLength, encrypted ? privParams : [], data, encrypted, out written, out var authParams))
            throw new SnmpAgentException("request larger than a datagram: lower max_oids_per_request");
        if (macLength > 0) UsmCrypto.Sign(_o.AuthProtocol, _authKey!, _send.AsSpan(0, written), authParams);
        return written;
    }

    private int EstimatedEngineTime()
    {
        long elapsed = (long)Stopwatch.GetElapsedTime(_timeSyncedAt).TotalSeconds;
        return (int)Math.Min(int.MaxValue, _engineTime + elapsed);
    }

    /// <summary>
    /// Runs on the transport's receive loop: checks the datagram belongs to the waiting request
    /// and takes it. The request is completed after the lock is released: its continuation (the
    /// rest of the poll, up to its next request) runs right here.
    /// </summary>
    public bool TryAccept(ReadOnlySpan<byte> datagram)
    {
        TaskCompletionSource<bool>? waiting;
        lock (_acceptGate)
        {
            waiting = _waiting;
            if (waiting is null || waiting.Task.IsCompleted || !Take(datagram)) return false;
        }
        waiting.TrySetResult(true);
        return true;
    }

    /// <summary>Under the accept lock: the datagram is the waiting request's answer; <see cref="_response"/> is set.</summary>
    private bool Take(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > _recv.Length) return false;
        datagram.CopyTo(_recv);
        var buffer = _recv.AsSpan(0, datagram.Length);
        var m = SnmpDecoder.ReadMessage(buffer);
        if (m.Version != _o.Version) return false;
        if (m.Version != SnmpVersion.V3)
        {
            if (!m.Community.Of(buffer).SequenceEqual(_community)) return false;
            var h = SnmpDecoder.ReadPduHeader(buffer, m.Pdu);
            if (h.Type != PduType.Response || h.RequestId != _waitRequestId) return false;
            _response = new SnmpResponse(_recv, h);
            return true;
        }
        return AcceptV3(buffer, ref m);
    }

    private bool AcceptV3(Span<byte> buffer, ref SnmpMessage m)
    {
        if (m.MessageId != _waitId || m.SecurityModel != 3) return false;
        bool authed = (m.Flags & SnmpV3Flags.Auth) != 0;
        if (authed)
        {
            if (_authKey is null || _discovering) return false;
            if (!m.EngineId.Of(buffer).SequenceEqual(_engineId)) return false;
            if (!m.UserName.Of(buffer).SequenceEqual(_user)) return false;
            if (!UsmCrypto.Verify(_o.AuthProtocol, _authKey, buffer, m.AuthParameters)) return false;
        }
        byte[] pduBuffer = _recv;
        Segment pdu = m.Pdu;
        if (m.Encrypted)
        {
            if (!authed || _privacy is null || (m.Flags & SnmpV3Flags.Priv) == 0) return false;
            int n = _privacy.Decrypt(m.ScopedPdu.Of(buffer), m.PrivParameters.Of(buffer), m.EngineBoots, m.EngineTime, _plain);
            SnmpDecoder.ReadScopedPdu(_plain, new Segment(0, n), out _, out _, out pdu);
            pduBuffer = _plain;
        }
        var h = SnmpDecoder.ReadPduHeader(pduBuffer, pdu);
        if (h.Type == PduType.Report)
        {
            // Reports come unauthenticated when the agent could not authenticate us; believe
            // them for this request only (RFC 3414 sec 3.2 step 3 lets the engine send them so).
            var reader = new VarbindReader(pduBuffer, h.Varbinds);
            _reportOid = reader.TryRead(out var vb) ? vb.Oid.ToArray() : [];
            bool timeReport = _reportOid.AsSpan().SequenceEqual(NotInTimeWindows) && authed;
            if (_discovering || timeReport || _engineId.Length == 0)
            {
                _engineId = m.EngineId.Of(buffer).ToArray();
                _engineBoots = m.EngineBoots;
                _engineTime = m.EngineTime;
                _timeSyncedAt = Stopwatch.GetTimestamp();
            }
            _responseIsReport = !_discovering;
            _response = new SnmpResponse(pduBuffer, h);
            return true;
        }
        if (_discovering) return false;
        if (h.Type != PduType.Response || h.RequestId != _waitRequestId) return false;
        if (!authed && _o.SecurityLevel != SnmpSecurityLevel.NoAuthNoPriv) return false;
        if (!m.Encrypted && _o.SecurityLevel == SnmpSecurityLevel.AuthPriv) return false;
        if (authed && (m.EngineBoots > _engineBoots || (m.EngineBoots == _engineBoots && m.EngineTime > EstimatedEngineTime())))
        {
            // RFC 3414 sec 3.2 step 7b: an authentic message moves our notion of the engine's clock forward.
            _engineBoots = m.EngineBoots;
            _engineTime = m.EngineTime;
            _timeSyncedAt = Stopwatch.GetTimestamp();
        }
        _response = new SnmpResponse(pduBuffer, h);
        return true;
    }

    private Exception ReportError(ReadOnlySpan<byte> oid)
    {
        string text = oid.IsEmpty ? "(none)" : Oid.Format(oid);
        string user = _o.User;
        string message =
            oid.SequenceEqual(UnknownUserNames) ? $"the agent does not know user \"{user}\" (usmStatsUnknownUserNames)"
            : oid.SequenceEqual(WrongDigests) ? $"authentication failed for user \"{user}\": wrong auth_password or auth_protocol (usmStatsWrongDigests)"
            : oid.SequenceEqual(UnsupportedSecLevels) ? $"user \"{user}\" is not configured for security_level \"{_o.SecurityLevel}\" on the agent (usmStatsUnsupportedSecLevels)"
            : oid.SequenceEqual(DecryptionErrors) ? $"the agent could not decrypt the request: wrong priv_password or priv_protocol (usmStatsDecryptionErrors)"
            : oid.SequenceEqual(NotInTimeWindows) ? "the agent's clock keeps rejecting the request as outside its time window (usmStatsNotInTimeWindows)"
            : oid.SequenceEqual(UnknownEngineIds) ? "the agent keeps reporting an unknown engine id (usmStatsUnknownEngineIDs)"
            : oid.SequenceEqual(UnknownContexts) ? $"the agent does not know context \"{_o.Context}\" (snmpUnknownContexts)"
            : oid.SequenceEqual(UnavailableContexts) ? $"context \"{_o.Context}\" is unavailable on the agent (snmpUnavailableContexts)"
            : Oid.IsUnder(oid, UsmStatsPrefix) ? $"the agent refused the request (report {text})"
            : $"the agent answered with a report ({text})";
        return new SnmpReportException(message, text);
    }

    public void Dispose() => _privacy?.Dispose();
}
