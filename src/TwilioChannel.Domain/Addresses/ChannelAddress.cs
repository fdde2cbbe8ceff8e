namespace TwilioChannel.Domain.Addresses;

public enum MessagingChannel { Sms, WhatsApp }

/// <summary>
/// An address as Twilio writes it: a bare E.164 number for SMS, "whatsapp:+…" for a WhatsApp sender or customer.
/// The raw form is kept verbatim because it is what Twilio signs, routes on and what our ticket extIds are made of.
/// </summary>
public sealed record ChannelAddress(MessagingChannel Channel, string Phone)
{
    public const string WhatsAppPrefix = "whatsapp:";

    /// <summary>The address exactly as Twilio expects it in To/From.</summary>
    public string Value => Channel == MessagingChannel.WhatsApp ? WhatsAppPrefix + Phone : Phone;

    public override string ToString() => Value;

    /// <summary>Splits the channel prefix off; the phone part is returned as given (validation is the caller's job).</summary>
    public static ChannelAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var trimmed = address.Trim();
        return trimmed.StartsWith(WhatsAppPrefix, StringComparison.OrdinalIgnoreCase)
            ? new ChannelAddress(MessagingChannel.WhatsApp, trimmed[WhatsAppPrefix.Length..].Trim())
            : new ChannelAddress(MessagingChannel.Sms, trimmed);
    }

    /// <summary>The phone part if it is an E.164 number ("+" and 7–15 digits, no leading zero); null otherwise, e.g. for
    /// an alphanumeric sender id. Desk attaches contacts by phone, so only a real number goes there.</summary>
    public string? E164Phone =>
        Phone.Length is >= 8 and <= 16 && Phone[0] == '+' && Phone[1] is >= '1' and <= '9' && Phone.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0
            ? Phone
            : null;

    public static string ChannelName(MessagingChannel channel) => channel == MessagingChannel.WhatsApp ? "WhatsApp" : "SMS";
}
