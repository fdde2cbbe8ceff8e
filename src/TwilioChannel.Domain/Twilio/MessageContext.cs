namespace TwilioChannel.Domain.Twilio;

/// <summary>The click-to-WhatsApp ad a conversation started from (Twilio's Referral* fields).</summary>
public sealed record AdReferral(string? Headline, string? Body, string? SourceUrl, string? SourceType, string? SourceId);

/// <summary>
/// What WhatsApp tells us about a message besides its text: the ad it came from, the earlier message it answers, and
/// whether it was forwarded. Null when the form carries none of it (every SMS, most WhatsApp messages). The click id
/// (ReferralCtwaClid) and the ad's media are left in the raw form: they serve ad attribution, not the agent, and
/// ReferralMediaUrl is a Twilio URL an agent could not open anyway.
/// </summary>
public sealed record MessageContext(AdReferral? Referral, string? RepliedToSid, string? RepliedToSender, bool Forwarded, bool FrequentlyForwarded)
{
    public static MessageContext? FromForm(Func<string, string?> get)
    {
        AdReferral? referral = null;
        // ReferralNumMedia=0 comes with every WhatsApp message, ad or not: only text fields mean there was an ad.
        var headline = get("ReferralHeadline");
        var body = get("ReferralBody");
        var url = get("ReferralSourceUrl");
        var type = get("ReferralSourceType");
        var id = get("ReferralSourceId");
        if ((headline ?? body ?? url ?? type ?? id) is not null) referral = new AdReferral(headline, body, url, type, id);

        var context = new MessageContext(
            referral, get("OriginalRepliedMessageSid"), get("OriginalRepliedMessageSender"),
            IsTrue(get("Forwarded")), IsTrue(get("FrequentlyForwarded")));
        return context is { Referral: null, RepliedToSid: null, Forwarded: false, FrequentlyForwarded: false } ? null : context;
    }

    // Twilio writes "true"; anything else (absent, "false", garbage) means not forwarded.
    private static bool IsTrue(string? value) => bool.TryParse(value?.Trim(), out var b) && b;
}
