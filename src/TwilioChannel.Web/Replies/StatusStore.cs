using System.Data.Common;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Delivery status per message SID, applied monotonically: callbacks arrive in any order and may come before the send
/// call returned, so every writer (a callback, a reply's outcome claiming callbacks that came first, the
/// reconciliation) merges into one row with a single upsert whose SET compares ranks — a status only replaces one of
/// lower rank, failed/undelivered/canceled are final and keep their error code. Being one statement, it stays correct
/// with concurrent callbacks and several instances. A row exists once a status was reported: a reply's outcome writes
/// none of its own (<see cref="ApplyCallbackAsync"/>, <see cref="RecordUnreportedAsync"/>).
/// Every writer names the Twilio account the status comes from, and a row keeps one: the sending number's once a reply
/// claims the SID, else the account whose signed callback reported it first. The callback's signature only proves who
/// sent it, not that the SID is theirs: another tenant's account configured here could otherwise sign a callback for
/// our reply's SID and mark it failed or delivered. Twilio signs a message's callbacks with its own account's token, so
/// a status from another account than the row's is never Twilio's and changes nothing. Before the claim we can't tell
/// which of two reporting accounts is genuine, so the first keeps the row and the claim drops it if it was the wrong
/// one; a genuine status refused meanwhile is fetched again by History/ReconcileJob (replies short of delivered).
/// </summary>
internal sealed class StatusStore(GroupCommit commits, ReadConnections reads, ReplyStatusFeed feed, Routing.FeedWakeup feedWakeup, Common.RefusalLog refusals, TimeProvider time)
{
    private const string Insert = """
        INSERT INTO "OutboundStatuses" ("MessageSid", "Status", "Rank", "ErrorCode", "ErrorReason", "To", "From", "OrgId", "ReplyId", "UpdatedAt", "AccountSid")
        VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10)
        """;

    /// <summary>A row for a SID nobody reported yet, else nothing.</summary>
    private const string InsertNew = Insert + """ ON CONFLICT ("MessageSid") DO NOTHING""";

    private const string Upsert = Insert + """
         ON CONFLICT ("MessageSid") DO UPDATE SET
            "Status" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."Status" ELSE "OutboundStatuses"."Status" END,
            "ErrorCode" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN COALESCE(excluded."ErrorCode", "OutboundStatuses"."ErrorCode") ELSE "OutboundStatuses"."ErrorCode" END,
            "ErrorReason" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN COALESCE(excluded."ErrorReason", "OutboundStatuses"."ErrorReason") ELSE "OutboundStatuses"."ErrorReason" END,
            "UpdatedAt" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."UpdatedAt" ELSE "OutboundStatuses"."UpdatedAt" END,
            "Rank" = CASE WHEN excluded."Rank" > "OutboundStatuses"."Rank" THEN excluded."Rank" ELSE "OutboundStatuses"."Rank" END,
            "To" = COALESCE("OutboundStatuses"."To", excluded."To"),
            "From" = COALESCE("OutboundStatuses"."From", excluded."From"),
            "OrgId" = COALESCE("OutboundStatuses"."OrgId", excluded."OrgId"),
            "ReplyId" = COALESCE("OutboundStatuses"."ReplyId", excluded."ReplyId"),
            "AccountSid" = COALESCE("OutboundStatuses"."AccountSid", excluded."AccountSid")
        WHERE "OutboundStatuses"."AccountSid" IS NULL OR "OutboundStatuses"."AccountSid" = excluded."AccountSid"
        """;

    private const string DropUnclaimed = """DELETE FROM "OutboundStatuses" WHERE "MessageSid" = @p0 AND "ReplyId" IS NULL""";

    /// <summary>
    /// A signed status callback. Our sends name their reply in the callback URL (<paramref name="replyId"/>): the outcome
    /// of a reply writes no status row (a row keyed by a random SID costs every reply a page of its own), so the first
    /// callback for a finished reply creates the row, already the reply's, when the reply was sent from the callback's
    /// account and holds the SID. One that comes while the reply is still sending is kept unclaimed, as a callback for
    /// an unknown SID is, and the reply is marked so its outcome claims it in the same commit order.
    /// </summary>
    public async Task ApplyCallbackAsync(string sid, string accountSid, string status, int? errorCode, string? to, string? from, long? replyId)
    {
        // A callback naming no reply (a caller that posts to the bare route) is looked for among the latest replies,
        // unless the SID has its row already (a reply sent before callback URLs named their reply). A bounded scan, on a
        // read connection: the group commit, which the webhooks' acknowledgements wait for too, never runs it.
        var unknown = false;
        if (replyId is null)
        {
            (var known, replyId) = await reads.UseAsync(async c =>
                await ReadAsync(c, null, sid) is not null ? (true, (long?)null) : (false, await RecentReplyHoldingAsync(c, sid)));
            unknown = !known && replyId is null;
        }
        if (await commits.RunAsync(async (connection, tx) =>
            {
                // Maybe a reply still sending: its SIDs aren't stored yet, so the replies sending now are marked to claim
                // their callbacks' rows at their outcome (a read per SID for those few).
                if (unknown) await MarkSendingAsync(connection, tx);
                var owner = replyId is { } id ? await OwnerAsync(connection, tx, id, sid) : null;
                if (owner is not null && owner.AccountSid != accountSid)
                {
                    // Our reply's message, reported by another account than the one that sent it: not Twilio's.
                    refusals.Refused("a Twilio status callback: the message is another account's", accountSid);
                    return false;
                }
                return await ApplyAsync(connection, tx, sid, accountSid, status, errorCode, owner?.OrgId, owner?.To ?? to, owner?.From ?? from, owner?.ReplyId);
            }))
            feedWakeup.Notify();
    }

    /// <summary>How many of the latest replies a callback that names none is looked for in (IX_Replies_Sent, newest
    /// first): a bounded scan, as such callbacks don't come from Twilio, which calls the URL our send gave it.</summary>
    internal const int RecentReplies = 10_000;

    /// <summary>How many of the latest claims such a callback marks if still sending: a reply sends within its push
    /// budget, and Twilio's callback comes after its create call, so the reply it may belong to is among the newest.</summary>
    internal const int RecentClaims = 1_000;

    private static async Task<long?> RecentReplyHoldingAsync(DbConnection connection, string sid)
    {
        await using var find = await PreparedCommand.CreateAsync(connection, null, $$"""
            SELECT "Id" FROM (
                SELECT "Id", "Sids" FROM "Replies" WHERE "FirstSid" IS NOT NULL ORDER BY "CompletedAt" DESC LIMIT {{RecentReplies}})
            WHERE instr("Sids", @p0) > 0 LIMIT 1
            """, 1, CancellationToken.None);
        // The SID as it appears in the Sids JSON array, quotes included, so one SID can't match inside another.
        var id = await find.ScalarAsync(CancellationToken.None, System.Text.Json.JsonSerializer.Serialize(sid));
        return id is null or DBNull ? null : Convert.ToInt64(id);
    }

    private static async Task MarkSendingAsync(DbConnection connection, DbTransaction tx)
    {
        await using var mark = await PreparedCommand.CreateAsync(connection, tx, $$"""
            UPDATE "Replies" SET "StatusReported" = 1
            WHERE "Id" IN (SELECT "Id" FROM "Replies" ORDER BY "Id" DESC LIMIT {{RecentClaims}}) AND "State" = {{(int)ReplyState.Sending}} AND NOT "StatusReported"
            """, 0, CancellationToken.None);
        await mark.ExecuteAsync(CancellationToken.None);
    }

    private sealed record Owner(long ReplyId, string OrgId, string AccountSid, string? To, string? From);

    /// <summary>The finished reply that sent <paramref name="sid"/>; null when the reply named doesn't hold it (a reply
    /// still sending is marked instead, see above).</summary>
    private static async Task<Owner?> OwnerAsync(DbConnection connection, DbTransaction tx, long replyId, string sid)
    {
        string orgId, sids;
        string? to, from, account;
        ReplyState state;
        await using (var read = await PreparedCommand.CreateAsync(connection, tx,
            """SELECT "State", "AccountSid", "Sids", "OrgId", "To", "From" FROM "Replies" WHERE "Id" = @p0""", 1, CancellationToken.None))
        await using (var row = await read.ReaderAsync(CancellationToken.None, replyId))
        {
            if (!await row.ReadAsync()) return null;
            state = (ReplyState)row.GetInt32(0);
            account = row.IsDBNull(1) ? null : row.GetString(1);
            sids = row.GetString(2);
            orgId = row.GetString(3);
            to = row.IsDBNull(4) ? null : row.GetString(4);
            from = row.IsDBNull(5) ? null : row.GetString(5);
        }
        if (state == ReplyState.Sending)
        {
            await using var mark = await PreparedCommand.CreateAsync(connection, tx,
                """UPDATE "Replies" SET "StatusReported" = 1 WHERE "Id" = @p0""", 1, CancellationToken.None);
            await mark.ExecuteAsync(CancellationToken.None, replyId);
            return null;
        }
        // A reply from before the account was kept names none to check against: its callbacks never name it anyway.
        return account is not null && SentReplies.ParseSids(sids).Contains(sid)
            ? new Owner(replyId, orgId, account, to, from)
            : null;
    }

    /// <summary>
    /// Rows for messages of finished replies that no callback reported (the outcome writes none): as the create call
    /// answered ("accepted" through a Messaging Service, else "queued"), dated when the reply finished, so the
    /// reconciliation's refresh asks Twilio about them like any other reply short of delivered. A row a callback created
    /// meanwhile is merged as any status is (an unclaimed one of the reply's account becomes the reply's).
    /// </summary>
    public Task RecordUnreportedAsync(IReadOnlyList<(SentReplies.Sent Reply, string Sid)> messages, CancellationToken ct) =>
        commits.RunAsync(async (connection, tx) =>
        {
            foreach (var (r, sid) in messages)
                await ApplyAsync(connection, tx, sid, r.AccountSid!, r.MessagingServiceSid is null ? "queued" : "accepted", null, r.OrgId, r.To, r.From, r.Id, r.CompletedAt);
            return true;
        }, ct);

    /// <param name="accountSid">The account the status comes from: a signed callback's AccountSid, or the account
    /// whose API answered it.</param>
    public async Task ApplyAsync(string sid, string accountSid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId = null)
    {
        if (await commits.RunAsync((connection, tx) => ApplyAsync(connection, tx, sid, accountSid, status, errorCode, orgId, to, from, replyId)))
            feedWakeup.Notify();
    }

    /// <summary>
    /// The same, inside the caller's transaction. Returns true when the change was also put in the Desk feed (the
    /// caller wakes the delivery after its commit). A status reaches Desk when it moved up, or when the row just
    /// learned its reply (the callback came before the send call returned).
    /// </summary>
    /// <param name="replyId">Set by the sender, claiming the SID for its reply; <paramref name="accountSid"/> is then
    /// the sending number's account.</param>
    /// <param name="at">When the status was true, if not now (a row created late for a reply that finished earlier).</param>
    public async Task<bool> ApplyAsync(DbConnection connection, DbTransaction tx, string sid, string accountSid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId, DateTime? at = null)
    {
        status = status.ToLowerInvariant();
        var reason = DeliveryStatus.IsFinalFailure(status) ? TwilioErrors.DescribeDelivery(status, errorCode) : null;
        // Reads only when Desk may need to hear of it: a notable status, or the sender attaching its reply to a row a
        // callback created first. The sender's common case, a plain first status ("queued") for a SID no callback
        // reported yet, is one insert (a new row has nothing to compare and nothing for Desk; every reply waits for
        // the group commit it runs in); a row that exists already takes the full path.
        var notable = ReplyStatusFeed.IsNotable(status);
        var values = new object?[] { sid, status, DeliveryStatus.Rank(status), errorCode, reason, to, from, orgId, replyId, at ?? time.GetUtcNow().UtcDateTime, accountSid };
        if (replyId is not null && !notable)
        {
            await using var insert = await PreparedCommand.CreateAsync(connection, tx, InsertNew, 11, CancellationToken.None);
            if (await insert.ExecuteAsync(CancellationToken.None, values) == 1) return false;
        }
        var before = notable || replyId is not null ? await ReadAsync(connection, tx, sid) : null;
        if (replyId is not null && before is { ReplyId: null, AccountSid: { } reporter } && reporter != accountSid)
        {
            // A callback came first, signed by another account than the one that sent the message: not Twilio's. Its
            // status, error and addresses go; the reply's row starts afresh from what the sender knows.
            refusals.Refused("a Twilio status callback: the message is another account's (found when the reply claimed it)", reporter);
            await using var drop = await PreparedCommand.CreateAsync(connection, tx, DropUnclaimed, 1, CancellationToken.None);
            await drop.ExecuteAsync(CancellationToken.None, sid);
            before = null;
        }
        int written;
        await using (var upsert = await PreparedCommand.CreateAsync(connection, tx, Upsert, 11, CancellationToken.None))
            written = await upsert.ExecuteAsync(CancellationToken.None, values);
        if (written == 0)
        {
            // The row is another account's (the upsert's WHERE): nothing changed. The reporting account is logged (an
            // identifier, no secret); the SID and the row's account are not, so the line mixes no other tenant's data.
            var row = before ?? await ReadAsync(connection, tx, sid);
            refusals.Refused(row is { ReplyId: null }
                ? "a Twilio status callback: another account reported this unclaimed message first"
                : "a Twilio status callback: the message is another account's", accountSid);
            return false;
        }
        if (!notable && before is null) return false;

        var after = await ReadAsync(connection, tx, sid);
        if (after is not { ReplyId: { } reply } || !ReplyStatusFeed.IsNotable(after.Status)) return false;
        var changed = before is null || after.Rank > before.Rank || before.ReplyId is null;
        var heard = before is { ReplyId: not null } ? new PartStatus(before.Status, before.ErrorCode, before.ErrorReason) : null;
        return changed && await feed.AppendAsync(connection, tx, reply, sid, heard, new PartStatus(after.Status, after.ErrorCode, after.ErrorReason));
    }

    private sealed record Row(string Status, int Rank, long? ReplyId, int? ErrorCode, string? ErrorReason, string? AccountSid);

    private static async Task<Row?> ReadAsync(DbConnection connection, DbTransaction? tx, string sid)
    {
        await using var read = await PreparedCommand.CreateAsync(connection, tx,
            """SELECT "Status", "Rank", "ReplyId", "ErrorCode", "ErrorReason", "AccountSid" FROM "OutboundStatuses" WHERE "MessageSid" = @p0""", 1, CancellationToken.None);
        await using var row = await read.ReaderAsync(CancellationToken.None, sid);
        if (!await row.ReadAsync()) return null;
        return new Row(row.GetString(0), row.GetInt32(1), row.IsDBNull(2) ? null : row.GetInt64(2), row.IsDBNull(3) ? null : row.GetInt32(3), row.IsDBNull(4) ? null : row.GetString(4),
            row.IsDBNull(5) ? null : row.GetString(5));
    }
}
