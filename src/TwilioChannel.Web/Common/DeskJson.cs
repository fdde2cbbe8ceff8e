using System.Text.Json;
using System.Text.Json.Serialization;

namespace TwilioChannel.Web.Common;

/// <summary>JSON as Desk spells it: camelCase, nulls left out, non-ASCII kept as is (emoji, accents, RTL text).</summary>
public static class DeskJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
