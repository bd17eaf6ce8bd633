using Pattoo.Edge.Pollers;
using Pattoo.Edge.Protocols.Bacnet;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Bacnet;

/// <summary>
/// Byte vectors for the codec: the examples of ASHRAE 135 Annex F where there is one, a comment
/// per field, every primitive application type, malformed input (one exception type), and a
/// seeded mutation run that must never see another exception.
/// </summary>
public sealed class BacnetCodecTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    [Fact]
    public void ReadPropertyRequestMatchesAnnexF35()
    {
        // F.3.5: ReadProperty of analog-input 5, present-value, invoke id 1.
        Span<byte> apdu = stackalloc byte[32];
        Apdu.TryWriteConfirmedRequestHeader(apdu, invokeId: 1, BacnetService.ReadProperty, maxApduAccepted: 50, maxSegmentsAccepted: 1, out int h);
        Assert.True(BacnetServices.TryWriteReadProperty(apdu[h..], new PropertyReference(new BacnetObjectId(0, 5), 85), out int n));
        Assert.Equal(Hex(
            "00" +          // Confirmed-Request, no segmentation, SA = 0
            "00" +          // max segments unspecified, max APDU 50
            "01" +          // invoke id 1
            "0C" +          // service readProperty (12)
            "0C 00000005" + // [0] object identifier: analog-input (0), instance 5
            "19 55"),       // [1] property identifier: present-value (85)
            apdu[..(h + n)].ToArray());
    }

    [Fact]
    public void WritePropertyRequestMatchesAnnexF39()
    {
        // F.3.9: WriteProperty of analog-value 2, present-value = 180.0 (REAL), invoke id 89.
        Span<byte> apdu = stackalloc byte[32];
        Apdu.TryWriteConfirmedRequestHeader(apdu, invokeId: 89, BacnetService.WriteProperty, maxApduAccepted: 50, maxSegmentsAccepted: 1, out int h);
        Assert.True(BacnetServices.TryWriteWriteProperty(apdu[h..], new PropertyReference(new BacnetObjectId(2, 2), 85), BacnetValue.FromReal(180f), null, out int n));
        Assert.Equal(Hex(
            "00 00 59 0F" +   // Confirmed-Request, max APDU 50, invoke id 89, writeProperty (15)
            "0C 00800002" +   // [0] analog-value (2), instance 2
            "19 55" +         // [1] present-value
            "3E 44 43340000 3F"), // [3] { REAL 180.0 }
            apdu[..(h + n)].ToArray());

        // At a priority, and NULL at a priority to relinquish (clause 19.2).
        Assert.True(BacnetServices.TryWriteWriteProperty(apdu, new PropertyReference(new BacnetObjectId(2, 2), 85), BacnetValue.Null, 8, out n));
        Assert.Equal(Hex("0C 00800002 19 55 3E 00 3F 49 08"), apdu[..n].ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => BacnetServices.TryWriteWriteProperty(new byte[32], new PropertyReference(new BacnetObjectId(2, 2), 85), BacnetValue.Null, 17, out _));
    }

    [Fact]
    public void ReadPropertyAckMatchesAnnexF35()
    {
        var apdu = Hex(
            "30" +           // Complex-ACK, not segmented
            "01" +           // invoke id 1
            "0C" +           // service readProperty
            "0C 00000005" +  // [0] analog-input 5
            "19 55" +        // [1] present-value
            "3E" +           // [3] opening tag
            "44 4290999A" +  // application REAL 72.3
            "3F");           // [3] closing tag
        var header = Apdu.Read(apdu);
        Assert.Equal(PduType.ComplexAck, header.Type);
        Assert.Equal(1, header.InvokeId);
        Assert.Equal(BacnetService.ReadProperty, header.ServiceChoice);
        var result = BacnetServices.ReadReadPropertyAck(apdu.AsSpan(header.Length));
        Assert.Equal("analog-input:5 present-value", result.Reference.ToString());
        Assert.Equal(72.3f, Assert.Single(result.Values).Real);
    }

    [Fact]
    public void ReadPropertyMultipleRequestAndAckMatchAnnexF37()
    {
        // F.3.7: ReadPropertyMultiple of analog-input 16, present-value and reliability; invoke id 241.
        var refs = new[] { new PropertyReference(new BacnetObjectId(0, 16), 85), new PropertyReference(new BacnetObjectId(0, 16), 103) };
        Span<byte> data = stackalloc byte[64];
        Assert.True(BacnetServices.TryWriteReadPropertyMultiple(data, refs, out int n));
        Assert.Equal(Hex(
            "0C 00000010" +  // [0] analog-input 16
            "1E" +           // [1] opening: list of property references
            "09 55" +        // [0] present-value
            "09 67" +        // [0] reliability (103)
            "1F"),           // [1] closing
            data[..n].ToArray());
        Assert.Equal(n, BacnetServices.ReadPropertyMultipleRequestSize(refs));

        var ack = Hex(
            "0C 00000010" +  // [0] analog-input 16
            "1E" +           // [1] opening: list of results
            "29 55" +        // [2] present-value
            "4E 44 4290999A 4F" + // [4] { REAL 72.3 }
            "29 67" +        // [2] reliability
            "4E 91 00 4F" +  // [4] { ENUMERATED 0 no-fault-detected }
            "1F");           // [1] closing
        var results = new List<PropertyResult>();
        BacnetServices.ReadReadPropertyMultipleAck(ack, results);
        Assert.Equal(2, results.Count);
        Assert.Equal(72.3f, results[0].Values[0].Real);
        Assert.Equal(ApplicationTag.Enumerated, results[1].Values[0].Tag);
        Assert.Equal(0UL, results[1].Values[0].Enumerated);
    }

    [Fact]
    public void ReadPropertyMultipleAckCarriesPropertyAccessErrors()
    {
        var ack = Hex(
            "0C 00000063" +  // [0] analog-input 99
            "1E" +
            "29 55" +        // [2] present-value
            "5E 91 01 91 1F 5F" + // [5] { error class object (1), error code unknown-object (31) }
            "1F");
        var results = new List<PropertyResult>();
        BacnetServices.ReadReadPropertyMultipleAck(ack, results);
        Assert.Equal("object: unknown-object", Assert.Single(results).Error.ToString());
    }

    [Fact]
    public void ErrorPduNamesClassAndCode()
    {
        var apdu = Hex("50 01 0C 91 02 91 20"); // Error, invoke 1, readProperty: property (2), unknown-property (32)
        var h = Apdu.Read(apdu);
        Assert.Equal(PduType.Error, h.Type);
        Assert.Equal("property: unknown-property", BacnetServices.ReadError(apdu.AsSpan(h.Length)).ToString());
    }

    [Theory]
    [InlineData("60 07 09", PduType.Reject, "unrecognized-service")]
    [InlineData("71 07 04", PduType.Abort, "segmentation-not-supported")]
    public void RejectAndAbortCarryTheirReason(string hex, PduType type, string reason)
    {
        var h = Apdu.Read(Hex(hex));
        Assert.Equal(type, h.Type);
        Assert.Equal(7, h.InvokeId);
        Assert.Equal(reason, type == PduType.Reject ? BacnetNames.RejectReasonName(h.Reason) : BacnetNames.AbortReasonName(h.Reason));
    }

    [Fact]
    public void WhoIsAndIAmRoundTrip()
    {
        Span<byte> b = stackalloc byte[32];
        Assert.True(BacnetServices.TryWriteWhoIs(b, 3, 3, out int n));
        Assert.Equal(Hex("10 08 09 03 19 03"), b[..n].ToArray()); // Unconfirmed who-Is, [0] low 3, [1] high 3
        Assert.Equal((3, 3), BacnetServices.ReadWhoIs(b[2..n]));

        var iam = Hex(
            "10 00" +        // Unconfirmed-Request, i-Am
            "C4 0200000D" +  // ObjectIdentifier device (8) instance 13
            "22 0400" +      // Unsigned max APDU 1024
            "91 00" +        // Enumerated segmentation both (0)
            "21 63");        // Unsigned vendor 99
        var decoded = BacnetServices.ReadIAm(iam.AsSpan(2));
        Assert.Equal(new IAm(13, 1024, 0, 99), decoded);
        Assert.True(BacnetServices.TryWriteIAm(b, decoded, out n));
        Assert.Equal(iam, b[..n].ToArray());
    }

    [Fact]
    public void DatagramHasBvlcNpduAndRouting()
    {
        Span<byte> d = stackalloc byte[64];
        var route = BacnetRoute.FromMac(5, [0x0A]);
        Assert.True(BacnetDatagrams.TryWrite(d, false, route, true, Hex("00 05 01 0C 0C 00000000 19 55"), out int n));
        Assert.Equal(Hex(
            "81 0A 0016" +   // BVLC: BACnet/IP, Original-Unicast-NPDU, length 22
            "01 24" +        // NPDU version 1, control: DNET present, expecting reply
            "0005 01 0A" +   // DNET 5, DLEN 1, DADR 0x0A (MS/TP station 10)
            "FF" +           // hop count 255
            "00 05 01 0C 0C 00000000 19 55"), d[..n].ToArray());

        var reply = Hex(
            "81 04 001C" +   // BVLC Forwarded-NPDU, length 28
            "C0000201 BAC0" + // originally from 192.0.2.1:47808
            "01 08" +        // NPDU: SNET present
            "0005 01 0A" +   // SNET 5, SLEN 1, SADR 0x0A
            "30 01 0C 0C 00000000 19 55 3E 3F"); // a Complex-ACK with an empty value
        Assert.True(BacnetDatagrams.TryRead(reply, out var m));
        Assert.Equal(BvlcFunction.ForwardedNpdu, m.Bvlc.Function);
        Assert.Equal(0xC0000201u, m.Bvlc.ForwardedAddress);
        Assert.Equal(47808, m.Bvlc.ForwardedPort);
        Assert.Equal(route, m.Npdu.Source);
        Assert.Equal(PduType.ComplexAck, Apdu.Read(reply.AsSpan(m.ApduOffset)).Type);
    }

    public static TheoryData<string, ApplicationTag, string> Primitives => new()
    {
        { "00", ApplicationTag.Null, "null" },
        { "10", ApplicationTag.Boolean, "false" },
        { "11", ApplicationTag.Boolean, "true" },
        { "21 48", ApplicationTag.Unsigned, "72" },                   // 20.2.4
        { "25 05 0102030405", ApplicationTag.Unsigned, "4328719365" }, // extended length 5
        { "24 EE6B2800", ApplicationTag.Unsigned, "4000000000" },
        { "31 48", ApplicationTag.Signed, "72" },                      // 20.2.5
        { "31 B8", ApplicationTag.Signed, "-72" },
        { "33 FE7960", ApplicationTag.Signed, "-100000" },
        { "44 42900000", ApplicationTag.Real, "72" },                  // 20.2.6
        { "55 08 3FF0000000000000", ApplicationTag.Double, "1" },      // 20.2.7
        { "63 123456", ApplicationTag.OctetString, "123456" },         // 20.2.8
        { "75 09 00 5468697320697320", ApplicationTag.CharacterString, "This is " }, // 20.2.9 UTF-8
        { "75 05 05 4772FC6E", ApplicationTag.CharacterString, "Grün" },  // ISO 8859-1
        { "75 05 04 00470072", ApplicationTag.CharacterString, "Gr" },    // UCS-2
        { "82 03 A8", ApplicationTag.BitString, "10101" },             // 20.2.10: 5 bits 10101
        { "91 00", ApplicationTag.Enumerated, "0" },                   // 20.2.11
        { "A4 5B 01 18 04", ApplicationTag.Date, "1991-01-24" },       // 20.2.12 (Thursday)
        { "A4 FF 05 FF FF", ApplicationTag.Date, "*-05-*" },
        { "B4 11 23 2D 11", ApplicationTag.Time, "17:35:45.17" },      // 20.2.13
        { "C4 00C00001", ApplicationTag.ObjectIdentifier, "binary-input:1" }, // 20.2.14: type 3 instance 1
        { "C4 FFC00005", ApplicationTag.ObjectIdentifier, "1023:5" },
    };

    [Theory]
    [MemberData(nameof(Primitives))]
    public void EveryPrimitiveApplicationTypeDecodes(string hex, ApplicationTag tag, string text)
    {
        var bytes = Hex(hex);
        var r = new BacnetReader(bytes);
        var v = r.ReadApplicationValue();
        Assert.True(r.End);
        Assert.Equal(tag, v.Tag);
        Assert.Equal(text, v.ToString());
        // And writes back to the same bytes (UTF-8 strings only: other character sets are read, never written).
        if (tag != ApplicationTag.CharacterString || bytes[2] == 0)
        {
            Span<byte> b = stackalloc byte[32];
            var w = new BacnetWriter(b);
            w.Application(v);
            Assert.Equal(bytes, b[..w.Written].ToArray());
        }
    }

    [Fact]
    public void StatusFlagsBitsReadAsAMaskWithInAlarmAsBit0()
    {
        var r = new BacnetReader(Hex("82 04 50")); // 4 bits used: fault (1) and out-of-service (3)... 0101 = bits 1 and 3
        var v = r.ReadApplicationValue();
        Assert.Equal(4, v.BitLength);
        Assert.Equal(0b1010UL, v.BitMask);
        Assert.Equal(10.0, v.ToDouble());
    }

    public static TheoryData<string, string, string> InvalidData => new()
    {
        { "empty", "", "expected an application value" },
        { "reserved application tag 13", "D1 00", "application tag 13 is reserved" },
        { "content past the end", "24 0102", "needs 4 bytes" },
        { "Null with content", "01 00", "application Null with length 1" },
        { "Boolean value 2", "12", "application Boolean with value 2" },
        { "Unsigned of 0 octets", "20", "Unsigned with length 0" },
        { "Unsigned of 9 octets", "25 09 010203040506070809", "Unsigned with length 9" },
        { "REAL of 3 octets", "43 000000", "REAL with length 3" },
        { "Double of 4 octets", "54 00000000", "Double with length 4" },
        { "CharacterString without charset", "70", "without its character-set octet" },
        { "CharacterString charset 9", "72 09 41", "character set 9 is not defined" },
        { "UCS-2 of odd length", "74 04 004100", "UCS-2 string of 3 octets" },
        { "BitString with 8 unused bits", "82 08 00", "BitString with 8 unused bits" },
        { "BitString unused bits but no octets", "81 03", "BitString with 3 unused bits in 0 octets" },
        { "Date of 3 octets", "A3 010203", "Date with length 3" },
        { "ObjectIdentifier of 2 octets", "C2 0001", "ObjectIdentifier with length 2" },
        { "context tag where a value belongs", "09 55", "expected an application value, got context tag [0]" },
        { "application opening tag", "06", "cannot open or close" },
        { "truncated 16-bit length", "65 FE 00", "16-bit length" },
        { "extended tag number 255", "F9 FF 00", "tag number 255 is reserved" },
    };

    [Theory]
    [MemberData(nameof(InvalidData))]
    public void MalformedValuesThrowOneExceptionType(string description, string hex, string message)
    {
        var e = Assert.Throws<BacnetFormatException>(() => new BacnetReader(Hex(hex)).ReadApplicationValue());
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{description}: {e.Message}");
    }

    public static TheoryData<string, string, string> InvalidDatagrams => new()
    {
        { "too short for BVLC", "81 0A 00", "BVLC header" },
        { "not BACnet/IP", "82 0A 0006 0100", "is not BACnet/IP" },
        { "length disagrees", "81 0A 0009 0100 10 08", "BVLC length 9" },
        { "undefined BVLC function", "81 20 0006 0100", "BVLC function 0x20" },
        { "truncated forwarded address", "81 04 0008 C0000201", "Forwarded-NPDU address" },
        { "NPDU version 2", "81 0A 0008 0200 1008", "NPDU version 2" },
        { "NPDU reserved bits", "81 0A 0008 0140 1008", "sets reserved bits" },
        { "DADR past the end", "81 0A 0009 0120 0005 04", "DNET MAC address" },
        { "SLEN 0", "81 0A 000B 0108 0005 00 1008", "SLEN 0" },
        { "DNET 0", "81 0A 000C 0120 0000 00 FF 1008", "DNET 0" },
        { "no APDU", "81 0A 0006 0100", "NPDU without an APDU" },
    };

    [Theory]
    [MemberData(nameof(InvalidDatagrams))]
    public void MalformedDatagramsThrowOneExceptionType(string description, string hex, string message)
    {
        var e = Assert.Throws<BacnetFormatException>(() => BacnetDatagrams.TryRead(Hex(hex), out _));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{description}: {e.Message}");
    }

    [Fact]
    public void NetworkLayerMessagesAndBvlcResultsAreNotApdus()
    {
        Assert.False(BacnetDatagrams.TryRead(Hex("81 00 0006 0000"), out _)); // BVLC-Result: successful completion
        Assert.True(BacnetDatagrams.TryRead(Hex("81 0B 0009 0180 01 0005"), out var m)); // I-Am-Router-To-Network 5
        Assert.False(m.HasApdu);
        Assert.Equal(1, m.Npdu.NetworkMessageType);
    }

    [Fact]
    public void SegmentsAreAcknowledgedPerWindowAndReassembled()
    {
        var a = new SegmentAssembler(maxWindow: 2);
        Assert.Equal(SegmentAction.Ack, a.Accept(Seg(0, more: true, window: 4), [1, 2]));   // first segment: ACK at once
        Assert.Equal(2, a.ActualWindow);
        Assert.Equal(SegmentAction.Wait, a.Accept(Seg(1, true, 4), [3]));
        Assert.Equal(SegmentAction.Ack, a.Accept(Seg(2, true, 4), [4]));                   // window of 2 complete
        Assert.Equal(2, a.AckSequence);
        Assert.Equal(SegmentAction.NegativeAck, a.Accept(Seg(4, true, 4), [9]));           // 3 was lost
        Assert.Equal(2, a.AckSequence);
        Assert.Equal(SegmentAction.Wait, a.Accept(Seg(3, true, 4), [5]));
        Assert.Equal(SegmentAction.Complete, a.Accept(Seg(4, false, 4), [6]));
        Assert.Equal(4, a.AckSequence);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, a.Data.ToArray());
    }

    [Fact]
    public void ASegmentedAnswerMayNotGrowPastItsLimit()
    {
        var a = new SegmentAssembler(maxWindow: 16, maxBytes: 4);
        a.Accept(Seg(0, true, 1), [1, 2, 3]);
        Assert.Throws<BacnetFormatException>(() => a.Accept(Seg(1, true, 1), [4, 5]));
    }

    private static ApduHeader Seg(byte seq, bool more, byte window)
        => Apdu.Read([(byte)(0x38 | (more ? 0x04 : 0)), 7, seq, window, BacnetService.ReadPropertyMultiple]);

    [Fact]
    public void PlannerPacksReferencesIntoAsFewRequestsAsTheSizesAllow()
    {
        var refs = new List<PropertyReference>();
        for (int i = 0; i < 100; i++)
        {
            refs.Add(new(new BacnetObjectId(0, i), BacnetServices.PresentValue));
            refs.Add(new(new BacnetObjectId(0, i), BacnetServices.StatusFlags));
        }
        Assert.Single(ReadPlanner.Plan(refs.ToArray(), 1476, 1476 * 16));
        var plan = ReadPlanner.Plan(refs.ToArray(), 1476, 480);
        Assert.Equal(refs.Count, plan.Sum(p => p.Count));
        Assert.InRange(plan.Count, 7, 12);
        // Every request fits the device's APDU.
        var small = ReadPlanner.Plan(refs.ToArray(), 50, 1476);
        foreach (var p in small) Assert.True(Apdu.ConfirmedRequestHeaderLength + BacnetServices.ReadPropertyMultipleRequestSize(refs.ToArray().AsSpan(p.Start, p.Count)) <= 50);
    }

    [Theory]
    [InlineData("analog-input:0", 0, 0)]
    [InlineData("multi-state-value:4194303", 19, 4194303)]
    [InlineData("130:7", 130, 7)]
    public void ObjectIdentifiersParseFromTheirStandardNames(string text, int type, int instance)
    {
        Assert.True(BacnetObjectId.TryParse(text, out var id));
        Assert.Equal(new BacnetObjectId(type, instance), id);
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("analog_input:0")]
    [InlineData("analog-input")]
    [InlineData("analog-input:4194304")]
    [InlineData("1024:1")]
    [InlineData("analog-input:-1")]
    public void BadObjectIdentifiersAreRefused(string text) => Assert.False(BacnetObjectId.TryParse(text, out _));

    /// <summary>
    /// Seeded mutations of valid datagrams through every decoder the poller uses: only
    /// <see cref="BacnetFormatException"/> may escape, and every call returns.
    /// </summary>
    /// <summary>An unconfirmed COV notification: process 5, device 1234, analog-input:0, 10 s left, present value 21.75 and status flags.</summary>
    private const string CovNotificationDatagram = "810A0028 0100 1002 0905 1C020004D2 2C00000000 390A 4E 0955 2E 4441AE0000 2F 096F 2E 820400 2F 4F";

    [Fact]
    public void CovNotificationsAreReadAndSubscriptionsWritten()
    {
        var d = Hex(CovNotificationDatagram);
        Assert.True(BacnetDatagrams.TryRead(d, out var m));
        var apdu = d.AsSpan(m.ApduOffset);
        var h = Apdu.Read(apdu);
        Assert.Equal((PduType.UnconfirmedRequest, BacnetService.UnconfirmedCovNotification), (h.Type, h.ServiceChoice));
        var n = BacnetServices.ReadCovNotification(apdu[h.Length..]);
        Assert.Equal((5u, 1234, "analog-input:0", 10u), (n.SubscriberProcessId, n.DeviceInstance, n.Object.ToString(), n.TimeRemaining));
        Assert.Equal(21.75, n.Values[0].Values[0].ToDouble());
        Assert.Equal(BacnetServices.StatusFlags, n.Values[1].Reference.Property);

        var buffer = new byte[32];
        Assert.True(BacnetServices.TryWriteSubscribeCov(buffer, 5, new BacnetObjectId(0, 0), confirmed: true, 600, out int written));
        Assert.Equal("09051C0000000029013A0258", Convert.ToHexString(buffer, 0, written)); // [0] 5, [1] analog-input:0, [2] true, [3] 600
        Assert.True(BacnetServices.TryWriteSubscribeCov(buffer, 5, new BacnetObjectId(0, 0), confirmed: null, 0, out written));
        Assert.Equal("09051C00000000", Convert.ToHexString(buffer, 0, written)); // a cancellation: no [2], no [3]
    }

    [Fact]
    public void MutatedDatagramsOnlyEverThrowTheFormatException()
    {
        var seeds = new[]
        {
            Hex("810A0017 0100 30010C0C000000001955 3E44415800003F"),
            Hex("810A0025 0100 30010E 0C00000010 1E 2955 4E444290999A4F 2967 4E91004F 1F 0C00000063 1E"),
            Hex("810B0014 0120FFFF00FF 1000C40200000D22040091002163"),
            Hex("8104001A C0000201BAC0 0108 0005010A 30010C0C000000001955 3E3F"),
            Hex("810A000D 0100 3C07 0204 0E 1E29554E"),
            Hex("810A000C 0100 50010C91029120"),
            Hex(CovNotificationDatagram),
        };
        var random = new Random(6);
        var results = new List<PropertyResult>();
        int formatErrors = 0;
        for (int i = 0; i < 200_000; i++)
        {
            var d = (byte[])seeds[random.Next(seeds.Length)].Clone();
            int edits = random.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                switch (random.Next(4))
                {
                    case 0: d[random.Next(d.Length)] = (byte)random.Next(256); break;
                    case 1: d[random.Next(d.Length)] ^= (byte)(1 << random.Next(8)); break;
                    case 2: Array.Resize(ref d, random.Next(d.Length + 1)); break;
                    default:
                        var longer = new byte[d.Length + random.Next(1, 8)];
                        random.NextBytes(longer);
                        d.CopyTo(longer, 0);
                        d = longer;
                        break;
                }
                if (d.Length == 0) break;
            }
            if (d.Length >= 4) { d[2] = (byte)(d.Length >> 8); d[3] = (byte)d.Length; } // keep the BVLC length mostly right, to reach deeper layers
            try
            {
                if (!BacnetDatagrams.TryRead(d, out var m) || !m.HasApdu) continue;
                var apdu = d.AsSpan(m.ApduOffset);
                var h = Apdu.Read(apdu);
                var body = apdu[h.Length..];
                results.Clear();
                switch (h.Type)
                {
                    case PduType.ComplexAck when h.Segmented:
                        new SegmentAssembler(16, 4096).Accept(h, body);
                        break;
                    case PduType.ComplexAck when h.ServiceChoice == BacnetService.ReadProperty:
                        BacnetServices.ReadReadPropertyAck(body);
                        break;
                    case PduType.ComplexAck:
                        BacnetServices.ReadReadPropertyMultipleAck(body, results);
                        break;
                    case PduType.Error:
                        BacnetServices.ReadError(body);
                        break;
                    case PduType.UnconfirmedRequest when h.ServiceChoice == BacnetService.UnconfirmedCovNotification:
                        results.AddRange(BacnetServices.ReadCovNotification(body).Values);
                        break;
                    case PduType.UnconfirmedRequest:
                        BacnetServices.ReadIAm(body);
                        break;
                }
                foreach (var r in results) foreach (var v in r.Values) _ = v.ToString();
            }
            catch (BacnetFormatException)
            {
                formatErrors++;
            }
        }
        Assert.InRange(formatErrors, 10_000, 200_000); // the mutations do reach the decoders
    }
}

/// <summary>The shipped sample and the section's defaults.</summary>
public sealed class BacnetOptionsTests
{
    [Fact]
    public void TheSampleBindsWithTheDocumentedDefaults()
    {
        var options = BacnetTestSupport.Bind(File.ReadAllText(RepoPaths.Combine("src", "Pattoo.Edge.Pollers", "Bacnet", "sample.toml")), "sample.toml");
        Assert.Equal(47808, options.LocalPort);
        Assert.Equal("255.255.255.255:47808", options.BroadcastAddress.ToString());
        Assert.Equal(1476, options.MaxApduAccepted);
        var device = Assert.Single(options.Devices);
        Assert.Equal(1, options.TargetCount);
        Assert.Equal(TimeSpan.FromSeconds(30), device.Interval);
        Assert.Equal(TimeSpan.FromSeconds(3), device.Timeout);
        Assert.Equal(2, device.Retries);
        Assert.Equal(4, device.Objects.Count);
        Assert.All(device.Objects, o => Assert.True(o.StatusFlags));
    }

    [Fact]
    public void AnAbsentSectionBindsToNoTargets()
    {
        var options = BacnetTestSupport.Bind("[linux]\nenabled = true\n");
        Assert.Equal(0, options.TargetCount);
        Assert.Empty(options.CreateTargets(new PollerContext("box", "/nonexistent")));
    }
}
