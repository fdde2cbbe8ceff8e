using System.Text.Json;
using System.Text.Unicode;

namespace TwilioChannel.Web.Common;

/// <summary>
/// One check of a JSON request body before it is parsed: its bytes are UTF-8 and every escaped string or property name
/// decodes to valid UTF-16. JsonDocument accepts an escaped lone surrogate ("\ud800") and only its GetString throws,
/// InvalidOperationException, wherever a handler happens to read that value: a 500 instead of the endpoint's 400.
/// </summary>
internal static class JsonBody
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private static readonly System.Buffers.SearchValues<byte> JsonWhitespace = System.Buffers.SearchValues.Create(" \t\r\n"u8);

    /// <summary>The request's JSON body, read whole (the body size is bounded: Common/RequestBodyLimit), checked with
    /// <see cref="ThrowIfNotText"/> and parsed; null when the body is empty or only JSON whitespace (a pull's "\n" holds
    /// no params, like an empty body; a caller that needs a payload, the push, refuses null). Throws <see cref="JsonException"/>.</summary>
    public static async Task<JsonDocument?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (IsBlank(body.Span)) return null;
        ThrowIfNotText(body.Span);
        return JsonDocument.Parse(WithoutBom(body));
    }

    /// <summary>The JSON after an optional UTF-8 byte-order mark: JsonDocument.Parse over bytes (unlike over a Stream)
    /// refuses one. A caller that verifies a signature does so over the bytes as received, mark included.</summary>
    public static ReadOnlyMemory<byte> WithoutBom(ReadOnlyMemory<byte> utf8) => utf8.Span.StartsWith(Bom) ? utf8[Bom.Length..] : utf8;

    /// <summary>Nothing but the whitespace JSON allows between tokens (space, tab, CR, LF), after an optional BOM.</summary>
    private static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith(Bom)) utf8 = utf8[Bom.Length..];
        return utf8.IndexOfAnyExcept(JsonWhitespace) < 0;
    }

    /// <summary>Throws <see cref="JsonException"/> when the body is not JSON made of text (a leading BOM is allowed, as
    /// JsonDocument.Parse(Stream) allows it).</summary>
    public static void ThrowIfNotText(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8)) throw new JsonException("The body is not valid UTF-8.");
        if (utf8.StartsWith(Bom)) utf8 = utf8[Bom.Length..];

        var reader = new Utf8JsonReader(utf8);
        while (reader.Read())
        {
            // Unescaped strings are valid already (the bytes are UTF-8); only escapes can make a lone surrogate.
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException ex)
            {
                throw new JsonException($"A string at byte {reader.TokenStartIndex} is not valid text (a lone surrogate escape).", ex);
            }
        }
    }
}
