using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Desk;

/// <summary>One feed thread as read for delivery, with the ticket it belongs to.</summary>
internal sealed record FeedEntry(long Id, long Position, long ConversationId, string ExtId, string ThreadJson, string TicketJson);

/// <summary>
/// Reads the feed for Desk, for the pull and for the import alike: the org's next ≤ 1000 threads after a position, in
/// stored order, each with its ticket (tickets are upserts, so repeating one is harmless and a thread never arrives
/// before its ticket). The cost is one index seek plus the page, whatever the size of the history. Thread and ticket
/// JSON were mapped when the message was routed; only attachment URLs are signed now, because they expire.
/// Nothing is returned before it is on disk (Data/WalDurability).
/// </summary>
internal sealed class PullFeed(ChannelDbContext db, MediaTokens media, WalDurability durability)
{
    public async Task<IReadOnlyList<FeedEntry>> ReadAsync(string orgId, long after, string publicBase, CancellationToken ct)
    {
        var threads = await db.FeedThreads.AsNoTracking()
            .Where(t => t.OrgId == orgId && t.Position > after)
            .OrderBy(t => t.Position)
            .Take(SyncObject.MaxThreads)
            .Select(t => new { t.Id, t.Position, t.ConversationId, t.MessageId, t.MediaCount, t.ExtId, t.ThreadJson })
            .ToListAsync(ct);
        if (threads.Count == 0) return [];

        var conversationIds = threads.Select(t => t.ConversationId).Distinct().ToList();
        var tickets = await db.Conversations.AsNoTracking()
            .Where(c => conversationIds.Contains(c.Id))
            .Select(c => new { c.Id, c.TicketJson })
            .ToDictionaryAsync(c => c.Id, c => c.TicketJson, ct);

        // What was read may have been committed without its fsync yet (the ack path's writer defers it): hand nothing
        // out that a power cut could take back, since Desk's cursor would then point past positions given out again.
        await durability.SyncAsync().WaitAsync(ct);

        return threads.Select(t => new FeedEntry(t.Id, t.Position, t.ConversationId, t.ExtId,
            t.MediaCount == 0 || t.MessageId == 0 ? t.ThreadJson : WithAttachments(t.ThreadJson, t.MessageId, t.MediaCount, publicBase),
            tickets[t.ConversationId])).ToList();
    }

    /// <summary>Whether <paramref name="position"/> is one of the org's own threads: one seek on the (OrgId, Position) index.</summary>
    public Task<bool> IsOwnPositionAsync(string orgId, long position, CancellationToken ct) =>
        db.FeedThreads.AsNoTracking().AnyAsync(t => t.OrgId == orgId && t.Position == position, ct);

    /// <summary>The SYNC_OBJECT for <paramref name="entries"/>: their distinct tickets, then the threads in order.</summary>
    public static string Compose(IReadOnlyList<FeedEntry> entries, ChannelState? cursor)
    {
        var json = new StringBuilder(256 + entries.Sum(t => t.ThreadJson.Length + t.TicketJson.Length));
        json.Append('{');
        if (cursor is { } state) json.Append("\"channelState\":").Append(JsonSerializer.Serialize(state.Serialize())).Append(',');
        json.Append("\"data\":{\"tickets\":[");
        var seen = new HashSet<long>();
        foreach (var e in entries)
        {
            if (!seen.Add(e.ConversationId)) continue;
            if (seen.Count > 1) json.Append(',');
            json.Append(e.TicketJson);
        }
        json.Append("],\"threads\":[");
        // A thread restated in the feed (a reply's delivered, then read) can appear twice in one batch: only its latest
        // version goes, in its place. What Desk does with one extId twice in a SYNC_OBJECT is undocumented.
        var latest = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++) latest[entries[i].ExtId] = i;
        var first = true;
        for (var i = 0; i < entries.Count; i++)
        {
            if (latest[entries[i].ExtId] != i) continue;
            if (!first) json.Append(',');
            json.Append(entries[i].ThreadJson);
            first = false;
        }
        json.Append("]}}");
        return json.ToString();
    }

    private string WithAttachments(string threadJson, long messageId, int count, string publicBase)
    {
        var node = JsonNode.Parse(threadJson)!.AsObject();
        var urls = new JsonArray();
        for (var i = 0; i < count; i++) urls.Add($"{publicBase}/media/{media.Create(messageId, i)}");
        node["attachmentUrls"] = urls;
        return node.ToJsonString(Common.DeskJson.Options);
    }
}
