using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Replies that sent at least one message, by when they finished (IX_Replies_Sent). A reply's messages have no status
/// row until a callback reports one (Replies/StatusStore), so the readers that must know every message we sent (the
/// reconciliation's status refresh, the backfill's own-reply check) find them here.
/// </summary>
internal static class SentReplies
{
    /// <summary>What those readers need of a reply (not its text or stored answer).</summary>
    public sealed record Sent(long Id, string OrgId, string? To, string? From, string? MessagingServiceSid, string? AccountSid, string Sids, DateTime CompletedAt)
    {
        public List<string> SidList() => JsonSerializer.Deserialize<List<string>>(Sids) ?? [];
    }

    public static IQueryable<Reply> Between(ChannelDbContext db, DateTime from, DateTime until) =>
        db.Replies.AsNoTracking().Where(r => r.FirstSid != null && r.CompletedAt >= from && r.CompletedAt <= until);

    public static IQueryable<Sent> Columns(this IQueryable<Reply> replies) =>
        replies.Select(r => new Sent(r.Id, r.OrgId, r.To, r.From, r.MessagingServiceSid, r.AccountSid, r.Sids, r.CompletedAt!.Value));
}
