using System.Text.Json.Serialization;

namespace Pattoo.Edge.Forwarding;

/// <summary>System.Text.Json metadata for what forwarders write (reflection is off under AOT).</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class ForwardingJson : JsonSerializerContext;
