using System.Text;
using Pattoo.Edge.Protocols.Snmp;
using Pattoo.Edge.Protocols.Snmp.Usm;

namespace Pattoo.Edge.Pollers.Snmp.Traps;

/// <summary>Why a datagram was not taken; each is counted by the receiver.</summary>
public enum TrapDrop
{
    None,
    Malformed,
    BadCommunity,
    UnknownSecurityModel,
    UnknownEngineId,
    EngineNotAllowed,
    UnknownUser,
    WrongSecurityLevel,
    WrongDigest,
    NotInTimeWindow,
    DecryptionError,
    NotANotification,
}

/// <summary>What became of one datagram: a notification (and its security), an answer to send back, or why it was dropped.</summary>
public readonly record struct TrapResult(SnmpNotification? Notification, string Security, byte[]? Reply, TrapDrop Drop, string Why)
{
    public static TrapResult Dropped(TrapDrop drop, string why, byte[]? reply = null) => new(null, "", reply, drop, why);
}

/// <summary>
/// The receiving side of SNMP notifications, bytes in and bytes out (no sockets, so it is
/// tested and fuzzed on datagrams): v1 and v2c traps checked against the communities, informs
/// answered; SNMPv3 traps and informs checked by USM (RFC 3414 sec 3.2) for the configured
/// users. For informs this box is the authoritative engine: it answers discovery with a report
/// of its engine id, boots and time, checks the time window, and answers each inform with a
/// response secured as the inform was. For traps the sender is authoritative: keys are
/// localised to the sender's engine id (any, or the user's <c>engine_ids</c>), and an engine's
/// boots and time may only move forward (a replayed trap is dropped). Not thread-safe: one
/// receive loop owns it.
/// </summary>
public sealed class TrapProcessor
{
    private const int TimeWindowSeconds = 150; // RFC 3414 sec 2.2.3
    private static readonly byte[] UnknownEngineIds = Oid.Parse("1.3.6.1.6.3.15.1.1.4.0");
    private static readonly byte[] NotInTimeWindows = Oid.Parse("1.3.6.1.6.3.15.1.1.2.0");
    private static readonly byte[] UnknownUserNames = Oid.Parse("1.3.6.1.6.3.15.1.1.3.0");

    private readonly SnmpTrapOptions _options;
    private readonly LocalEngine _engine;
    private readonly byte[][] _communities;
    private readonly Dictionary<string, User> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Boots, int Time)> _senderClocks = new(StringComparer.Ordinal);
    private readonly SnmpEncoder _encoder = new();
    private readonly byte[] _plain = new byte[SnmpEncoder.MaxMessageSize];
    private readonly byte[] _scoped = new byte[SnmpEncoder.MaxMessageSize];
    private readonly byte[] _cipher = new byte[SnmpEncoder.MaxMessageSize + 16];
    private readonly byte[] _reply = new byte[SnmpEncoder.MaxMessageSize];
    private uint _unknownEngineIds, _notInTimeWindows, _unknownUserNames;
    private ulong _salt = (ulong)Random.Shared.NextInt64();

    private sealed class User
    {
        public required SnmpTrapUserOptions Options { get; init; }
        public byte[] AuthKu { get; init; } = [];
        public byte[] PrivKu { get; init; } = [];
        /// <summary>Keys localised to this box's engine (informs).</summary>
        public byte[]? AuthKey { get; init; }
        public UsmPrivacy? Privacy { get; init; }
        public SnmpSecurityLevel Level => Options.Usm.Level;
    }

    public TrapProcessor(SnmpTrapOptions options, LocalEngine engine)
    {
        _options = options;
        _engine = engine;
        _communities = [.. options.Communities.Select(Encoding.UTF8.GetBytes)];
        foreach (var u in options.Users)
        {
            var usm = u.Usm;
            byte[] authKu = usm.Level >= SnmpSecurityLevel.AuthNoPriv ? UsmCrypto.PasswordToKey(usm.AuthProtocol, usm.AuthPassword) : [];
            byte[] privKu = usm.Level == SnmpSecurityLevel.AuthPriv ? UsmCrypto.PasswordToKey(usm.AuthProtocol, usm.PrivPassword) : [];
            _users[usm.User] = new User
            {
                Options = u,
                AuthKu = authKu,
                PrivKu = privKu,
                AuthKey = authKu.Length > 0 ? UsmCrypto.LocalizeKey(usm.AuthProtocol, authKu, engine.Id) : null,
                Privacy = privKu.Length > 0 ? Privacy(usm, privKu, engine.Id) : null,
            };
        }
    }

    private static UsmPrivacy Privacy(UsmUserOptions usm, byte[] privKu, ReadOnlySpan<byte> engineId)
        => new(usm.PrivProtocol, UsmCrypto.PrivacyKey(usm.AuthProtocol, usm.PrivProtocol, UsmCrypto.LocalizeKey(usm.AuthProtocol, privKu, engineId)));

    /// <summary>Takes one datagram (modified in place while its digest is checked).</summary>
    public TrapResult Process(Span<byte> datagram)
    {
        SnmpMessage m;
        try
        {
            m = SnmpDecoder.ReadMessage(datagram);
        }
        catch (SnmpFormatException e)
        {
            return TrapResult.Dropped(TrapDrop.Malformed, e.Message);
        }
        try
        {
            return m.Version == SnmpVersion.V3 ? ProcessV3(datagram, ref m) : ProcessCommunity(datagram, ref m);
        }
        catch (SnmpFormatException e)
        {
            return TrapResult.Dropped(TrapDrop.Malformed, e.Message);
        }
    }

    private TrapResult ProcessCommunity(Span<byte> d, ref SnmpMessage m)
    {
        var community = m.Community.Of(d);
        bool allowed = false;
        foreach (var c in _communities) allowed |= community.SequenceEqual(c);
        string version = m.Version == SnmpVersion.V1 ? "v1" : "v2c";
        if (!allowed) return TrapResult.Dropped(TrapDrop.BadCommunity, $"{version} community \"{SnmpNotification.OctetsText(community)}\" is not in snmp.traps.communities");
        byte tag = d[m.Pdu.Offset];
        if (m.Version == SnmpVersion.V1 ? tag != (byte)PduType.TrapV1 : tag is not ((byte)PduType.TrapV2 or (byte)PduType.InformRequest))
            return TrapResult.Dropped(TrapDrop.NotANotification, $"a {version} PDU with tag 0x{tag:X2} is not a notification");
        var n = SnmpNotification.Read(d, m.Pdu);
        byte[]? reply = null;
        if (n.IsInform)
        {
            var h = SnmpDecoder.ReadPduHeader(d, m.Pdu);
            if (!_encoder.TryWriteCommunityPdu(_reply, m.Version, community, PduType.Response, h.RequestId, 0, 0, h.VarbindList.Of(d), out int written))
                return TrapResult.Dropped(TrapDrop.Malformed, "the inform's response would not fit a datagram");
            reply = _reply.AsSpan(0, written).ToArray();
        }
        return new TrapResult(n, $"{version} community {SnmpNotification.OctetsText(community)}", reply, TrapDrop.None, "");
    }

    private TrapResult ProcessV3(Span<byte> d, ref SnmpMessage m)
    {
        if (m.SecurityModel != 3) return TrapResult.Dropped(TrapDrop.UnknownSecurityModel, $"security model {m.SecurityModel} (only USM, 3, is spoken)");
        var engineId = m.EngineId.Of(d);
        bool reportable = (m.Flags & SnmpV3Flags.Reportable) != 0;
        bool authoritative = engineId.SequenceEqual(_engine.Id);
        string userName = SnmpNotification.OctetsText(m.UserName.Of(d));
        if (engineId.IsEmpty)
        {
            // Discovery (RFC 3414 sec 4): an inform sender asks for this engine's id, boots and time.
            _unknownEngineIds++;
            return TrapResult.Dropped(TrapDrop.UnknownEngineId, "an SNMPv3 discovery request (answered with this engine's id)",
                reportable ? Report(ref m, d, UnknownEngineIds, _unknownEngineIds, null) : null);
        }
        if (!_users.TryGetValue(Encoding.UTF8.GetString(m.UserName.Of(d)), out var user))
        {
            _unknownUserNames++;
            return TrapResult.Dropped(TrapDrop.UnknownUser, $"SNMPv3 user \"{userName}\" is not in [[snmp.traps.users]]",
                reportable && authoritative ? Report(ref m, d, UnknownUserNames, _unknownUserNames, null) : null);
        }
        var level = (m.Flags & SnmpV3Flags.Priv) != 0 ? SnmpSecurityLevel.AuthPriv : (m.Flags & SnmpV3Flags.Auth) != 0 ? SnmpSecurityLevel.AuthNoPriv : SnmpSecurityLevel.NoAuthNoPriv;
        if (level != user.Level || m.Encrypted != (level == SnmpSecurityLevel.AuthPriv))
            return TrapResult.Dropped(TrapDrop.WrongSecurityLevel, $"SNMPv3 user \"{userName}\" sent {Name(level)}; it is configured for {Name(user.Level)}");
        if (!authoritative && !Allows(user.Options, engineId))
            return TrapResult.Dropped(TrapDrop.EngineNotAllowed, $"engine id 0x{Convert.ToHexString(engineId)} is not in the engine_ids of user \"{userName}\"");

        var usm = user.Options.Usm;
        byte[]? authKey = level == SnmpSecurityLevel.NoAuthNoPriv ? null
            : authoritative ? user.AuthKey! : UsmCrypto.LocalizeKey(usm.AuthProtocol, user.AuthKu, engineId);
        if (authKey is not null && !UsmCrypto.Verify(usm.AuthProtocol, authKey, d, m.AuthParameters))
            return TrapResult.Dropped(TrapDrop.WrongDigest, $"SNMPv3 user \"{userName}\": the digest is wrong (auth_password or auth_protocol differ from the sender's)");

        if (authKey is not null)
        {
            if (authoritative)
            {
                if (m.EngineBoots != _engine.Boots || Math.Abs((long)m.EngineTime - _engine.Time) > TimeWindowSeconds)
                {
                    _notInTimeWindows++;
                    return TrapResult.Dropped(TrapDrop.NotInTimeWindow, $"SNMPv3 user \"{userName}\": boots {m.EngineBoots} time {m.EngineTime}, this engine is at boots {_engine.Boots} time {_engine.Time}",
                        reportable ? Report(ref m, d, NotInTimeWindows, _notInTimeWindows, user) : null);
                }
            }
            else
            {
                string sender = Convert.ToHexString(engineId);
                if (_senderClocks.TryGetValue(sender, out var clock)
                    && (m.EngineBoots < clock.Boots || (m.EngineBoots == clock.Boots && m.EngineTime < clock.Time - TimeWindowSeconds)))
                    return TrapResult.Dropped(TrapDrop.NotInTimeWindow, $"SNMPv3 trap from engine 0x{sender} at boots {m.EngineBoots} time {m.EngineTime}, older than its last ({clock.Boots}, {clock.Time}): a replay");
                if (_senderClocks.Count < 10_000 || _senderClocks.ContainsKey(sender))
                    _senderClocks[sender] = (Math.Max(m.EngineBoots, clock.Boots), m.EngineBoots > clock.Boots ? m.EngineTime : Math.Max(m.EngineTime, clock.Time));
            }
        }

        ReadOnlySpan<byte> pduBuffer = d;
        Segment pdu = m.Pdu, contextName = m.ContextName, contextEngineId = m.ContextEngineId;
        if (m.Encrypted)
        {
            var privacy = authoritative ? user.Privacy! : Privacy(usm, user.PrivKu, engineId);
            try
            {
                int n = privacy.Decrypt(m.ScopedPdu.Of(d), m.PrivParameters.Of(d), m.EngineBoots, m.EngineTime, _plain);
                SnmpDecoder.ReadScopedPdu(_plain, new Segment(0, n), out contextEngineId, out contextName, out pdu);
            }
            catch (SnmpFormatException e)
            {
                return TrapResult.Dropped(TrapDrop.DecryptionError, $"SNMPv3 user \"{userName}\": cannot decrypt ({e.Message}): priv_password or priv_protocol differ from the sender's");
            }
            finally
            {
                if (!authoritative) privacy.Dispose();
            }
            pduBuffer = _plain;
        }
        byte tag = pduBuffer[pdu.Offset];
        if (tag is not ((byte)PduType.TrapV2 or (byte)PduType.InformRequest))
            return TrapResult.Dropped(TrapDrop.NotANotification, $"an SNMPv3 PDU with tag 0x{tag:X2} is not a notification");
        if (tag == (byte)PduType.InformRequest && !authoritative)
        {
            _unknownEngineIds++;
            return TrapResult.Dropped(TrapDrop.UnknownEngineId, $"an inform for engine 0x{Convert.ToHexString(engineId)}, which is not this box's",
                reportable ? Report(ref m, d, UnknownEngineIds, _unknownEngineIds, null) : null);
        }
        var notification = SnmpNotification.Read(pduBuffer, pdu);
        byte[]? reply = null;
        if (notification.IsInform)
        {
            var h = SnmpDecoder.ReadPduHeader(pduBuffer, pdu);
            // The response's scope is the inform's own: its contextEngineID is the sender's (RFC 3413 sec 3.3), and net-snmp matches it.
            reply = Secure(m.MessageId, user, level, contextEngineId.Of(pduBuffer).ToArray(), contextName.Of(pduBuffer).ToArray(), PduType.Response, h.RequestId, h.VarbindList.Of(pduBuffer), m.MaxSize);
        }
        return new TrapResult(notification, $"v3 user {userName} {Name(level)}", reply, TrapDrop.None, "");
    }

    /// <summary>A Report PDU with one usmStats counter: unauthenticated, or for <paramref name="user"/> authenticated at authNoPriv (RFC 3414 sec 3.2 step 7).</summary>
    private byte[]? Report(ref SnmpMessage m, ReadOnlySpan<byte> d, byte[] counter, uint value, User? user)
    {
        int requestId = 0;
        if (!m.Encrypted && m.Pdu.Length > 0)
        {
            try { requestId = SnmpDecoder.ReadPduHeader(d, m.Pdu).RequestId; }
            catch (SnmpFormatException) { }
        }
        var varbinds = _encoder.EncodeCounterVarbindList(counter, value);
        var level = user is null ? SnmpSecurityLevel.NoAuthNoPriv : SnmpSecurityLevel.AuthNoPriv;
        return Secure(m.MessageId, user, level, _engine.Id, [], PduType.Report, requestId, varbinds, m.MaxSize, m.UserName.Of(d));
    }

    /// <summary>An SNMPv3 message from this engine: the PDU scoped, encrypted and signed as <paramref name="level"/> asks.</summary>
    private byte[]? Secure(int messageId, User? user, SnmpSecurityLevel level, ReadOnlySpan<byte> contextEngineId, ReadOnlySpan<byte> contextName, PduType type, int requestId,
        ReadOnlySpan<byte> varbindList, int maxSize, ReadOnlySpan<byte> userName = default)
    {
        if (!_encoder.TryWriteScopedPdu(_scoped, contextEngineId, contextName, type, requestId, 0, 0, varbindList, out int scopedLength)) return null;
        ReadOnlySpan<byte> data = _scoped.AsSpan(0, scopedLength);
        int boots = _engine.Boots, time = _engine.Time;
        Span<byte> privParams = stackalloc byte[8];
        bool encrypted = level == SnmpSecurityLevel.AuthPriv;
        if (encrypted)
        {
            int n = user!.Privacy!.Encrypt(data, boots, time, ++_salt, privParams, _cipher);
            data = _cipher.AsSpan(0, n);
        }
        var usm = user?.Options.Usm;
        var flags = (level >= SnmpSecurityLevel.AuthNoPriv ? SnmpV3Flags.Auth : 0) | (encrypted ? SnmpV3Flags.Priv : 0);
        int macLength = level >= SnmpSecurityLevel.AuthNoPriv ? UsmCrypto.MacLength(usm!.AuthProtocol) : 0;
        byte[] name = user is null ? userName.ToArray() : Encoding.UTF8.GetBytes(usm!.User);
        if (!_encoder.TryWriteV3Message(_reply, messageId, SnmpEncoder.MaxMessageSize, flags, _engine.Id, boots, time, name,
                macLength, encrypted ? privParams : [], data, encrypted, out int written, out var authParams)) return null;
        if (written > Math.Max(484, maxSize)) return null; // larger than the sender takes
        if (macLength > 0) UsmCrypto.Sign(usm!.AuthProtocol, user!.AuthKey!, _reply.AsSpan(0, written), authParams);
        return _reply.AsSpan(0, written).ToArray();
    }

    /// <summary>True when the user may send traps from this engine: any, or one of its engine_ids.</summary>
    private static bool Allows(SnmpTrapUserOptions user, ReadOnlySpan<byte> engineId)
    {
        if (user.EngineIds.Count == 0) return true;
        foreach (var id in user.EngineIds)
            if (engineId.SequenceEqual(id)) return true;
        return false;
    }

    private static string Name(SnmpSecurityLevel l) => l switch
    {
        SnmpSecurityLevel.AuthNoPriv => "authNoPriv",
        SnmpSecurityLevel.AuthPriv => "authPriv",
        _ => "noAuthNoPriv",
    };
}
