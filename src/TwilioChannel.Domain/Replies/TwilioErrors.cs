namespace TwilioChannel.Domain.Replies;

/// <summary>Twilio error codes in words an agent can act on (the Desk reply shows them as the failure reason).</summary>
public static class TwilioErrors
{
    private static readonly Dictionary<int, string> Known = new()
    {
        [21610] = "customer opted out (sent STOP); they must send START before you can message them again",
        [21211] = "invalid phone number",
        [21614] = "not a mobile number: it can't receive SMS",
        [21408] = "sending to this country or region is not enabled on the Twilio account",
        [21612] = "Twilio can't route a message from this sender to this number",
        [21606] = "this sender can't send messages to this number",
        [21617] = "message too long",
        [63016] = "WhatsApp 24-hour window closed: the customer must write first, or use an approved template",
        [63003] = "the customer's number is not on WhatsApp",
        [63018] = "WhatsApp rate limit for this sender reached; try again shortly",
        [63024] = "invalid WhatsApp message recipient",
        [63032] = "WhatsApp: the customer can't receive this message (opted out of marketing or blocked)",
        [30003] = "the customer's phone is unreachable (off or out of coverage)",
        [30004] = "the message was blocked (the customer blocked the number or the carrier refused it)",
        [30005] = "unknown number: it no longer exists or is inactive",
        [30006] = "landline or unreachable carrier",
        [30007] = "filtered by the carrier as spam",
        [30008] = "delivery failed for an unknown reason (carrier)",
        [20429] = "Twilio is rate-limiting this account; try again shortly",
        [20003] = "Twilio refused the account's credentials (check the auth token in the admin settings)",
    };

    public static string Describe(int? code, string? twilioMessage = null)
    {
        if (code is { } c && Known.TryGetValue(c, out var words)) return $"{Capitalise(words)} (Twilio error {c}).";
        var detail = string.IsNullOrWhiteSpace(twilioMessage) ? "Twilio refused the message" : twilioMessage.Trim().TrimEnd('.');
        return code is null ? $"{detail}." : $"{detail} (Twilio error {code}).";
    }

    private static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
