using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>
/// The lists GraphQL.SystemTextJson writes through the non-generic <see cref="IEnumerable"/>: a
/// list of scalars that graphql-dotnet took whole (timeseries' <c>timestamps</c> and
/// <c>values</c> arrays), and null lists. System.Text.Json's own converter for it boxes every
/// element and looks up its converter again (2,880 times for a 24 h chart, a third of the
/// request); arrays of longs and doubles are written here directly, anything else as before,
/// element by element by its runtime type.
/// </summary>
internal sealed class ScalarListConverter : JsonConverter<IEnumerable>
{
    public override IEnumerable Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => throw new NotSupportedException("lists are only written");

    public override void Write(Utf8JsonWriter writer, IEnumerable value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        switch (value)
        {
            case long[] longs:
                foreach (long v in longs) writer.WriteNumberValue(v);
                break;
            case double[] doubles:
                foreach (double v in doubles) DecimalDoubleConverter.WriteValue(writer, v);
                break;
            default:
                var element = (JsonTypeInfo<object>)options.GetTypeInfo(typeof(object));
                foreach (object? item in value) JsonSerializer.Serialize(writer, item, element);
                break;
        }
        writer.WriteEndArray();
    }
}
