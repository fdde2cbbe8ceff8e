using System.Text.Json;

namespace TwilioChannel.Domain.Desk;

/// <summary>
/// Our pull cursor as carried in Desk's channelState: <c>{"v":1,"after":N}</c>, N the feed position of the last item
/// served. Desk stores the string we return and sends it back on the next pull; Zoho's own samples show it coming back
/// either as that string or already decoded as an object, so both are read. Anything unreadable means "from the start":
/// re-serving is harmless because Desk upserts by extId.
/// </summary>
public readonly record struct ChannelState(long After)
{
    public const int Version = 1;

    public static ChannelState Start => new(0);

    public string Serialize() => $"{{\"v\":{Version},\"after\":{After}}}";

    public static ChannelState Parse(JsonElement? value)
    {
        if (value is not { } element) return Start;
        return element.ValueKind switch
        {
            JsonValueKind.String => Parse(element.GetString()),
            JsonValueKind.Object => FromObject(element),
            _ => Start,
        };
    }

    public static ChannelState Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Start;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind switch
            {
                JsonValueKind.Object => FromObject(doc.RootElement),
                // A state double-encoded by a client that stringified our string once more.
                JsonValueKind.String => Parse(doc.RootElement.GetString()),
                _ => Start,
            };
        }
        catch (JsonException)
        {
            return Start;
        }
    }

    private static ChannelState FromObject(JsonElement element) =>
        element.TryGetProperty("after", out var after) && after.ValueKind == JsonValueKind.Number && after.TryGetInt64(out var n) && n >= 0
            ? new ChannelState(n)
            : Start;
}
