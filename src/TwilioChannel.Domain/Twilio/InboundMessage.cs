using TwilioChannel.Domain.Addresses;

namespace TwilioChannel.Domain.Twilio;

public sealed record MediaItem(int Index, string Url, string? ContentType);

public sealed record GeoLocation(string Latitude, string Longitude, string? Address, string? Label);

/// <summary>
/// The fields of a Twilio inbound message webhook that the channel uses. The full form is kept separately (raw),
/// because Twilio adds parameters without notice and we never want to lose what a customer sent.
/// </summary>
public sealed record InboundMessage(
    string MessageSid,
    string AccountSid,
    string From,
    string To,
    string Body,
    string? MessagingServiceSid,
    string? ProfileName,
    string? MessageType,
    string? ButtonText,
    GeoLocation? Location,
    IReadOnlyList<MediaItem> Media,
    DateTime ReceivedAtUtc,
    MessageContext? Context = null)
{
    public MessagingChannel Channel => ChannelAddress.Parse(From).Channel;

    /// <summary>Twilio's upper bound for MediaUrl{N}; anything beyond is ignored by Twilio itself.</summary>
    public const int MaxMedia = 10;

    /// <summary>Reads the message out of the webhook's form fields. Returns null with the missing field names when
    /// the form lacks what every message has (MessageSid, AccountSid, From, To).</summary>
    public static InboundMessage? FromForm(IReadOnlyDictionary<string, string> form, DateTime receivedAtUtc, out IReadOnlyList<string> missing)
    {
        string? Get(string key) => form.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;

        var absent = new List<string>();
        var sid = Get("MessageSid") ?? Get("SmsMessageSid") ?? Get("SmsSid");
        if (sid is null) absent.Add("MessageSid");
        var account = Get("AccountSid");
        if (account is null) absent.Add("AccountSid");
        var from = Get("From");
        if (from is null) absent.Add("From");
        var to = Get("To");
        if (to is null) absent.Add("To");
        missing = absent;
        if (absent.Count > 0) return null;

        var media = new List<MediaItem>();
        for (var i = 0; i < MaxMedia; i++)
        {
            var url = Get($"MediaUrl{i}");
            if (url is null) continue;
            media.Add(new MediaItem(i, url, Get($"MediaContentType{i}")));
        }

        GeoLocation? location = null;
        if (Get("Latitude") is { } lat && Get("Longitude") is { } lon)
            location = new GeoLocation(lat, lon, Get("Address"), Get("Label"));

        return new InboundMessage(
            sid!, account!, from!, to!,
            form.TryGetValue("Body", out var body) ? body : "",
            Get("MessagingServiceSid"), Get("ProfileName"), Get("MessageType"), Get("ButtonText"),
            location, media, DateTime.SpecifyKind(receivedAtUtc, DateTimeKind.Utc), MessageContext.FromForm(Get));
    }
}
