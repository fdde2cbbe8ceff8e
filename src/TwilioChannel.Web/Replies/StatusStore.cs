using System.Data.Common;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Delivery status per message SID, applied monotonically: callbacks arrive in any order and may come before the send
/// call returned, so every writer (callback or sender) merges into one row with a single upsert whose SET compares
/// ranks — a status only replaces one of lower rank, failed/undelivered/canceled are final and keep their error code.
/// Being one statement, it stays correct with concurrent callbacks and several instances.
/// </summary>
internal sealed class StatusStore(GroupCommit commits, ReplyStatusFeed feed, Routing.FeedWakeup feedWakeup, TimeProvider time)
{
    private const string Upsert = """
        INSERT INTO "OutboundStatuses" ("MessageSid", "Status", "Rank", "ErrorCode", "ErrorReason", "To", "From", "OrgId", "ReplyId", "UpdatedAt")
        VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9)
        ON CONFLICT ("MessageSid") DO UPDATE SET
            "Status" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."Status" ELSE "OutboundStatuses"."Status" END,
            "ErrorCode" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN COALESCE(excluded."ErrorCode", "OutboundStatuses"."ErrorCode") ELSE "OutboundStatuses"."ErrorCode" END,
            "ErrorReason" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN COALESCE(excluded."ErrorReason", "OutboundStatuses"."ErrorReason") ELSE "OutboundStatuses"."ErrorReason" END,
            "UpdatedAt" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."UpdatedAt" ELSE "OutboundStatuses"."UpdatedAt" END,
            "Rank" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."Rank" ELSE "OutboundStatuses"."Rank" END,
            "To" = COALESCE("OutboundStatuses"."To", excluded."To"),
            "From" = COALESCE("OutboundStatuses"."From", excluded."From"),
            "OrgId" = COALESCE("OutboundStatuses"."OrgId", excluded."OrgId"),
            "ReplyId" = COALESCE("OutboundStatuses"."ReplyId", excluded."ReplyId")
        """;

    public async Task ApplyAsync(string sid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId = null)
    {
        if (await commits.RunAsync((connection, tx) => ApplyAsync(connection, tx, sid, status, errorCode, orgId, to, from, replyId)))
            feedWakeup.Notify();
    }

    /// <summary>
    /// The same, inside the caller's transaction. Returns true when the change was also put in the Desk feed (the
    /// caller wakes the delivery after its commit). A status reaches Desk when it moved up, or when the row just
    /// learned its reply (the callback came before the send call returned).
    /// </summary>
    public async Task<bool> ApplyAsync(DbConnection connection, DbTransaction tx, string sid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId)
    {
        status = status.ToLowerInvariant();
        var reason = DeliveryStatus.IsFinalFailure(status) ? TwilioErrors.Describe(errorCode) : null;
        // Reads only when Desk may need to hear of it: a notable status, or the sender attaching its reply to a row a
        // callback created first. The common sender path ("queued" on a new row) stays one statement.
        var notable = ReplyStatusFeed.IsNotable(status);
        var before = notable || replyId is not null ? await ReadAsync(connection, tx, sid) : null;
        await using (var upsert = await PreparedCommand.CreateAsync(connection, tx, Upsert, 10, CancellationToken.None))
            await upsert.ExecuteAsync(CancellationToken.None, sid, status, DeliveryStatus.Rank(status), errorCode, reason, to, from, orgId, replyId, time.GetUtcNow().UtcDateTime);
        if (!notable && before is null) return false;

        var after = await ReadAsync(connection, tx, sid);
        if (after is not { ReplyId: { } reply } || !ReplyStatusFeed.IsNotable(after.Status)) return false;
        var changed = before is null || after.Rank > before.Rank || before.ReplyId is null;
        var heard = before is { ReplyId: not null } ? new PartStatus(before.Status, before.ErrorCode, before.ErrorReason) : null;
        return changed && await feed.AppendAsync(connection, tx, reply, sid, heard, new PartStatus(after.Status, after.ErrorCode, after.ErrorReason));
    }

    private sealed record Row(string Status, int Rank, long? ReplyId, int? ErrorCode, string? ErrorReason);

    private static async Task<Row?> ReadAsync(DbConnection connection, DbTransaction tx, string sid)
    {
        await using var read = await PreparedCommand.CreateAsync(connection, tx,
            """SELECT "Status", "Rank", "ReplyId", "ErrorCode", "ErrorReason" FROM "OutboundStatuses" WHERE "MessageSid" = @p0""", 1, CancellationToken.None);
        await using var row = await read.ReaderAsync(CancellationToken.None, sid);
        if (!await row.ReadAsync()) return null;
        return new Row(row.GetString(0), row.GetInt32(1), row.IsDBNull(2) ? null : row.GetInt64(2), row.IsDBNull(3) ? null : row.GetInt32(3), row.IsDBNull(4) ? null : row.GetString(4));
    }
}
