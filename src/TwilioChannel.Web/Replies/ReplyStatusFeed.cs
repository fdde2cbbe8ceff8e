using System.Data.Common;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Puts a reply's delivery status in the Desk feed (delivered by import, or served by the pull): the reply's thread
/// restated with the status in extra, and for a failure a notice thread the agent can't miss. Only statuses an agent
/// acts on or is glad to see go to Desk (delivered, read, and the final failures); queued/sending/sent would spend
/// Desk API calls on every reply for nothing.
/// </summary>
internal sealed class ReplyStatusFeed(IOptions<DeskOptions> desk, TimeProvider time)
{
    public static bool IsNotable(string status) => status is "delivered" or "read" || DeliveryStatus.IsFinalFailure(status);

    /// <summary>
    /// Appends the threads for <paramref name="sid"/>'s new status, in the caller's transaction; false when there is
    /// nothing to tell Desk. The reply's thread shows the reply's combined status (Domain DeliveryStatus.OfReply): a
    /// long reply is several messages, and a "delivered" of one part must not hide another part's failure. It is
    /// restated when that combined status changed; <paramref name="previous"/> is the SID's status Desk already heard
    /// of (null: none, e.g. the row just learned its reply).
    /// </summary>
    public async Task<bool> AppendAsync(DbConnection connection, DbTransaction tx, long replyId, string sid, PartStatus? previous, PartStatus current)
    {
        await using var read = await PreparedCommand.CreateAsync(connection, tx, """
            SELECT r."OrgId", r."ExtParentId", r."FirstSid", r."Body", r."CreatedAt", COALESCE(r."From", r."MessagingServiceSid"), r."To", c."Id", r."Sids", r."State"
            FROM "Replies" r JOIN "Conversations" c ON c."OrgId" = r."OrgId" AND c."TicketExtId" = r."ExtParentId"
            WHERE r."Id" = @p0
            """, 1, CancellationToken.None);

        SentReply reply;
        string orgId;
        long conversationId;
        List<string> sids;
        bool threadInDesk;
        await using (var row = await read.ReaderAsync(CancellationToken.None, replyId))
        {
            if (!await row.ReadAsync() || row.IsDBNull(2)) return false;
            orgId = row.GetString(0);
            reply = new SentReply(row.GetString(1), row.GetString(2), row.IsDBNull(3) ? "" : row.GetString(3),
                row.GetUtcDateTime(4), row.IsDBNull(5) ? "" : row.GetString(5), row.IsDBNull(6) ? "" : row.GetString(6));
            conversationId = row.GetInt64(7);
            sids = SentReplies.ParseSids(row.GetString(8));
            // Only a reply the push answered with its first SID is a thread in Desk under that extId. A failed reply's
            // SIDs (the re-engagement template sent instead, the parts sent before a failure) restated as its thread
            // made a second outgoing thread, "[reply]" shown as delivered, beside the reply Desk marked failed.
            threadInDesk = (ReplyState)row.GetInt32(9) == ReplyState.Sent;
        }
        if (!sids.Contains(sid)) sids.Add(sid);

        // Parts count once their row knows the reply (the sender attaches them one by one, in its commit).
        var known = await PartsAsync(connection, tx, replyId);
        var after = DeliveryStatus.OfReply(sids.Select(s => s == sid ? current : known.GetValueOrDefault(s)).ToList());
        var before = DeliveryStatus.OfReply(sids.Select(s => s == sid ? previous : known.GetValueOrDefault(s)).ToList());

        var threads = new List<FeedAppend>();
        if (threadInDesk && after.Status is { } status && IsNotable(status) && (after.Status, after.ErrorCode) != (before.Status, before.ErrorCode))
        {
            var update = ReplyStatusMapper.StatusUpdate(reply, status, after.ErrorCode, after.Reason, desk.Value.ThreadContentLimit);
            threads.AddRange(update.Select((t, i) => new FeedAppend(orgId, conversationId, 0, t.ExtId, i + 1, 0, DeskJson.Serialize(t))));
        }
        if (DeliveryStatus.IsFinalFailure(current.Status))
        {
            var notice = ReplyStatusMapper.DeliveryNotice(reply, sid, current.Reason ?? TwilioErrors.DescribeDelivery(current.Status, current.ErrorCode), time.GetUtcNow().UtcDateTime,
                desk.Value.ThreadContentLimit, sids.IndexOf(sid) + 1, sids.Count);
            threads.Add(new FeedAppend(orgId, conversationId, 0, notice.ExtId, 1, 0, DeskJson.Serialize(notice)));
        }
        await FeedAppender.AppendAsync(connection, tx, threads, CancellationToken.None);
        return threads.Count > 0;
    }

    private static async Task<Dictionary<string, PartStatus>> PartsAsync(DbConnection connection, DbTransaction tx, long replyId)
    {
        await using var read = await PreparedCommand.CreateAsync(connection, tx,
            """SELECT "MessageSid", "Status", "ErrorCode", "ErrorReason" FROM "OutboundStatuses" WHERE "ReplyId" = @p0""", 1, CancellationToken.None);
        await using var row = await read.ReaderAsync(CancellationToken.None, replyId);
        var parts = new Dictionary<string, PartStatus>();
        while (await row.ReadAsync())
            parts[row.GetString(0)] = new PartStatus(row.GetString(1), row.IsDBNull(2) ? null : row.GetInt32(2), row.IsDBNull(3) ? null : row.GetString(3));
        return parts;
    }
}
