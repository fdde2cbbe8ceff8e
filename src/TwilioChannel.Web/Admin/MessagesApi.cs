using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Admin;

/// <summary>GET /api/admin/messages?state=unrouted|routed|received&amp;after=&lt;id&gt;&amp;limit=: stored messages, oldest first.</summary>
internal static class MessagesApi
{
    public sealed record MessageResponse(long Id, string MessageSid, string AccountSid, string? OrgId, string From, string To, string Body,
        int NumMedia, string Direction, string State, DateTime ReceivedAt);

    public static RouteGroupBuilder MapMessages(this RouteGroupBuilder admin)
    {
        admin.MapGet("/messages", ListAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(ChannelDbContext db, string? state, long? after, int? limit, CancellationToken ct)
    {
        var validation = new Validation();
        MessageState? filter = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (Enum.TryParse<MessageState>(state, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsDigit(state[0])) filter = parsed;
            else validation.Add("state", "state must be one of: unrouted, routed, received.");
        }
        if (limit is < 1 or > 1000) validation.Add("limit", "limit must be between 1 and 1000.");
        if (!validation.IsValid) return validation.Problem();

        var query = db.Messages.AsNoTracking().Where(m => m.Id > (after ?? 0));
        if (filter is { } f) query = query.Where(m => m.State == f);
        var page = await query.OrderBy(m => m.Id).Take(limit ?? 100)
            .Select(m => new MessageResponse(m.Id, m.MessageSid, m.AccountSid, m.OrgId, m.From, m.To, m.Body, m.NumMedia, m.Direction,
                m.State.ToString().ToLower(), m.ReceivedAt))
            .ToListAsync(ct);
        return TypedResults.Ok(page);
    }
}
