using System.Data.Common;
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

    /// <summary>Appends the threads for <paramref name="sid"/>'s new status, in the caller's transaction; false when
    /// there is nothing to tell Desk (the SID is not a reply of a conversation we know).</summary>
    public async Task<bool> AppendAsync(DbConnection connection, DbTransaction tx, long replyId, string sid, string status, int? errorCode, string? reason)
    {
        await using var read = await PreparedCommand.CreateAsync(connection, tx, """
            SELECT r."OrgId", r."ExtParentId", r."FirstSid", r."Body", r."CreatedAt", COALESCE(r."From", r."MessagingServiceSid"), r."To", c."Id"
            FROM "Replies" r JOIN "Conversations" c ON c."OrgId" = r."OrgId" AND c."TicketExtId" = r."ExtParentId"
            WHERE r."Id" = @p0
            """, 1, CancellationToken.None);

        SentReply reply;
        string orgId;
        long conversationId;
        await using (var row = await read.ReaderAsync(CancellationToken.None, replyId))
        {
            if (!await row.ReadAsync() || row.IsDBNull(2)) return false;
            orgId = row.GetString(0);
            reply = new SentReply(row.GetString(1), row.GetString(2), row.IsDBNull(3) ? "" : row.GetString(3),
                DateTime.SpecifyKind(row.GetDateTime(4), DateTimeKind.Utc), row.IsDBNull(5) ? "" : row.GetString(5), row.IsDBNull(6) ? "" : row.GetString(6));
            conversationId = row.GetInt64(7);
        }

        var threads = new List<FeedAppend>(2);
        if (sid == reply.FirstSid)
        {
            var update = ReplyStatusMapper.StatusUpdate(reply, status, errorCode, reason);
            threads.Add(new FeedAppend(orgId, conversationId, 0, update.ExtId, 1, 0, DeskJson.Serialize(update)));
        }
        if (DeliveryStatus.IsFinalFailure(status))
        {
            var notice = ReplyStatusMapper.DeliveryNotice(reply, sid, reason ?? TwilioErrors.Describe(errorCode), time.GetUtcNow().UtcDateTime, desk.Value.ThreadContentLimit);
            threads.Add(new FeedAppend(orgId, conversationId, 0, notice.ExtId, 1, 0, DeskJson.Serialize(notice)));
        }
        await FeedAppender.AppendAsync(connection, tx, threads, CancellationToken.None);
        return threads.Count > 0;
    }
}
