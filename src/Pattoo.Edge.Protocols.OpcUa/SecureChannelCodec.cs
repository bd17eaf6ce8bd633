using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pattoo.Edge.Protocols.OpcUa;

/// <summary>One chunk read from the channel, verified and decrypted.</summary>
public readonly record struct ChannelChunk(UaMessageType Type, byte ChunkType, uint RequestId, uint TokenId, ReadOnlyMemory<byte> Body);

/// <summary>
/// The secure conversation of one channel as pure code (Part 6, sec 6.7): turns service
/// messages into signed and encrypted chunks within the negotiated sizes, and chunks back
/// into message bodies after checking channel id, token, signature, padding and sequence
/// numbers. No sockets: the caller moves the bytes.
/// </summary>
public sealed class SecureChannelCodec : IDisposable
{
    /// <summary>Sequence numbers wrap to a value below 1024 after passing 4294966271 (Part 6, sec 6.7.2.4).</summary>
    private const uint SequenceWrapAbove = 4294966271;

    private readonly RSA? _clientKey;
    private readonly RSA? _serverKey;
    private readonly byte[]? _clientCertificate;
    private readonly byte[]? _serverCertificate;
    private readonly byte[]? _clientThumbprint;
    private readonly byte[]? _serverThumbprint;
    private readonly Dictionary<uint, (SymmetricKeys Client, SymmetricKeys Server)> _tokens = new();
    private uint _sendSequence;
    private uint _receiveSequence;
    private bool _receivedAny;
    private uint _currentToken;

    /// <param name="policy">any <see cref="SecurityPolicy"/>; all but None sign and may encrypt.</param>
    /// <param name="mode">None for policy None; Sign or SignAndEncrypt otherwise.</param>
    /// <param name="clientCertificate">DER of our application instance certificate (policy other than None).</param>
    /// <param name="clientKey">its private key.</param>
    /// <param name="serverCertificate">DER of the server's certificate, from its endpoint description.</param>
    public SecureChannelCodec(SecurityPolicy policy, MessageSecurityMode mode, byte[]? clientCertificate, RSA? clientKey, byte[]? serverCertificate)
    {
        if (policy == SecurityPolicy.None && mode != MessageSecurityMode.None)
            throw new ArgumentException($"security policy None goes with mode None, not {mode}", nameof(mode));
        if (policy != SecurityPolicy.None)
        {
            if (mode is not (MessageSecurityMode.Sign or MessageSecurityMode.SignAndEncrypt))
                throw new ArgumentException($"policy {policy} needs mode Sign or SignAndEncrypt, not {mode}", nameof(mode));
            ArgumentNullException.ThrowIfNull(clientCertificate);
            ArgumentNullException.ThrowIfNull(clientKey);
            ArgumentNullException.ThrowIfNull(serverCertificate);
            _clientCertificate = clientCertificate;
            _clientKey = clientKey;
            _serverCertificate = serverCertificate;
            using var cert = SecurityPolicies.LoadLeaf(serverCertificate);
            _serverKey = cert.GetRSAPublicKey() ?? throw new ArgumentException("the server certificate has no RSA key", nameof(serverCertificate));
            _clientThumbprint = SecurityPolicies.Thumbprint(clientCertificate.AsSpan(0, SecurityPolicies.LeafLength(clientCertificate)));
            _serverThumbprint = SecurityPolicies.Thumbprint(serverCertificate.AsSpan(0, SecurityPolicies.LeafLength(serverCertificate)));
        }
        Policy = policy;
        Mode = mode;
    }

    public SecurityPolicy Policy { get; }
    public MessageSecurityMode Mode { get; }
    public uint ChannelId { get; set; }

    /// <summary>Largest chunk we send: the smaller of our send buffer and the peer's receive buffer.</summary>
    public int SendChunkSize { get; set; } = 65535;
    /// <summary>Largest chunk we accept.</summary>
    public int ReceiveChunkSize { get; set; } = 65535;
    /// <summary>Largest message (sum of chunk bodies) the peer accepts; 0 = no limit.</summary>
    public int PeerMaxMessageSize { get; set; }
    /// <summary>Most chunks per message the peer accepts; 0 = no limit.</summary>
    public int PeerMaxChunkCount { get; set; }

    private bool Signs => Mode is MessageSecurityMode.Sign or MessageSecurityMode.SignAndEncrypt;
    private bool Encrypts => Mode == MessageSecurityMode.SignAndEncrypt;

    /// <summary>Installs the keys of a token (after an OpenSecureChannel response); new messages use it.</summary>
    public void ActivateToken(uint tokenId, SymmetricKeys? clientKeys, SymmetricKeys? serverKeys)
    {
        if (Policy != SecurityPolicy.None)
        {
            ArgumentNullException.ThrowIfNull(clientKeys);
            ArgumentNullException.ThrowIfNull(serverKeys);
            // Keep the previous token to read what the server still sends with it; drop older ones.
            foreach (uint old in _tokens.Keys.Where(k => k != _currentToken && k != tokenId).ToList())
            {
                _tokens[old].Client.Dispose();
                _tokens[old].Server.Dispose();
                _tokens.Remove(old);
            }
            _tokens[tokenId] = (clientKeys, serverKeys);
        }
        _currentToken = tokenId;
    }

    public uint CurrentTokenId => _currentToken;

    private uint NextSequence()
    {
        _sendSequence = _sendSequence >= SequenceWrapAbove ? 1 : _sendSequence + 1;
        return _sendSequence;
    }

    /// <summary>
    /// Appends one OpenSecureChannel (or, unsecured, any asymmetric) chunk: asymmetric security
    /// header, then sequence header and body, signed with our key and encrypted with the
    /// server's when the policy is not None (Part 6, sec 6.7.2.3, 6.7.4).
    /// </summary>
    /// <exception cref="ArgumentException">the body does not fit one chunk.</exception>
    public void EncodeOpen(UaWriter w, uint requestId, ReadOnlySpan<byte> body)
    {
        int start = w.Length;
        w.Reserve(UaMessageHeader.Length);
        w.UInt32(ChannelId);
        w.String(SecurityPolicies.Uri(Policy));
        w.ByteString(_clientCertificate);
        w.ByteString(_serverThumbprint);
        int securityHeaderEnd = w.Length;
        if (Policy == SecurityPolicy.None)
        {
            w.UInt32(NextSequence());
            w.UInt32(requestId);
            w.Raw(body);
            Check(w.Length - start);
            UaMessageHeader.Write(w.At(start, 8), UaMessageType.OpenSecureChannel, UaMessageHeader.Final, w.Length - start);
            return;
        }
        int plainBlock = SecurityPolicies.AsymmetricPlainBlock(Policy, _serverKey!);
        int cipherBlock = SecurityPolicies.AsymmetricCipherBlock(_serverKey!);
        int signatureSize = _clientKey!.KeySize / 8;
        bool extraPadding = cipherBlock > 256;
        int dataSize = 8 + body.Length + signatureSize + 1 + (extraPadding ? 1 : 0);
        int padding = (plainBlock - dataSize % plainBlock) % plainBlock;
        int plainSize = dataSize + padding;
        int cipherSize = plainSize / plainBlock * cipherBlock;
        int total = securityHeaderEnd - start + cipherSize;
        Check(total);
        UaMessageHeader.Write(w.At(start, 8), UaMessageType.OpenSecureChannel, UaMessageHeader.Final, total);
        w.UInt32(NextSequence());
        w.UInt32(requestId);
        w.Raw(body);
        WritePadding(w, padding, extraPadding);
        var signature = SecurityPolicies.AsymmetricSign(Policy, _clientKey, w.Written[start..]);
        w.Raw(signature);
        var cipher = SecurityPolicies.AsymmetricEncrypt(Policy, _serverKey!, w.Written[securityHeaderEnd..]);
        w.Truncate(securityHeaderEnd); // the plain text is replaced by its cipher text
        w.Raw(cipher);

        void Check(int size)
        {
            if (size > SendChunkSize) throw new ArgumentException($"an OpenSecureChannel message of {size} bytes exceeds the {SendChunkSize}-byte chunk size");
        }
    }

    private static void WritePadding(UaWriter w, int padding, bool extra)
    {
        byte low = (byte)padding;
        var span = w.Reserve(padding + 1);
        span.Fill(low);
        if (extra) w.Byte((byte)(padding >> 8));
    }

    /// <summary>
    /// Appends a service message as one or more symmetric chunks (MSG or CLO) within
    /// <see cref="SendChunkSize"/> (Part 6, sec 6.7.2.2, 6.7.3).
    /// </summary>
    /// <exception cref="ArgumentException">the message exceeds the peer's message size or chunk count.</exception>
    public void EncodeSymmetric(UaWriter w, UaMessageType type, uint requestId, ReadOnlySpan<byte> body)
    {
        const int headerSize = UaMessageHeader.Length + 8; // header, channel id, token id
        int signatureSize = Signs ? SymmetricKeys.SignatureLength : 0;
        int block = Encrypts ? SymmetricKeys.BlockSize : 1;
        int maxCipher = (SendChunkSize - headerSize) / block * block;
        int maxBody = maxCipher - 8 - signatureSize - (Encrypts ? 1 : 0);
        if (maxBody <= 0) throw new ArgumentException($"chunk size {SendChunkSize} leaves no room for a body");
        int chunks = Math.Max(1, (body.Length + maxBody - 1) / maxBody);
        if (PeerMaxChunkCount > 0 && chunks > PeerMaxChunkCount)
            throw new ArgumentException($"a {body.Length}-byte request needs {chunks} chunks, the server accepts {PeerMaxChunkCount}");
        if (PeerMaxMessageSize > 0 && body.Length > PeerMaxMessageSize)
            throw new ArgumentException($"a {body.Length}-byte request exceeds the server's message size {PeerMaxMessageSize}");
        (SymmetricKeys Client, SymmetricKeys Server) keys = default;
        if (Signs && !_tokens.TryGetValue(_currentToken, out keys)) throw new InvalidOperationException("no security token is active");
        for (int c = 0; c < chunks; c++)
        {
            var part = body.Slice(c * maxBody, Math.Min(maxBody, body.Length - c * maxBody));
            byte chunkType = c == chunks - 1 ? UaMessageHeader.Final : UaMessageHeader.Intermediate;
            int start = w.Length;
            int padding = 0;
            int plainSize = 8 + part.Length + signatureSize;
            if (Encrypts)
            {
                plainSize += 1;
                padding = (block - plainSize % block) % block;
                plainSize += padding;
            }
            int total = headerSize + plainSize;
            var header = w.Reserve(headerSize);
            UaMessageHeader.Write(header, type, chunkType, total);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], ChannelId);
            BinaryPrimitives.WriteUInt32LittleEndian(header[12..], _currentToken);
            w.UInt32(NextSequence());
            w.UInt32(requestId);
            w.Raw(part);
            if (Encrypts) WritePadding(w, padding, false);
            if (Signs)
            {
                var sig = w.Reserve(signatureSize);
                keys.Client!.Sign(w.Written.Slice(start, total - signatureSize), sig);
            }
            if (Encrypts)
            {
                var region = w.At(start + headerSize, plainSize);
                var cipher = new byte[plainSize];
                keys.Client!.Encrypt(region, cipher);
                cipher.CopyTo(region);
            }
        }
    }

    /// <summary>
    /// Checks and opens one chunk (a whole OPN, MSG or CLO message as read from the stream,
    /// header included). <paramref name="chunk"/> may be decrypted in place.
    /// </summary>
    /// <exception cref="OpcUaFormatException">wrong channel or token, bad signature or padding,
    /// a sequence number out of order, truncated or oversized data.</exception>
    public ChannelChunk DecodeChunk(byte[] chunk, int length)
    {
        if (length > chunk.Length) throw new ArgumentOutOfRangeException(nameof(length));
        var span = chunk.AsSpan(0, length);
        if (!UaMessageHeader.TryRead(span, Math.Max(ReceiveChunkSize, 8192), out var header))
            OpcUaFormatException.Truncated("a message header");
        if (header.Size != length) OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"chunk of {length} bytes says it has {header.Size}");
        if (header.Type is not (UaMessageType.OpenSecureChannel or UaMessageType.Message or UaMessageType.CloseSecureChannel))
            OpcUaFormatException.Throw(OpcUaFormatError.BadHeader, $"a {UaMessageHeader.Name(header.Type)} message on an open channel");
        var r = new UaReader(span[UaMessageHeader.Length..]);
        uint channelId = r.UInt32();
        if (ChannelId != 0 && channelId != ChannelId)
            OpcUaFormatException.Throw(OpcUaFormatError.BadSequence, $"chunk for channel {channelId}, this channel is {ChannelId}");
        return header.Type == UaMessageType.OpenSecureChannel
            ? DecodeAsymmetric(chunk, length, header, ref r)
            : DecodeSymmetric(chunk, length, header);
    }

    private ChannelChunk DecodeAsymmetric(byte[] chunk, int length, UaMessageHeader header, ref UaReader r)
    {
        string? policyUri = r.String();
        byte[]? senderCertificate = r.ByteString();
        byte[]? receiverThumbprint = r.ByteString();
        if (policyUri != SecurityPolicies.Uri(Policy))
            OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, $"the server answered with security policy {policyUri}, expected {SecurityPolicies.Uri(Policy)}");
        int securityHeaderEnd = UaMessageHeader.Length + r.Position;
        byte[] plain;
        int bodyStart, bodyEnd;
        if (Policy == SecurityPolicy.None)
        {
            plain = chunk;
            bodyStart = securityHeaderEnd;
            bodyEnd = length;
        }
        else
        {
            if (senderCertificate is null || !senderCertificate.AsSpan(0, SecurityPolicies.LeafLength(senderCertificate))
                    .SequenceEqual(_serverCertificate.AsSpan(0, SecurityPolicies.LeafLength(_serverCertificate))))
                OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "the server signed with a certificate other than its endpoint's");
            if (receiverThumbprint is null || !receiverThumbprint.AsSpan().SequenceEqual(_clientThumbprint))
                OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "the server encrypted for a certificate other than ours");
            var decrypted = SecurityPolicies.AsymmetricDecrypt(Policy, _clientKey!, chunk.AsSpan(securityHeaderEnd, length - securityHeaderEnd));
            plain = new byte[securityHeaderEnd + decrypted.Length];
            chunk.AsSpan(0, securityHeaderEnd).CopyTo(plain);
            decrypted.CopyTo(plain, securityHeaderEnd);
            int signatureSize = _serverKey!.KeySize / 8;
            int signedEnd = plain.Length - signatureSize;
            if (signedEnd < securityHeaderEnd + 8) OpcUaFormatException.Truncated("an OpenSecureChannel response");
            if (!SecurityPolicies.AsymmetricVerify(Policy, _serverKey, plain.AsSpan(0, signedEnd), plain.AsSpan(signedEnd)))
                OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "the OpenSecureChannel response signature does not verify");
            bodyStart = securityHeaderEnd;
            bodyEnd = RemovePadding(plain, bodyStart + 8, signedEnd, _clientKey!.KeySize / 8 > 256);
        }
        return Finish(header, plain, bodyStart, bodyEnd, 0);
    }

    private ChannelChunk DecodeSymmetric(byte[] chunk, int length, UaMessageHeader header)
    {
        const int headerSize = UaMessageHeader.Length + 8;
        if (length < headerSize + 8) OpcUaFormatException.Truncated("a symmetric chunk");
        uint tokenId = BinaryPrimitives.ReadUInt32LittleEndian(chunk.AsSpan(12));
        int end = length;
        if (Policy != SecurityPolicy.None)
        {
            if (!_tokens.TryGetValue(tokenId, out var keys))
                OpcUaFormatException.Throw(OpcUaFormatError.BadSequence, $"chunk secured with unknown token {tokenId}");
            if (Encrypts)
            {
                int cipherLength = length - headerSize;
                if (cipherLength % SymmetricKeys.BlockSize != 0)
                    OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, $"{cipherLength} encrypted bytes are not whole AES blocks");
                var plain = new byte[cipherLength];
                keys.Server.Decrypt(chunk.AsSpan(headerSize, cipherLength), plain);
                plain.CopyTo(chunk, headerSize);
            }
            int signedEnd = length - SymmetricKeys.SignatureLength;
            if (signedEnd < headerSize + 8) OpcUaFormatException.Truncated("a signed chunk");
            if (!keys.Server.Verify(chunk.AsSpan(0, signedEnd), chunk.AsSpan(signedEnd, SymmetricKeys.SignatureLength)))
                OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "chunk signature does not verify");
            end = Encrypts ? RemovePadding(chunk, headerSize + 8, signedEnd, false) : signedEnd;
        }
        else if (tokenId != _currentToken && _currentToken != 0)
        {
            OpcUaFormatException.Throw(OpcUaFormatError.BadSequence, $"chunk for token {tokenId}, this channel's token is {_currentToken}");
        }
        return Finish(header, chunk, headerSize, end, tokenId);
    }

    /// <summary>Padding sits between the body and the signature; its last byte (two with extra padding) says how long it is.</summary>
    private static int RemovePadding(byte[] data, int bodyStart, int signedEnd, bool extraPadding)
    {
        int paddingBytes;
        if (extraPadding)
        {
            if (signedEnd - 2 < bodyStart) OpcUaFormatException.Truncated("the padding");
            int size = data[signedEnd - 2] | (data[signedEnd - 1] << 8);
            paddingBytes = size + 2;
        }
        else
        {
            if (signedEnd - 1 < bodyStart) OpcUaFormatException.Truncated("the padding");
            paddingBytes = data[signedEnd - 1] + 1;
        }
        int end = signedEnd - paddingBytes;
        if (end < bodyStart) OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, $"padding of {paddingBytes} bytes is longer than the chunk");
        byte expected = data[end];
        for (int i = end; i < end + paddingBytes - (extraPadding ? 1 : 0); i++)
        {
            if (data[i] != expected) OpcUaFormatException.Throw(OpcUaFormatError.BadSecurity, "padding bytes differ");
        }
        return end;
    }

    private ChannelChunk Finish(UaMessageHeader header, byte[] data, int sequenceStart, int bodyEnd, uint tokenId)
    {
        if (bodyEnd - sequenceStart < 8) OpcUaFormatException.Truncated("the sequence header");
        uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(sequenceStart));
        uint requestId = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(sequenceStart + 4));
        if (_receivedAny)
        {
            bool next = sequence == _receiveSequence + 1 || (_receiveSequence > SequenceWrapAbove && sequence < 1024);
            if (!next) OpcUaFormatException.Throw(OpcUaFormatError.BadSequence, $"sequence number {sequence} after {_receiveSequence}");
        }
        _receivedAny = true;
        _receiveSequence = sequence;
        int bodyStart = sequenceStart + 8;
        return new ChannelChunk(header.Type, header.ChunkType, requestId, tokenId, data.AsMemory(bodyStart, bodyEnd - bodyStart));
    }

    public void Dispose()
    {
        foreach (var (c, s) in _tokens.Values)
        {
            c.Dispose();
            s.Dispose();
        }
        _tokens.Clear();
        _serverKey?.Dispose();
    }
}

/// <summary>
/// Joins chunks into messages per request id, enforcing our limits on message size and chunk
/// count; an abort chunk ends its message with the server's error.
/// </summary>
public sealed class MessageAssembler(int maxMessageSize, int maxChunkCount)
{
    private readonly Dictionary<uint, (List<byte[]> Parts, int Size)> _pending = new();

    /// <summary>
    /// Adds a chunk. Returns true with the whole body when it was the final chunk; for an abort
    /// chunk returns true with <paramref name="aborted"/> set (the body is Error + Reason).
    /// </summary>
    /// <exception cref="OpcUaFormatException">the message grows past the limits.</exception>
    public bool Add(in ChannelChunk chunk, out byte[] message, out bool aborted)
    {
        message = [];
        aborted = chunk.ChunkType == UaMessageHeader.Abort;
        _pending.TryGetValue(chunk.RequestId, out var entry);
        entry.Parts ??= new List<byte[]>();
        if (aborted)
        {
            _pending.Remove(chunk.RequestId);
            message = chunk.Body.ToArray();
            return true;
        }
        entry.Size += chunk.Body.Length;
        entry.Parts.Add(chunk.Body.ToArray());
        if (maxMessageSize > 0 && entry.Size > maxMessageSize)
        {
            _pending.Remove(chunk.RequestId);
            OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"response to request {chunk.RequestId} exceeds {maxMessageSize} bytes");
        }
        if (maxChunkCount > 0 && entry.Parts.Count > maxChunkCount)
        {
            _pending.Remove(chunk.RequestId);
            OpcUaFormatException.Throw(OpcUaFormatError.BadLength, $"response to request {chunk.RequestId} exceeds {maxChunkCount} chunks");
        }
        if (chunk.ChunkType == UaMessageHeader.Intermediate)
        {
            _pending[chunk.RequestId] = entry;
            return false;
        }
        _pending.Remove(chunk.RequestId);
        if (entry.Parts.Count == 1) { message = entry.Parts[0]; return true; }
        message = new byte[entry.Size];
        int at = 0;
        foreach (var p in entry.Parts) { p.CopyTo(message, at); at += p.Length; }
        return true;
    }

    public int Pending => _pending.Count;
}
