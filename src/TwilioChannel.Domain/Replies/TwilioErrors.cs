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
        // The usual late failures of US SMS since carriers enforce registration, and Meta's filter on marketing
        // templates (the re-engagement template may be one).
        [30032] = "the sending toll-free number isn't verified, so carriers block its messages",
        [30034] = "the sending number isn't registered for US A2P 10DLC messaging, so carriers block its messages",
        [63049] = "Meta chose not to deliver this WhatsApp marketing message",
        [20429] = "Twilio is rate-limiting this account; try again shortly",
        [20003] = "Twilio refused the account's credentials (check the auth token in the admin settings)",
    };

    public static string Describe(int? code, string? twilioMessage = null)
    {
        if (code is { } c && Known.TryGetValue(c, out var words)) return $"{Capitalise(words)} (Twilio error {c}).";
        var detail = string.IsNullOrWhiteSpace(twilioMessage) ? "Twilio refused the message" : twilioMessage.Trim().TrimEnd('.');
        return code is null ? $"{detail}." : $"{detail} (Twilio error {code}).";
    }

    /// <summary>
    /// A failure Twilio reported after accepting the message (a status callback's failed, undelivered or canceled):
    /// known codes in plain words, else what happened, never "refused" (the create call was accepted).
    /// </summary>
    public static string DescribeDelivery(string status, int? code)
    {
        if (code is { } c && Known.TryGetValue(c, out var words)) return $"{Capitalise(words)} (Twilio error {c}).";
        var what = string.Equals(status, "canceled", StringComparison.OrdinalIgnoreCase) ? "The message was canceled before it was sent" : "The message was not delivered";
        return code is null ? $"{what}." : $"{what} (Twilio error {code}).";
    }

    private static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
