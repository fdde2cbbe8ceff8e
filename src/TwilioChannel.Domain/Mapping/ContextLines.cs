using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Twilio;

namespace TwilioChannel.Domain.Mapping;

/// <summary>
/// Short lines under the customer's text that tell the agent what WhatsApp knows about the message: which ad it came
/// from, which message it answers, whether it was forwarded. They follow the text (as a location's lines do), so what
/// the customer wrote always starts the first thread, unchanged; long content is split into continuation threads,
/// never cut, so these lines cannot push any of it out.
/// </summary>
public static class ContextLines
{
    /// <summary>Ad texts are written by the business, not the customer, and can be long: one line each, this long at most.</summary>
    public const int AdTextLimit = 200;

    public static IReadOnlyList<string> For(InboundMessage m)
    {
        if (m.Context is not { } c) return [];
        var lines = new List<string>(3);
        if (c.FrequentlyForwarded) lines.Add("↪ Frequently forwarded message");
        else if (c.Forwarded) lines.Add("↪ Forwarded message");
        // Not for a button reply: it always answers the message its button was on, its content is the button's text
        // (issue 2: "button replies as the button text"), and the bare SID would tell the agent nothing more.
        if (c.RepliedToSid is { } sid && string.IsNullOrEmpty(m.ButtonText)) lines.Add($"↩ In reply to {Whose(c.RepliedToSender, m)}message {OneLine(sid)}");
        if (c.Referral is { } ad) lines.AddRange(Ad(ad));
        return lines;
    }

    // "our" when the customer answers what we sent (Twilio names our number as the sender), "their" for their own.
    private static string Whose(string? sender, InboundMessage m)
    {
        if (sender is null) return "";
        var phone = ChannelAddress.Parse(sender).Phone;
        if (phone == ChannelAddress.Parse(m.To).Phone) return "our ";
        if (phone == ChannelAddress.Parse(m.From).Phone) return "their own ";
        return "";
    }

    // "📣 From an ad: Summer sale — https://fb.me/x (ad 120210)", then the ad's text when it says more than the headline.
    private static IEnumerable<string> Ad(AdReferral ad)
    {
        var headline = OneLine(ad.Headline);
        var what = string.Join(" — ", new[] { headline, OneLine(ad.SourceUrl) }.Where(s => s is not null));
        var source = OneLine(string.Join(' ', new[] { ad.SourceType, ad.SourceId }.Where(s => s is not null)));
        var line = "📣 From an ad" + (what.Length > 0 ? ": " + what : "") + (source is null ? "" : $" ({source})");
        yield return line;
        if (OneLine(ad.Body) is { } body && body != headline) yield return "Ad text: " + body;
    }

    // Context fields are someone else's text shown as one short line: no line breaks, no bidi controls reordering it.
    private static string? OneLine(string? text)
    {
        var clean = DisplayName.Clean(text);
        if (clean is null) return null;
        return InboundMapper.Shorten(string.Join(' ', clean.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)), AdTextLimit);
    }
}
