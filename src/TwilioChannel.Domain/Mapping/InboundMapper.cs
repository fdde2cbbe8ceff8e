using System.Globalization;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Twilio;

namespace TwilioChannel.Domain.Mapping;

/// <summary>Turns a customer's Twilio message into the Desk ticket it belongs to and the thread(s) that carry it.</summary>
public static class InboundMapper
{
    public const int SubjectLimit = 255;

    /// <summary>What the agent reads: the message's <see cref="Text"/>, then WhatsApp's context about it (ContextLines).</summary>
    public static string Content(InboundMessage m) => Text(m) + ContextTail(m);

    /// <summary>The context lines as they follow the text ("\n" + one per line), or "" when there are none.</summary>
    private static string ContextTail(InboundMessage m)
    {
        var context = ContextLines.For(m);
        return context.Count == 0 ? "" : "\n" + string.Join("\n", context);
    }

    /// <summary>The message itself. Never empty: media-only, location and unknown message types get a readable line.</summary>
    public static string Text(InboundMessage m)
    {
        var body = m.Body ?? "";
        if (m.Location is { } loc)
        {
            var place = string.Join(" — ", new[] { loc.Label, loc.Address }.Where(s => !string.IsNullOrWhiteSpace(s)));
            var link = $"https://www.google.com/maps/search/?api=1&query={loc.Latitude},{loc.Longitude}";
            var line = place.Length > 0 ? $"📍 {place}\n{link}" : $"📍 {loc.Latitude}, {loc.Longitude}\n{link}";
            return string.IsNullOrWhiteSpace(body) ? line : $"{body}\n{line}";
        }
        if (string.IsNullOrWhiteSpace(body) && !string.IsNullOrWhiteSpace(m.ButtonText)) return m.ButtonText!;
        if (!string.IsNullOrWhiteSpace(body)) return body;
        if (m.Media.Count > 0) return AttachmentLine(m.Media);
        return $"[{(string.IsNullOrWhiteSpace(m.MessageType) ? "empty" : m.MessageType)} message]";
    }

    public static string AttachmentLine(IReadOnlyList<MediaItem> media)
    {
        var types = string.Join(", ", media.Select(x => x.ContentType ?? "file"));
        return media.Count == 1 ? $"[attachment: {types}]" : $"[{media.Count} attachments: {types}]";
    }

    /// <summary>"WhatsApp · Ana Souza (+5511987654321): Olá! Preciso…", single line, at most 255 characters.</summary>
    public static string Subject(InboundMessage first)
    {
        var address = ChannelAddress.Parse(first.From);
        var name = DisplayName.Clean(first.ProfileName);
        var who = name is null ? address.Phone : $"{name} ({address.Phone})";
        // The message, not its context lines: "I saw your ad 📣 From an ad…" would crowd the ticket list.
        var text = string.Join(' ', Text(first).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return Shorten($"{ChannelAddress.ChannelName(address.Channel)} · {who}: {text}", SubjectLimit);
    }

    public static SyncActor Actor(InboundMessage m)
    {
        var address = ChannelAddress.Parse(m.From);
        var name = DisplayName.Clean(m.ProfileName) ?? address.Phone;
        return new SyncActor(ExtId.Encode(m.From), name, Phone: address.E164Phone);
    }

    public static SyncTicket Ticket(InboundMessage first, TicketKey key) =>
        new(key.ExtId, Subject(first), first.ReceivedAtUtc, Actor(first), Phone: ChannelAddress.Parse(first.From).E164Phone);

    /// <summary>
    /// The message's threads: one, or ordered continuation parts when the content exceeds Desk's limit. Part n ≥ 2 has
    /// extId "SID#n" and is 1 ms later than the part before, so Desk shows them in order.
    /// </summary>
    public static IReadOnlyList<SyncThread> Threads(InboundMessage m, TicketKey ticket, int contentLimit) => Threads(m, ticket, contentLimit, "in");

    /// <summary>
    /// The same for a message in either direction, as a history backfill finds them: "in" is a customer writing (actor:
    /// the customer), "out" something sent to the customer from our number (actor: our number, From/To as Twilio has them).
    /// </summary>
    public static IReadOnlyList<SyncThread> Threads(InboundMessage m, TicketKey ticket, int contentLimit, string direction)
    {
        var parts = Parts(m, contentLimit);
        var actor = Actor(m);
        var baseId = ExtId.Encode(m.MessageSid);
        var threads = new SyncThread[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            threads[i] = new SyncThread(
                ExtId.Part(baseId, i + 1), ticket.ExtId, m.ReceivedAtUtc.AddMilliseconds(i), parts[i],
                Direction: direction, From: m.From, To: [m.To], Actor: actor, CanReply: true);
        }
        return threads;
    }

    /// <summary>
    /// <see cref="Content"/> in parts of at most <paramref name="contentLimit"/>. The customer's text is split exactly as
    /// it would be alone and the context lines only join its last part when they fit whole; otherwise they start a part of
    /// their own, so a context line is never torn across two threads. The parts still concatenate to Content.
    /// </summary>
    public static IReadOnlyList<string> Parts(InboundMessage m, int contentLimit)
    {
        var parts = ContentSplitter.Split(Text(m), contentLimit).ToList();
        var tail = ContextTail(m);
        if (tail.Length == 0) return parts;
        if (parts[^1].Length + tail.Length <= contentLimit) parts[^1] += tail;
        else parts.AddRange(ContentSplitter.Split(tail, contentLimit));
        return parts;
    }

    public static string Shorten(string text, int limit)
    {
        if (text.Length <= limit) return text;
        var info = new StringInfo(text);
        var cut = 0;
        // Keep whole text elements and leave room for the ellipsis.
        for (var i = 0; i < info.LengthInTextElements; i++)
        {
            var next = cut + StringInfo.GetNextTextElementLength(text, cut);
            if (next > limit - 1) break;
            cut = next;
        }
        return text[..cut].TrimEnd() + "…";
    }
}
