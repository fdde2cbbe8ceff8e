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

    public static string ChannelName(MessagingChannel channel) => channel == MessagingChannel.WhatsApp ? "WhatsApp" : "SMS";
}
