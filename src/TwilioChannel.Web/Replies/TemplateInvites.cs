using System.Data.Common;
using System.Diagnostics;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// At most one WhatsApp re-engagement template per sender and customer while the window stays closed. Every
/// window-closed reply used to send the number's template, so two agents (or a retry, or two replies to the same ticket)
/// seconds apart billed it twice and spammed the customer, which costs the sender quality rating.
/// The rule: a template blocks the next one if it was sent after the customer's last message and less than
/// <see cref="ResendAfter"/> ago; one whose outcome is unknown (5xx, timeout, a process stopped mid-send) counts as sent,
/// one Twilio certainly did not take (refused, rate-limited, unreachable) blocks nothing. The sender is the number whose
/// window closed, also when the reply goes through its Messaging Service (the sticky sender is that number).
/// The claim is one conditional upsert on the unique (sender, customer) row: atomic in SQLite's single writer and in
/// the group commit's batch, and on PostgreSQL (several instances) the second insert of the same key waits on the
/// first's row lock and then evaluates the condition against it, so two pushes never both claim.
/// </summary>
internal sealed class TemplateInvites(GroupCommit commits, ReadConnections reads, TimeProvider time)
{
    /// <summary>A customer who never answers may be invited again the next day: the length of WhatsApp's own window,
    /// so at most one invitation per window's worth of silence, and an agent can still reach a customer who missed
    /// yesterday's. (A customer who answers reopens the window; it can only close again 24 h after that message,
    /// which is later than 24 h after any template sent before it.)</summary>
    internal static readonly TimeSpan ResendAfter = TimeSpan.FromHours(24);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The template that blocks a new one: what became of it and when its send began.</summary>
    public sealed record Earlier(TemplateInviteState State, DateTime StartedAt);

    /// <summary>Either the claim's id (this push sends the template; <paramref name="At"/> is its StartedAt) or the
    /// earlier template that blocks it.</summary>
    public sealed record Claim(long? Id, DateTime At, Earlier? Blocking);

    /// <summary>
    /// Claims the right to send the template for <paramref name="replyId"/>. While another push is sending one (begun
    /// less than <paramref name="budget"/> ago), waits up to <paramref name="wait"/> for its outcome: if Twilio refused
    /// it, this push claims and sends; otherwise this push is told about it. A read polls, not the writer.
    /// </summary>
    public async Task<Claim> ClaimAsync(string sender, string customer, string orgId, long replyId, DateTime? lastInbound, TimeSpan budget, TimeSpan wait)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var since = lastInbound is { } inbound && inbound > now - ResendAfter ? inbound : now - ResendAfter;
            var claim = await commits.RunAsync((connection, tx) => TryClaimAsync(connection, tx, sender, customer, orgId, replyId, now, since));
            if (claim.Blocking is not { State: TemplateInviteState.Sending } sending || sending.StartedAt < now - budget) return claim;
            do
            {
                if (waited.Elapsed >= wait) return claim;
                // Real time, like the push budget it comes out of (Replies/ReplySender's stopwatch).
                await Task.Delay(PollInterval);
            } while (await StateAsync(sender, customer) == TemplateInviteState.Sending);
        }
    }

    private static async Task<Claim> TryClaimAsync(DbConnection connection, DbTransaction tx, string sender, string customer, string orgId, long replyId, DateTime now, DateTime since)
    {
        await using (var upsert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "TemplateInvites" ("SenderAddress", "CustomerAddress", "OrgId", "ReplyId", "State", "StartedAt", "MessageSid")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, NULL)
            ON CONFLICT ("SenderAddress", "CustomerAddress") DO UPDATE SET "OrgId" = excluded."OrgId", "ReplyId" = excluded."ReplyId",
                "State" = excluded."State", "StartedAt" = excluded."StartedAt", "MessageSid" = NULL
            WHERE "TemplateInvites"."State" = @p6 OR "TemplateInvites"."StartedAt" <= @p7
            RETURNING "Id"
            """, 8, CancellationToken.None))
        {
            var id = await upsert.ScalarAsync(CancellationToken.None, sender, customer, orgId, replyId, (int)TemplateInviteState.Sending, now, (int)TemplateInviteState.NotSent, since);
            if (id is not null and not DBNull) return new Claim(Convert.ToInt64(id), now, null);
        }
        await using var read = await PreparedCommand.CreateAsync(connection, tx, """
            SELECT "State", "StartedAt" FROM "TemplateInvites" WHERE "SenderAddress" = @p0 AND "CustomerAddress" = @p1
            """, 2, CancellationToken.None);
        await using var row = await read.ReaderAsync(CancellationToken.None, sender, customer);
        if (!await row.ReadAsync()) throw new InvalidOperationException("A template claim was refused without a row to refuse it.");
        return new Claim(null, now, new Earlier((TemplateInviteState)row.GetInt32(0), row.GetUtcDateTime(1)));
    }

    private Task<TemplateInviteState?> StateAsync(string sender, string customer) => reads.UseAsync(async connection =>
    {
        await using var query = await PreparedCommand.CreateAsync(connection, null, """
            SELECT "State" FROM "TemplateInvites" WHERE "SenderAddress" = @p0 AND "CustomerAddress" = @p1
            """, 2, CancellationToken.None);
        var state = await query.ScalarAsync(CancellationToken.None, sender, customer);
        return state is null or DBNull ? (TemplateInviteState?)null : (TemplateInviteState)Convert.ToInt32(state);
    });

    /// <summary>Records the send's outcome, in the reply's outcome commit (Replies/ReplyService).</summary>
    public static async Task CompleteAsync(DbConnection connection, DbTransaction tx, Outcome outcome)
    {
        await using var update = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "TemplateInvites" SET "State" = @p0, "MessageSid" = @p1 WHERE "Id" = @p2
            """, 3, CancellationToken.None);
        await update.ExecuteAsync(CancellationToken.None, (int)outcome.State, outcome.Sid, outcome.Id);
    }

    /// <summary>What became of a claimed send, written with the reply's outcome.</summary>
    public sealed record Outcome(long Id, TemplateInviteState State, string? Sid);

    /// <summary>The refusal of a reply an earlier template blocks.</summary>
    public static string Blocked(Earlier earlier) => earlier.State switch
    {
        TemplateInviteState.Sent => $"WhatsApp window closed — a template inviting the customer to reply was already sent at {Utc(earlier.StartedAt)}; when they answer, send your message as a new reply (resending this one repeats this answer).{Next(earlier.StartedAt)}",
        TemplateInviteState.Unknown => $"WhatsApp window closed — a template inviting the customer to reply may have been sent at {Utc(earlier.StartedAt)} (Twilio's answer is not known); when they answer, send your message as a new reply (resending this one repeats this answer).{Next(earlier.StartedAt)}",
        // Still in flight past this push's wait, or left so by a process that stopped mid-send.
        _ => $"WhatsApp window closed — a template inviting the customer to reply was being sent at {Utc(earlier.StartedAt)} and its outcome isn't known yet; when they answer, send your message as a new reply (resending this one repeats this answer).{Next(earlier.StartedAt)}",
    };

    /// <summary>The refusal of the reply whose own template send had an unknown outcome.</summary>
    public static string Unknown(string reason, DateTime startedAt) =>
        $"WhatsApp window closed — a template inviting the customer to reply was sent at {Utc(startedAt)}, but {reason}: it may or may not have reached them. When they answer, send your message as a new reply (resending this one repeats this answer).{Next(startedAt)}";

    private static string Next(DateTime startedAt) => $" If they don't, another invitation can be sent from {Utc(startedAt + ResendAfter)}.";

    private static string Utc(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC";
}
