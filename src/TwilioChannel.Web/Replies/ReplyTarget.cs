using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>Who a reply goes to and from: the number (or Messaging Service) the customer last wrote to, else the org's
/// default number of the customer's channel.</summary>
internal sealed record ReplyTarget(string CustomerAddress, MessagingChannel Channel, ChannelNumber Number, Conversation? Conversation)
{
    /// <summary>Pools reply through their Messaging Service (Twilio picks the sticky sender); single numbers from themselves.</summary>
    public string? MessagingServiceSid => Number.MessagingServiceSid;

    public string FromDisplay => Number.MessagingServiceSid ?? Number.Address;

    /// <summary>Opt-outs apply per sender: the Messaging Service holding the number, or the number itself.</summary>
    public IEnumerable<string> OptOutKeys => Number.MessagingServiceSid is { } service ? [service, Number.Address] : [Number.Address];

    /// <summary>Compiled once: translating the LINQ on every push was a large part of a push's CPU (profiled).</summary>
    private static readonly Func<ChannelDbContext, string, string, Task<Conversation?>> ConversationByTicket = EF.CompileAsyncQuery(
        (ChannelDbContext db, string orgId, string ticketExtId) => db.Conversations.AsNoTracking().FirstOrDefault(c => c.OrgId == orgId && c.TicketExtId == ticketExtId));

    public static async Task<(ReplyTarget? Target, string? Error)> FindAsync(ChannelDbContext db, Routing.NumberDirectory directory, string orgId, string extParentId, CancellationToken ct)
    {
        var conversation = await ConversationByTicket(db, orgId, extParentId);
        var customer = conversation?.CustomerAddress ?? TicketKey.Parse(extParentId).CustomerAddress;
        var channel = ChannelAddress.Parse(customer).Channel;

        // Numbers come from the in-memory directory (a query per push was a noticeable share of its cost).
        var numbers = await directory.CurrentAsync(db, ct);
        var number = (conversation?.LastNumberId is { } lastId ? numbers.ById(lastId, orgId) : null) ?? numbers.DefaultFor(orgId, channel);
        if (number is null)
            return (null, $"No {ChannelAddress.ChannelName(channel)} number is configured for this Desk org: add one in the admin settings.");
        return (new ReplyTarget(customer, channel, number, conversation), null);
    }
}
