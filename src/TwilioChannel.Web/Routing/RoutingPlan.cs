using System.Text.Json;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>A stored message as the router reads it. <paramref name="Form"/> is the parsed form when the ack path routes
/// what it has just stored (no need to parse the JSON it has just written); null when read back from the database.
/// <paramref name="Direction"/> is "out" only for messages a backfill found that were sent from our number.</summary>
internal sealed record PendingMessage(long Id, string AccountSid, string From, string To, string? MessagingServiceSid, DateTime ReceivedAt, string RawForm,
    IReadOnlyDictionary<string, string>? Form = null, string Direction = "in", InboundMessage? Inbound = null)
{
    public bool Outbound => Direction == "out";

    /// <summary>The customer's address: who the conversation (Desk ticket) is with.</summary>
    public string Customer => Outbound ? To : From;

    /// <summary>Our number (or sender) in the exchange: what routes it to an org.</summary>
    public string OurAddress => Outbound ? From : To;
}

/// <summary>A conversation (Desk ticket) as the batch leaves it: existing (Id set) or new.</summary>
internal sealed class ConversationState
{
    public long? Id { get; set; }
    public required string OrgId { get; init; }
    public required string Customer { get; init; }
    public int Generation { get; init; }
    public required string TicketExtId { get; init; }
    public string? NewTicketJson { get; init; }
    public DateTime CreatedAt { get; init; }
    /// <summary>The createdTime of the ticket's latest thread (Domain/Mapping/ThreadClock); the default for a ticket
    /// whose first message is being planned.</summary>
    public DateTime LastMessageAt { get; set; }
    public DateTime? LastInboundAt { get; set; }
    public long? LastNumberId { get; set; }
    public bool Changed { get; set; }
}

internal sealed record PlannedThread(string ExtId, int Part, int MediaCount, string Json);

internal sealed record PlannedMessage(long MessageId, MessageState State, string? OrgId, ConversationState? Conversation, IReadOnlyList<PlannedThread> Threads);

/// <summary>An SMS STOP or START for one sender; <paramref name="At"/> is when the customer sent it.</summary>
internal sealed record PlannedOptOut(string SenderKey, string Customer, bool OptedOut, DateTime At);

/// <summary>
/// What routing a batch of messages means, worked out before any write lock is taken: the org (by number, else by
/// Messaging Service), the conversation (existing, or a new ticket — also a new generation after
/// Desk:NewTicketAfterHours of silence, when set), the Desk threads (mapped and serialised once, here) and opt-out changes.
/// </summary>
internal sealed class RoutingPlan
{
    private readonly Dictionary<(string Org, string Customer), ConversationState> _conversations;
    /// <summary>The older generations (Desk:NewTicketAfterHours) of each (org, customer) that has them.</summary>
    private readonly Dictionary<(string Org, string Customer), List<ConversationState>> _earlier;
    private readonly int _contentLimit;
    private readonly TimeSpan? _newTicketAfter;

    /// <param name="conversations">Every generation of the customers in the batch.</param>
    public RoutingPlan(IEnumerable<ConversationState> conversations, int contentLimit, double newTicketAfterHours)
    {
        var byCustomer = conversations.GroupBy(c => (c.OrgId, c.Customer)).ToList();
        _conversations = byCustomer.ToDictionary(g => g.Key, g => g.MaxBy(c => c.Generation)!);
        _earlier = byCustomer.Where(g => g.Count() > 1).ToDictionary(g => g.Key, g => g.Where(c => c != _conversations[g.Key]).ToList());
        _contentLimit = contentLimit;
        _newTicketAfter = newTicketAfterHours > 0 ? TimeSpan.FromHours(newTicketAfterHours) : null;
    }

    public List<PlannedMessage> Messages { get; } = [];

    public Dictionary<(string, string), PlannedOptOut> OptOuts { get; } = [];

    /// <summary>Every conversation the plan touches, in the order they started: a batch can start a ticket and, after
    /// Desk:NewTicketAfterHours of silence within the same batch (a backfill's history), its next generation too; both
    /// must be written, the older first.</summary>
    public IEnumerable<ConversationState> Conversations => _touched;

    private readonly List<ConversationState> _touched = [];

    public void Add(PendingMessage message, ChannelNumber? number)
    {
        if (number is null)
        {
            Messages.Add(new PlannedMessage(message.Id, MessageState.Unrouted, null, null, []));
            return;
        }
        var form = message.Form ?? JsonSerializer.Deserialize<Dictionary<string, string>>(message.RawForm) ?? [];
        var inbound = message.Inbound ?? InboundMessage.FromForm(form, message.ReceivedAt, out _)
            ?? throw new InvalidOperationException($"Stored message {message.Id} lacks required fields.");

        // What we sent (found by a backfill) neither opts anyone out nor opens the WhatsApp window.
        if (!message.Outbound) RecordOptOut(inbound, form, number);
        var conversation = ConversationFor(number.OrgId, message.Outbound ? inbound with { From = inbound.To, To = inbound.From, ProfileName = null } : inbound);
        if (!conversation.Changed) _touched.Add(conversation);
        // The number a reply goes from is the one the customer last wrote to. A backfill or reconciliation stores older
        // messages after newer live ones: one to another number (or our own message from it) must not take the
        // conversation back to that number. What we sent only names a number when the customer never wrote.
        var latestInbound = !message.Outbound && (conversation.LastInboundAt is null || message.ReceivedAt >= conversation.LastInboundAt);
        if (latestInbound || conversation.LastNumberId is null) conversation.LastNumberId = number.Id;
        if (latestInbound) conversation.LastInboundAt = message.ReceivedAt;
        conversation.Changed = true;

        var key = new TicketKey(conversation.Customer, conversation.Generation);
        // Not between another message's continuation parts (Domain/Mapping/ThreadClock).
        var start = ThreadClock.Start(inbound.ReceivedAtUtc, conversation.LastMessageAt == default ? null : conversation.LastMessageAt);
        var threads = InboundMapper.Threads(inbound with { ReceivedAtUtc = start }, key, _contentLimit, message.Direction)
            .Select((t, i) => new PlannedThread(t.ExtId, i + 1, i == 0 ? inbound.Media.Count : 0, DeskJson.Serialize(t)))
            .ToList();
        var lastThread = ThreadClock.LastThread(start, threads.Count);
        if (lastThread > conversation.LastMessageAt) conversation.LastMessageAt = lastThread;
        Messages.Add(new PlannedMessage(message.Id, MessageState.Routed, number.OrgId, conversation, threads));
    }

    private ConversationState ConversationFor(string orgId, InboundMessage message)
    {
        _conversations.TryGetValue((orgId, message.From), out var current);
        // A message from before the latest ticket began (a backfill or the reconciliation finds it after the customer
        // wrote again) belongs to the ticket that was open when it was sent; in the latest one Desk showed it before
        // that ticket's own first message, and the ticket it belongs to never got it.
        if (current is not null && message.ReceivedAtUtc < current.CreatedAt && Earlier(orgId, message.From, message.ReceivedAtUtc) is { } earlier)
            return earlier;
        var stale = current is not null && _newTicketAfter is { } silence
            && message.ReceivedAtUtc - current.LastMessageAt > silence;
        if (current is not null && !stale) return current;

        var ticket = new TicketKey(message.From, (current?.Generation ?? 0) + 1);
        var started = new ConversationState
        {
            OrgId = orgId,
            Customer = message.From,
            Generation = ticket.Generation,
            TicketExtId = ticket.ExtId,
            NewTicketJson = DeskJson.Serialize(InboundMapper.Ticket(message, ticket)),
            CreatedAt = message.ReceivedAtUtc,
        };
        _conversations[(orgId, message.From)] = started;
        if (current is not null)
        {
            if (!_earlier.TryGetValue((orgId, message.From), out var older)) _earlier[(orgId, message.From)] = older = [];
            older.Add(current);
        }
        return started;
    }

    /// <summary>The older generation open at <paramref name="sentAt"/>: the latest one begun by then, else the first.</summary>
    private ConversationState? Earlier(string orgId, string customer, DateTime sentAt)
    {
        if (!_earlier.TryGetValue((orgId, customer), out var older) || older.Count == 0) return null;
        return older.Where(c => c.CreatedAt <= sentAt).MaxBy(c => c.Generation) ?? older.MinBy(c => c.Generation);
    }

    /// <summary>
    /// SMS STOP/START, recorded under every sender it concerns: the number it arrived on, the Messaging Service it came
    /// through, and the number's configured service. Twilio blocks both the number and the service after a STOP, and a
    /// reply checks the keys of the sender it uses (Replies/ReplyTarget.OptOutKeys): recorded under the service alone, a
    /// STOP that came through a service missed replies from a number configured without it (found by a black-box
    /// review). A START clears the same keys.
    /// </summary>
    private void RecordOptOut(InboundMessage message, IReadOnlyDictionary<string, string> form, ChannelNumber number)
    {
        if (message.Channel != MessagingChannel.Sms) return;
        var change = OptOutWords.Classify(message.Body, form.GetValueOrDefault("OptOutType"));
        if (change == OptOutChange.None) return;
        foreach (var sender in new[] { number.Address, message.MessagingServiceSid, number.MessagingServiceSid }.OfType<string>().Distinct())
        {
            // The customer's latest word counts, not the one stored last (a backfill's older STOP after a live START).
            if (OptOuts.TryGetValue((sender, message.From), out var planned) && planned.At > message.ReceivedAtUtc) continue;
            OptOuts[(sender, message.From)] = new PlannedOptOut(sender, message.From, change == OptOutChange.OptOut, message.ReceivedAtUtc);
        }
    }
}
