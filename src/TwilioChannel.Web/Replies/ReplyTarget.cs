using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>Who a reply goes to and from: the number (or Messaging Service) the customer last wrote to, else the org's
/// default number of the customer's channel.</summary>
internal sealed record ReplyTarget(string CustomerAddress, MessagingChannel Channel, ChannelNumber Number, ReplyTarget.ConversationFacts? Conversation)
{
    /// <summary>Pools reply through their Messaging Service (Twilio picks the sticky sender); single numbers from themselves.</summary>
    public string? MessagingServiceSid => Number.MessagingServiceSid;

    /// <summary>
    /// The address the reply goes from, for Desk ("from" of the push answer and of the reply's thread) and our records:
    /// the number itself also when a Messaging Service sends (the customer wrote to that number, and Twilio's sticky
    /// sender keeps them on it). It was the service's MG SID, which Desk showed as the sender and put in the actor's phone.
    /// </summary>
    public string FromDisplay => Number.Address;

    /// <summary>Opt-outs apply per sender: the Messaging Service holding the number, or the number itself.</summary>
    public IEnumerable<string> OptOutKeys => Number.MessagingServiceSid is { } service ? [service, Number.Address] : [Number.Address];

    /// <summary>
    /// The number the customer last wrote to when an admin has deleted it since: the reply then goes from the org's
    /// default number of the channel. Kept so that the change of sender is visible (a warning in the log, a note in the
    /// push answer's extra) rather than silent: the customer sees the answer come from another number.
    /// </summary>
    public long? ReplacedNumberId { get; init; }

    /// <summary>That number's address, when its deletion was recorded (numbers deleted before the RetiredNumbers migration weren't).</summary>
    public string? ReplacedAddress { get; init; }

    /// <summary>What a reply needs of the customer's conversation: a few columns, not the stored ticket JSON.</summary>
    internal sealed record ConversationFacts(string CustomerAddress, long? LastNumberId, DateTime? LastInboundAt);

    /// <summary>The senders (their opt-out keys) the customer opted out of by SMS; empty on WhatsApp, where opt-outs are
    /// neither recorded nor checked.</summary>
    public required IReadOnlySet<string> OptedOutSenders { get; init; }

    /// <summary>Whether the customer opted out of this reply's sender (its Messaging Service or its number).</summary>
    public bool OptedOut => OptOutKeys.Any(OptedOutSenders.Contains);

    /// <summary>What a reply reads of the database before its target is chosen: the conversation and the opt-outs.</summary>
    internal sealed record Facts(ConversationFacts? Conversation, IReadOnlySet<string> OptedOutSenders);

    /// <summary>For a push taking an earlier claim over: its facts read on a read connection.</summary>
    public static async Task<(ReplyTarget? Target, string? Error)> FindAsync(
        ChannelDbContext db, ReadConnections reads, Routing.NumberDirectory directory, string orgId, string extParentId, CancellationToken ct)
    {
        var facts = await reads.UseAsync(connection => ReadFactsAsync(connection, null, orgId, extParentId));
        return await ResolveAsync(db, directory, orgId, extParentId, facts, ct);
    }

    /// <summary>
    /// Reads a reply's facts, in one prepared statement on a long-lived connection. A first push reads them inside its
    /// claim's (group commit) transaction, on the writer's connection: two read transactions of their own on a read
    /// connection (locks taken, and its page cache dropped after every commit) cost a push more than the statement
    /// there; a push taking an earlier claim over reads them on a read connection (Data/ReadConnections).
    /// The number and the WhatsApp window come from the customer's latest inbound message in the org, whatever ticket
    /// generation it opened (Desk:NewTicketAfterHours): an agent answering in the older ticket is within the window the
    /// customer just opened, and sends from the number the customer last wrote to. Also on a ticket we have no row for
    /// (Desk may hold a "…#3" a restored database lost): the customer is still one we know. Both
    /// lookups are seeks on Conversations' unique indexes. The customer's own opt-outs, of every sender, come along
    /// (usually none, through their index; recorded for SMS only): which of them apply is decided once the sender is
    /// known. The customer is the ticket's (its extId is their address), also when there is no conversation yet.
    /// </summary>
    public static async Task<Facts> ReadFactsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? tx, string orgId, string extParentId)
    {
        await using var query = await PreparedCommand.CreateAsync(connection, tx, """
            SELECT COALESCE(c."CustomerAddress", l."CustomerAddress"), COALESCE(l."LastNumberId", c."LastNumberId"), l."LastInboundAt",
                (SELECT group_concat(x."SenderKey", char(10)) FROM "OptOuts" x WHERE x."CustomerAddress" = @p2 AND x."OptedOut")
            FROM (SELECT 1) AS one
            LEFT JOIN "Conversations" c ON c."OrgId" = @p0 AND c."TicketExtId" = @p1
            LEFT JOIN "Conversations" l ON l."Id" = (
                SELECT o."Id" FROM "Conversations" o
                WHERE o."OrgId" = @p0 AND o."CustomerAddress" = @p2 AND o."LastInboundAt" IS NOT NULL
                ORDER BY o."LastInboundAt" DESC LIMIT 1)
            """, 3, CancellationToken.None);
        await using var row = await query.ReaderAsync(CancellationToken.None, orgId, extParentId, TicketKey.Parse(extParentId).CustomerAddress);
        await row.ReadAsync();
        var conversation = row.IsDBNull(0) ? null : new ConversationFacts(row.GetString(0), row.IsDBNull(1) ? null : row.GetInt64(1), row.GetUtcDateTimeOrNull(2));
        var optedOut = row.IsDBNull(3) ? [] : row.GetString(3).Split('\n').ToHashSet(StringComparer.Ordinal);
        return new Facts(conversation, optedOut);
    }

    public static async Task<(ReplyTarget? Target, string? Error)> ResolveAsync(
        ChannelDbContext db, Routing.NumberDirectory directory, string orgId, string extParentId, Facts facts, CancellationToken ct)
    {
        var conversation = facts.Conversation;
        var customer = conversation?.CustomerAddress ?? TicketKey.Parse(extParentId).CustomerAddress;
        var channel = ChannelAddress.Parse(customer).Channel;

        // Numbers come from the in-memory directory (a query per push was a noticeable share of its cost).
        var numbers = await directory.CurrentAsync(db, ct);
        var last = conversation?.LastNumberId is { } lastId ? numbers.ById(lastId, orgId) : null;
        RetiredNumber? retired = null;
        if (last is null && conversation?.LastNumberId is { } goneId)
        {
            // Deleted since the customer wrote; added again (a new id: numbers are changed by deleting and adding them)
            // it is still the sender they know. A rare path, so a plain query.
            retired = await db.RetiredNumbers.AsNoTracking().FirstOrDefaultAsync(r => r.Id == goneId, ct);
            last = retired is null ? null : numbers.ByAddress(retired.Address, orgId);
        }
        var number = last ?? numbers.DefaultFor(orgId, channel);
        if (number is null)
            return (null, $"No {ChannelAddress.ChannelName(channel)} number is configured for this Desk org: add one in the admin settings.");
        return (new ReplyTarget(customer, channel, number, conversation)
        {
            OptedOutSenders = facts.OptedOutSenders,
            ReplacedNumberId = last is null ? conversation?.LastNumberId : null,
            ReplacedAddress = last is null ? retired?.Address : null,
        }, null);
    }
}
