using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>Finds (or starts) the conversation, i.e. the Desk ticket, a customer's message belongs to.</summary>
internal sealed class ConversationFinder(ChannelDbContext db)
{
    private readonly Dictionary<(string Org, string Customer), Conversation> _current = [];

    public async Task<Conversation> ForAsync(string orgId, InboundMessage message, int newTicketAfterHours, CancellationToken ct)
    {
        var key = (orgId, message.From);
        if (!_current.TryGetValue(key, out var conversation))
        {
            conversation = await db.Conversations
                .Where(c => c.OrgId == orgId && c.CustomerAddress == message.From)
                .OrderByDescending(c => c.Generation)
                .FirstOrDefaultAsync(ct);
        }

        var stale = conversation is not null && newTicketAfterHours > 0
            && message.ReceivedAtUtc - conversation.LastMessageAt > TimeSpan.FromHours(newTicketAfterHours);
        if (conversation is null || stale)
        {
            var ticket = new TicketKey(message.From, (conversation?.Generation ?? 0) + 1);
            conversation = new Conversation
            {
                OrgId = orgId,
                CustomerAddress = message.From,
                Generation = ticket.Generation,
                TicketExtId = ticket.ExtId,
                TicketJson = DeskJson.Serialize(InboundMapper.Ticket(message, ticket)),
                CreatedAt = message.ReceivedAtUtc,
                LastMessageAt = message.ReceivedAtUtc,
            };
            db.Conversations.Add(conversation);
        }
        _current[key] = conversation;
        return conversation;
    }
}
