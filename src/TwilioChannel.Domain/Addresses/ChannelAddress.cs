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

    /// <summary>The phone part if it is an E.164 number; null otherwise, e.g. for an alphanumeric sender id. Desk
    /// attaches contacts by phone, so only a real number goes there.</summary>
    public string? E164Phone => IsE164(Phone) ? Phone : null;

    /// <summary>Whether <paramref name="address"/> is a phone customer exactly as Twilio writes one: E.164, bare for SMS or
    /// after "whatsapp:". No spaces, no other prefix or case.</summary>
    public static bool IsPhoneAddress(string address) =>
        IsE164(address.StartsWith(WhatsAppPrefix, StringComparison.Ordinal) ? address.AsSpan(WhatsAppPrefix.Length) : address.AsSpan());

    /// <summary>'+', then up to 15 digits, the first not 0.</summary>
    private static bool IsE164(ReadOnlySpan<char> phone) =>
        phone.Length is >= 3 and <= 16 && phone[0] == '+' && phone[1] is >= '1' and <= '9' && !phone[2..].ContainsAnyExceptInRange('0', '9');

    public static string ChannelName(MessagingChannel channel) => channel == MessagingChannel.WhatsApp ? "WhatsApp" : "SMS";
}
