namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>One property to read: object, property, optional array index.</summary>
public readonly record struct PropertyReference(BacnetObjectId Object, int Property, uint? ArrayIndex = null)
{
    public override string ToString()
        => ArrayIndex is uint i ? $"{Object} {BacnetNames.PropertyName(Property)}[{i}]" : $"{Object} {BacnetNames.PropertyName(Property)}";
}

/// <summary>An error class and code (clause 18), as in an Error PDU or a property access error.</summary>
public readonly record struct BacnetError(int Class, int Code)
{
    public override string ToString() => $"{BacnetNames.ErrorClassName(Class)}: {BacnetNames.ErrorCodeName(Code)}";

    public const int ClassObject = 1, ClassProperty = 2, ClassServices = 5;
    public const int CodeUnknownObject = 31, CodeUnknownProperty = 32;
}

/// <summary>
/// What a read returned for one property: its values (one for a primitive property, several
/// for a list or a whole array) or the error the device gave. <see cref="Constructed"/> is set
/// when the value held context-tagged (constructed) parts, which were skipped.
/// </summary>
public sealed class PropertyResult(PropertyReference reference)
{
    public PropertyReference Reference { get; } = reference;
    public List<BacnetValue> Values { get; } = new(1);
    public BacnetError? Error { get; set; }
    public bool Constructed { get; set; }
}

/// <summary>
/// A COV notification (clause 13.15/13.16, confirmed or not): who subscribed (its process id),
/// the device and object, the seconds left of the subscription, and the property values.
/// </summary>
public sealed record CovNotification(uint SubscriberProcessId, int DeviceInstance, BacnetObjectId Object, uint TimeRemaining, IReadOnlyList<PropertyResult> Values);

/// <summary>An I-Am (clause 16.1.2): who the device is and what it can take.</summary>
public readonly record struct IAm(int DeviceInstance, int MaxApdu, int Segmentation, int VendorId)
{
    /// <summary>Segmentation 0 (both) or 1 (transmit): the device can send segmented answers.</summary>
    public bool CanTransmitSegments => Segmentation is 0 or 1;
}

/// <summary>
/// Service data of Who-Is, I-Am, ReadProperty, ReadPropertyMultiple and Error (ASHRAE 135
/// clauses 15.5, 15.7, 16.1, 16.10, 18). Request writers return false when the buffer is
/// too small; readers throw <see cref="BacnetFormatException"/> on malformed data.
/// </summary>
public static class BacnetServices
{
    public const int PresentValue = 85;
    public const int StatusFlags = 111;
    public const int Units = 117;
    public const int ObjectName = 77;

    /// <summary>Who-Is (clause 16.10): the range of device instances that should answer, or everyone.</summary>
    public static bool TryWriteWhoIs(Span<byte> destination, int? lowLimit, int? highLimit, out int written)
    {
        var w = new BacnetWriter(destination);
        w.Byte(0x10);
        w.Byte(BacnetService.WhoIs);
        if (lowLimit is int low && highLimit is int high)
        {
            w.ContextUnsigned(0, (ulong)low);
            w.ContextUnsigned(1, (ulong)high);
        }
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>Reads a Who-Is body (for peers and tests): both limits or none.</summary>
    public static (int? Low, int? High) ReadWhoIs(ReadOnlySpan<byte> serviceData)
    {
        if (serviceData.IsEmpty) return (null, null);
        var r = new BacnetReader(serviceData);
        uint low = r.ReadContextUnsigned(0);
        uint high = r.ReadContextUnsigned(1);
        if (!r.End) BacnetFormatException.Throw("Who-Is has data after its limits");
        if (low > BacnetNames.MaxInstance || high > BacnetNames.MaxInstance) BacnetFormatException.Throw($"Who-Is limits {low}-{high} are out of range");
        return ((int)low, (int)high);
    }

    /// <summary>I-Am service data (after the 2-octet unconfirmed header).</summary>
    public static IAm ReadIAm(ReadOnlySpan<byte> serviceData)
    {
        var r = new BacnetReader(serviceData);
        var id = r.ReadApplication(ApplicationTag.ObjectIdentifier).ObjectId;
        if (id.Type != BacnetObjectId.DeviceType) BacnetFormatException.Throw($"I-Am names {id}, not a device");
        ulong maxApdu = r.ReadApplication(ApplicationTag.Unsigned).Unsigned;
        ulong segmentation = r.ReadApplication(ApplicationTag.Enumerated).Enumerated;
        ulong vendor = r.ReadApplication(ApplicationTag.Unsigned).Unsigned;
        if (maxApdu < 50 || maxApdu > 65535) BacnetFormatException.Throw($"I-Am with max APDU {maxApdu}");
        if (segmentation > 3) BacnetFormatException.Throw($"I-Am with segmentation {segmentation}");
        if (vendor > 65535) BacnetFormatException.Throw($"I-Am with vendor id {vendor}");
        return new IAm(id.Instance, (int)maxApdu, (int)segmentation, (int)vendor);
    }

    /// <summary>An I-Am APDU (for peers and tests).</summary>
    public static bool TryWriteIAm(Span<byte> destination, in IAm iam, out int written)
    {
        var w = new BacnetWriter(destination);
        w.Byte(0x10);
        w.Byte(BacnetService.IAm);
        w.ApplicationObjectId(new BacnetObjectId(BacnetObjectId.DeviceType, iam.DeviceInstance));
        w.ApplicationUnsigned((ulong)iam.MaxApdu);
        w.ApplicationEnumerated((ulong)iam.Segmentation);
        w.ApplicationUnsigned((ulong)iam.VendorId);
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>
    /// SubscribeCOV-Request (clause 13.14.1): [0] subscriber process id, [1] monitored object,
    /// [2] issue confirmed notifications, [3] lifetime in seconds. Without the last two it
    /// cancels the subscription.
    /// </summary>
    public static bool TryWriteSubscribeCov(Span<byte> destination, uint processId, BacnetObjectId monitored, bool? confirmed, uint lifetime, out int written)
    {
        var w = new BacnetWriter(destination);
        w.ContextUnsigned(0, processId);
        w.ContextObjectId(1, monitored);
        if (confirmed is bool c)
        {
            w.Tag(2, true, 1);
            w.Byte(c ? (byte)1 : (byte)0);
            w.ContextUnsigned(3, lifetime);
        }
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>
    /// COV notification service data (clause 13.15.1.1, the same for the unconfirmed one): [0]
    /// process id, [1] initiating device, [2] monitored object, [3] time remaining, [4] list of
    /// BACnetPropertyValue ([0] property, [1] array index, [2] { values }, [3] priority).
    /// </summary>
    public static CovNotification ReadCovNotification(ReadOnlySpan<byte> serviceData)
    {
        var r = new BacnetReader(serviceData);
        uint process = r.ReadContextUnsigned(0);
        var device = r.ReadContextObjectId(1);
        if (device.Type != BacnetObjectId.DeviceType) BacnetFormatException.Throw($"COV notification initiated by {device}, not a device");
        var monitored = r.ReadContextObjectId(2);
        uint remaining = r.ReadContextUnsigned(3);
        r.ExpectOpening(4);
        var values = new List<PropertyResult>(2);
        while (!r.IsNextContext(4, TagKind.Closing))
        {
            if (r.End) BacnetFormatException.Throw("COV notification: list of values is never closed");
            int property = (int)r.ReadContextEnumerated(0);
            uint? index = r.IsNextContext(1) ? r.ReadContextUnsigned(1) : null;
            // BACnetARRAY_ALL (4294967295) as an index means the whole property, as no index does.
            if (index == uint.MaxValue) index = null;
            var result = new PropertyResult(new PropertyReference(monitored, property, index));
            r.ExpectOpening(2);
            ReadValues(ref r, 2, result);
            if (r.IsNextContext(3)) r.ReadContextUnsigned(3);
            values.Add(result);
        }
        r.ExpectClosing(4);
        if (!r.End) BacnetFormatException.Throw("COV notification has data after its values");
        return new CovNotification(process, device.Instance, monitored, remaining, values);
    }

    /// <summary>
    /// WriteProperty-Request (clause 15.9.1.1): [0] object, [1] property, [2] array index, [3] the
    /// value, [4] priority (1-16; for commandable properties, NULL there relinquishes it). Answered
    /// with a Simple-ACK, or an Error.
    /// </summary>
    public static bool TryWriteWriteProperty(Span<byte> destination, in PropertyReference reference, in BacnetValue value, int? priority, out int written)
    {
        if (priority is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(priority), priority, "1 to 16");
        var w = new BacnetWriter(destination);
        w.ContextObjectId(0, reference.Object);
        w.ContextEnumerated(1, (ulong)reference.Property);
        if (reference.ArrayIndex is uint index) w.ContextUnsigned(2, index);
        w.Opening(3);
        w.Application(value);
        w.Closing(3);
        if (priority is int p) w.ContextUnsigned(4, (ulong)p);
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>ReadProperty-Request (clause 15.5.1.1): [0] object, [1] property, [2] array index.</summary>
    public static bool TryWriteReadProperty(Span<byte> destination, in PropertyReference reference, out int written)
    {
        var w = new BacnetWriter(destination);
        w.ContextObjectId(0, reference.Object);
        w.ContextEnumerated(1, (ulong)reference.Property);
        if (reference.ArrayIndex is uint index) w.ContextUnsigned(2, index);
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>
    /// ReadPropertyMultiple-Request (clause 15.7.1.1): one ReadAccessSpecification per run of
    /// references to the same object, in the order given.
    /// </summary>
    public static bool TryWriteReadPropertyMultiple(Span<byte> destination, ReadOnlySpan<PropertyReference> references, out int written)
    {
        var w = new BacnetWriter(destination);
        for (int i = 0; i < references.Length; i++)
        {
            var obj = references[i].Object;
            w.ContextObjectId(0, obj);
            w.Opening(1);
            for (; i < references.Length && references[i].Object == obj; i++)
            {
                w.ContextEnumerated(0, (ulong)references[i].Property);
                if (references[i].ArrayIndex is uint index) w.ContextUnsigned(1, index);
            }
            i--;
            w.Closing(1);
        }
        written = w.Written;
        return !w.Overflowed;
    }

    /// <summary>Octets a ReadPropertyMultiple-Request takes for these references.</summary>
    public static int ReadPropertyMultipleRequestSize(ReadOnlySpan<PropertyReference> references)
    {
        int size = 0;
        for (int i = 0; i < references.Length; i++)
        {
            if (i == 0 || references[i].Object != references[i - 1].Object) size += 5 + 2;
            size += 1 + BacnetWriter.UnsignedLength((ulong)references[i].Property);
            if (references[i].ArrayIndex is uint index) size += 1 + BacnetWriter.UnsignedLength(index);
        }
        return size;
    }

    /// <summary>
    /// A guess of the octets a property's answer takes in a ReadPropertyMultiple-ACK, used to pack
    /// requests: reference, opening and closing tags, and a value (a REAL or a Double for present
    /// values, 4 for status flags, 3 for units, 64 for names and unknown properties).
    /// </summary>
    public static int ExpectedResultSize(in PropertyReference reference)
    {
        int header = 1 + BacnetWriter.UnsignedLength((ulong)reference.Property) + 2
            + (reference.ArrayIndex is uint i ? 1 + BacnetWriter.UnsignedLength(i) : 0);
        int value = reference.Property switch
        {
            PresentValue => 10,
            StatusFlags => 4,
            Units => 3,
            _ => 64,
        };
        return header + value;
    }

    /// <summary>ReadProperty-ACK (clause 15.5.1.3): [0] object, [1] property, [2] index, [3] { values }.</summary>
    public static PropertyResult ReadReadPropertyAck(ReadOnlySpan<byte> serviceData)
    {
        var r = new BacnetReader(serviceData);
        var obj = r.ReadContextObjectId(0);
        int property = (int)r.ReadContextEnumerated(1);
        uint? index = r.IsNextContext(2) ? r.ReadContextUnsigned(2) : null;
        var result = new PropertyResult(new PropertyReference(obj, property, index));
        r.ExpectOpening(3);
        ReadValues(ref r, 3, result);
        if (!r.End) BacnetFormatException.Throw("ReadProperty-ACK has data after its value");
        return result;
    }

    /// <summary>ReadPropertyMultiple-ACK (clause 15.7.1.3): every ReadAccessResult, each property's values or error.</summary>
    public static void ReadReadPropertyMultipleAck(ReadOnlySpan<byte> serviceData, List<PropertyResult> results)
    {
        var r = new BacnetReader(serviceData);
        if (r.End) BacnetFormatException.Throw("empty ReadPropertyMultiple-ACK");
        while (!r.End)
        {
            var obj = r.ReadContextObjectId(0);
            r.ExpectOpening(1);
            while (!r.IsNextContext(1, TagKind.Closing))
            {
                if (r.End) BacnetFormatException.Throw("list of results is never closed");
                int property = (int)r.ReadContextEnumerated(2);
                uint? index = r.IsNextContext(3) ? r.ReadContextUnsigned(3) : null;
                var result = new PropertyResult(new PropertyReference(obj, property, index));
                if (r.IsNextContext(4, TagKind.Opening))
                {
                    r.ExpectOpening(4);
                    ReadValues(ref r, 4, result);
                }
                else if (r.IsNextContext(5, TagKind.Opening))
                {
                    r.ExpectOpening(5);
                    result.Error = ReadErrorBody(ref r);
                    r.ExpectClosing(5);
                }
                else BacnetFormatException.Throw($"{result.Reference}: expected a value [4] or an error [5]");
                results.Add(result);
            }
            r.ExpectClosing(1);
        }
    }

    /// <summary>Application values up to the closing tag <paramref name="closing"/>; constructed parts are skipped and flagged.</summary>
    private static void ReadValues(ref BacnetReader r, byte closing, PropertyResult result)
    {
        while (true)
        {
            if (r.End) BacnetFormatException.Throw($"value of {result.Reference} is never closed");
            var t = r.PeekTag();
            if (t.IsContext && t.Kind == TagKind.Closing && t.Number == closing) { r.ReadTag(); return; }
            if (t.IsContext)
            {
                r.Skip();
                result.Constructed = true;
                continue;
            }
            result.Values.Add(r.ReadApplicationValue());
        }
    }

    /// <summary>The body of an Error PDU (clause 18): error class and code, possibly wrapped in [0] by newer services.</summary>
    public static BacnetError ReadError(ReadOnlySpan<byte> serviceData)
    {
        var r = new BacnetReader(serviceData);
        bool wrapped = r.IsNextContext(0, TagKind.Opening);
        if (wrapped) r.ExpectOpening(0);
        var error = ReadErrorBody(ref r);
        if (wrapped) r.ExpectClosing(0);
        return error;
    }

    private static BacnetError ReadErrorBody(ref BacnetReader r)
    {
        ulong cls = r.ReadApplication(ApplicationTag.Enumerated).Enumerated;
        ulong code = r.ReadApplication(ApplicationTag.Enumerated).Enumerated;
        if (cls > 65535 || code > 65535) BacnetFormatException.Throw($"error class {cls} code {code} out of range");
        return new BacnetError((int)cls, (int)code);
    }
}
