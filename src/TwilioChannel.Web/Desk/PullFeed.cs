using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// Assembles a SYNC_OBJECT from the feed: the org's next ≤ 1000 threads after the cursor, in stored order, with the
/// ticket of every one of them (tickets are upserts, so repeating one is harmless and a thread never arrives before its
/// ticket). The cost is one index seek plus the page, whatever the size of the history. Thread and ticket JSON were
/// mapped when the message was routed; only attachment URLs are signed now, because they expire.
/// </summary>
internal sealed class PullFeed(ChannelDbContext db, MediaTokens media)
{
    public async Task<string> ReadAsync(string orgId, ChannelState after, string publicBase, CancellationToken ct)
    {
        var threads = await db.FeedThreads.AsNoTracking()
            .Where(t => t.OrgId == orgId && t.Position > after.After)
            .OrderBy(t => t.Position)
            .Take(SyncObject.MaxThreads)
            .Select(t => new { t.Position, t.ConversationId, t.MessageId, t.MediaCount, t.ThreadJson })
            .ToListAsync(ct);

        var conversationIds = threads.Select(t => t.ConversationId).Distinct().ToList();
        var tickets = conversationIds.Count == 0 ? [] : await db.Conversations.AsNoTracking()
            .Where(c => conversationIds.Contains(c.Id))
            .OrderBy(c => c.Id)
            .Select(c => c.TicketJson)
            .ToListAsync(ct);

        var cursor = threads.Count > 0 ? new ChannelState(threads[^1].Position) : after;
        var json = new StringBuilder(256 + threads.Sum(t => t.ThreadJson.Length) + tickets.Sum(t => t.Length));
        json.Append("{\"channelState\":").Append(JsonSerializer.Serialize(cursor.Serialize()));
        json.Append(",\"data\":{\"tickets\":[").AppendJoin(',', tickets).Append("],\"threads\":[");
        for (var i = 0; i < threads.Count; i++)
        {
            if (i > 0) json.Append(',');
            var t = threads[i];
            json.Append(t.MediaCount == 0 ? t.ThreadJson : WithAttachments(t.ThreadJson, t.MessageId, t.MediaCount, publicBase));
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
