using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Admin;

/// <summary>
/// GET /api/admin/messages?state=unrouted|routed|received|held&amp;after=&lt;id&gt;&amp;limit=: stored customer messages,
/// oldest first; the next page is after=&lt;the last row's id&gt;. GET /api/admin/messages?status=failed (or any delivery
/// status)&amp;after=&lt;messageSid&gt;&amp;limit=: our replies' messages by delivery status, newest first (by updatedAt,
/// then messageSid), with the reason an agent can act on; the next page is after=&lt;the last row's messageSid&gt;, as
/// both lists hold at most 1000 rows a page (limit, 100 by default). A status row that changes while a script pages
/// moves to the top of the list (or leaves it): the cursor is read again from that row, so the next page can repeat rows
/// but never skips one. A reply's message is listed once Twilio reported a status for it: its first status callback, or
/// for one whose callbacks never came, the reconciliation's refresh a few minutes later (Replies/StatusStore).
/// </summary>
internal static class MessagesApi
{
    public sealed record MessageResponse(long Id, string MessageSid, string AccountSid, string? OrgId, string From, string To, string Body,
        int NumMedia, string Direction, string State, DateTime ReceivedAt);

    /// <param name="Part">Which message of its reply this is (1-based), of <paramref name="Parts"/>: a long reply goes out
    /// as several, and the admin telling the agent what to resend needs to know which one failed. Null for a message
    /// that is no part of a reply's text (a re-engagement template).</param>
    public sealed record OutboundResponse(string MessageSid, string Status, int? ErrorCode, string? ErrorReason, string? To, string? From,
        string? OrgId, string? DeskThreadId, string? ExtParentId, DateTime UpdatedAt, int? Part, int? Parts);

    private static readonly TimeSpan CatchUpBound = TimeSpan.FromSeconds(30);

    public static RouteGroupBuilder MapMessages(this RouteGroupBuilder admin)
    {
        admin.MapGet("/messages", ListAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(ChannelDbContext db, InboundProjector projector, string? state, string? status, string? after, int? limit, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(status)) return await ListOutboundAsync(db, status, after, limit, ct);
        // Every webhook answered before this request is listed: they wait in the inbox for a moment (Twilio/InboundInbox).
        if (!await projector.CaughtUpAsync(CatchUpBound, ct))
            return TypedResults.Problem("Acknowledged webhooks are still being moved into the database; try again shortly.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        var validation = new Validation();
        MessageState? filter = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (Enum.TryParse<MessageState>(state, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsDigit(state[0])) filter = parsed;
            // Named from the enum, so a state added later (held came with backfills) is never missing from the message.
            else validation.Add("state", $"state must be one of: {string.Join(", ", Enum.GetNames<MessageState>().Select(n => n.ToLowerInvariant()))}.");
        }
        if (limit is < 1 or > 1000) validation.Add("limit", "limit must be between 1 and 1000.");
        long afterId = 0;
        if (!string.IsNullOrEmpty(after) && !long.TryParse(after, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out afterId))
            validation.Add("after", "after must be a message id (the last one of the previous page).");
        if (!validation.IsValid) return validation.Problem();

        var query = db.Messages.AsNoTracking().Where(m => m.Id > afterId);
        // A constant, not a parameter: SQLite only uses the partial indexes on State for a literal.
        if (filter is { } f) query = query.Where(m => m.State == EF.Constant(f));
        var page = await query.OrderBy(m => m.Id).Take(limit ?? 100)
            .Select(m => new MessageResponse(m.Id, m.MessageSid, m.AccountSid, m.OrgId, m.From, m.To, m.Body, m.NumMedia, m.Direction,
                m.State.ToString().ToLower(), m.ReceivedAt))
            .ToListAsync(ct);
        return TypedResults.Ok(page);
    }

    private static readonly string[] FailedStatuses = ["failed", "undelivered", "canceled"];

    /// <summary>Twilio's message statuses: any other value matched nothing, so a script polling "faild" or "error" got an
    /// empty list for ever instead of being told.</summary>
    private static readonly string[] TwilioStatuses =
        ["accepted", "scheduled", "queued", "sending", "sent", "delivered", "read", "failed", "undelivered", "canceled", "partially_delivered", "receiving", "received"];

    private static async Task<IResult> ListOutboundAsync(ChannelDbContext db, string status, string? after, int? limit, CancellationToken ct)
    {
        var validation = new Validation();
        if (limit is < 1 or > 1000) validation.Add("limit", "limit must be between 1 and 1000.");
        if (!TwilioStatuses.Contains(status, StringComparer.OrdinalIgnoreCase))
            validation.Add("status", $"status must be one of: {string.Join(", ", TwilioStatuses)} (failed also lists undelivered and canceled).");
        // Keyset paging from the previous page's last row, as state= pages by id: no OFFSET that rows updated meanwhile shift.
        var cursor = default(DateTime?);
        if (validation.IsValid && !string.IsNullOrEmpty(after))
        {
            cursor = await db.OutboundStatuses.AsNoTracking().Where(s => s.MessageSid == after).Select(s => (DateTime?)s.UpdatedAt).FirstOrDefaultAsync(ct);
            if (cursor is null) validation.Add("after", "after must be the messageSid of a listed message (the last one of the previous page).");
        }
        if (!validation.IsValid) return validation.Problem();
        var wanted = status.Equals("failed", StringComparison.OrdinalIgnoreCase) ? FailedStatuses : [status.ToLowerInvariant()];
        // Only ours: a row with neither org nor reply holds a callback for a SID no send of ours has claimed (yet: it
        // came before the send returned, and is claimed a moment later; or never: a SID Twilio or someone else sent).
        var statuses = db.OutboundStatuses.AsNoTracking().Where(s => wanted.Contains(s.Status) && (s.OrgId != null || s.ReplyId != null));
        if (cursor is { } at)
            statuses = statuses.Where(s => s.UpdatedAt < at || (s.UpdatedAt == at && string.Compare(s.MessageSid, after) < 0));
        var rows = await (from s in statuses
                          join r in db.Replies.AsNoTracking() on s.ReplyId equals r.Id into replies
                          from r in replies.DefaultIfEmpty()
                          orderby s.UpdatedAt descending, s.MessageSid descending
                          select new
                          {
                              Row = new OutboundResponse(s.MessageSid, s.Status, s.ErrorCode, s.ErrorReason, s.To, s.From,
                                  s.OrgId ?? (r == null ? null : r.OrgId), r == null ? null : r.DeskThreadId, r == null ? null : r.ExtParentId, s.UpdatedAt, null, null),
                              Sids = r == null ? null : r.Sids,
                          })
            .Take(limit ?? 100).ToListAsync(ct);
        return TypedResults.Ok(rows.Select(x => WithPart(x.Row, x.Sids)));
    }

    private static OutboundResponse WithPart(OutboundResponse row, string? replySids)
    {
        if (replySids is null) return row;
        var sids = System.Text.Json.JsonSerializer.Deserialize<List<string>>(replySids) ?? [];
        var index = sids.IndexOf(row.MessageSid);
        return index < 0 ? row : row with { Part = index + 1, Parts = sids.Count };
    }
}
