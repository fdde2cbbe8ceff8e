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
        public List<string> SidList() => ParseSids(Sids);
    }

    /// <summary>A reply's <see cref="Reply.Sids"/> column (a JSON array, in sending order).</summary>
    public static List<string> ParseSids(string sids) => JsonSerializer.Deserialize<List<string>>(sids) ?? [];

    /// <summary>Those of <paramref name="sids"/> whose status row a reply claimed.</summary>
    public static async Task<HashSet<string>> ClaimedAsync(ChannelDbContext db, IEnumerable<string> sids, CancellationToken ct)
    {
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in sids.Chunk(500))
            claimed.UnionWith(await db.OutboundStatuses.AsNoTracking().Where(s => chunk.Contains(s.MessageSid) && s.ReplyId != null).Select(s => s.MessageSid).ToListAsync(ct));
        return claimed;
    }

    /// <summary>
    /// Those of <paramref name="sids"/> (messages to <paramref name="customer"/>) that a reply other than
    /// <paramref name="replyId"/> sent, as recorded with it when it finished. The lookup takes messages created since
    /// <paramref name="since"/> less a minute of clock skew, and a reply finishes after its messages are created, so only
    /// the replies finished since <paramref name="since"/> less two minutes are read (IX_Replies_Sent). A reply still
    /// sending has recorded nothing yet.
    /// </summary>
    public static async Task<HashSet<string>> SentByOtherRepliesAsync(ChannelDbContext db, long replyId, string customer, IReadOnlyCollection<string> sids, DateTime since, CancellationToken ct)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recorded in await Between(db, since.AddMinutes(-2), DateTime.MaxValue).Where(r => r.Id != replyId && r.To == customer).Select(r => r.Sids).ToListAsync(ct))
            taken.UnionWith(ParseSids(recorded));
        taken.IntersectWith(sids);
        return taken;
    }

    public static IQueryable<Reply> Between(ChannelDbContext db, DateTime from, DateTime until) =>
        db.Replies.AsNoTracking().Where(r => r.FirstSid != null && r.CompletedAt >= from && r.CompletedAt <= until);

    public static IQueryable<Sent> Columns(this IQueryable<Reply> replies) =>
        replies.Select(r => new Sent(r.Id, r.OrgId, r.To, r.From, r.MessagingServiceSid, r.AccountSid, r.Sids, r.CompletedAt!.Value));
}
