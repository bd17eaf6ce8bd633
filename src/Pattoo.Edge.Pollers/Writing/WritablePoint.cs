using System.Globalization;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Writing;

/// <summary>A value written to, or read back from, a device point: a number, or a text for string points.</summary>
public readonly record struct PointValue(double Number, string? Text = null)
{
    public bool IsText => Text is not null;

    public static PointValue Of(double number) => new(number);
    public static PointValue Of(string text) => new(0, text);

    /// <summary>As the audit trail and the API show it: "21.5", "1", "auto".</summary>
    public override string ToString() => Text ?? Number.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Equal as the device reports them: texts exactly, numbers within float32 rounding (a REAL point keeps 7 digits).</summary>
    public bool Matches(PointValue other)
    {
        if (IsText || other.IsText) return Text == other.Text;
        if (Number == other.Number) return true;
        double scale = Math.Max(Math.Abs(Number), Math.Abs(other.Number));
        return Math.Abs(Number - other.Number) <= scale * 1e-6;
    }
}

/// <summary>What kind of value a writable point takes, which decides the limits it may have.</summary>
public enum WriteKind
{
    /// <summary>Any number (float registers, REAL, Double): min/max or allowed.</summary>
    Number,
    /// <summary>Whole numbers only (integer registers, INTEGER OIDs): min/max or allowed.</summary>
    Integer,
    /// <summary>0 or 1 (coils, binary objects, Boolean nodes).</summary>
    Bool,
    /// <summary>Text (string registers, OCTET STRING OIDs): allowed is required.</summary>
    Text,
}

/// <summary>
/// A point the config declares writable (<c>writable = true</c>), with its limits. Nothing else
/// can be written: the write service finds a point only through a target's
/// <see cref="IWritableTarget.WritablePoints"/>, by the checksum of the series it is stored as.
/// </summary>
/// <param name="Series">The series the poller stores the point's value as: the datapoint a write names.</param>
/// <param name="Limits">What a write may set.</param>
/// <param name="Address">Where it is on the device, for the audit trail and errors: "holding 40 (uint16)", "analog-value:1 priority 8".</param>
/// <param name="CanRelinquish">True for BACnet points (a write at a priority can be released); false elsewhere.</param>
/// <param name="Index">The point's position in its target's own list (the target's business).</param>
public sealed record WritablePoint(SeriesKey Series, WriteLimits Limits, string Address, bool CanRelinquish, int Index);

/// <summary>
/// A poll target some of whose points may be written. Its methods share the target's
/// connection with its polls (one request at a time), and throw what its polls throw for a
/// dead device; an answer refusing the request is a <see cref="DeviceRefusedException"/>.
/// </summary>
public interface IWritableTarget
{
    /// <summary>The points its config declares writable; empty when none are.</summary>
    IReadOnlyList<WritablePoint> WritablePoints { get; }

    /// <summary>Reads what the device reports for the point now (before a write, and to read it back).</summary>
    Task<PointValue> ReadPointAsync(WritablePoint point, CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="value"/> (already checked against the limits) to the device.</summary>
    /// <exception cref="ArgumentException">the value cannot be sent as the point's type (a step between two register values, too long a text); nothing was sent.</exception>
    Task WritePointAsync(WritablePoint point, PointValue value, CancellationToken cancellationToken);

    /// <summary>Releases this box's command on the point (BACnet: writes NULL at its priority).</summary>
    /// <exception cref="NotSupportedException">the protocol has no such thing.</exception>
    Task RelinquishPointAsync(WritablePoint point, CancellationToken cancellationToken)
        => throw new NotSupportedException($"relinquish is a BACnet command; {point.Series.Agent.Program} points have no priorities to release (write the value you want instead)");
}

/// <summary>The device answered, and refused the request (a Modbus exception, a BACnet error, a Bad OPC UA status, an SNMP error-status).</summary>
public sealed class DeviceRefusedException(string message, Exception? inner = null) : Exception(message, inner);
