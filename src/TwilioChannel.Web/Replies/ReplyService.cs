using System.Data.Common;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Exactly once per Desk reply id. The first push claims the id (a unique row) and sends; a repeated push answers the
/// stored outcome; a push arriving while the first is still sending waits for its outcome, within the push budget.
/// The wait polls the row every 100 ms, which works across instances alike.
/// A claim still "sending" well past the push budget belongs to a process that died mid-send: the next push of that
/// reply takes it over and sends it again in resume mode, where each message is first looked for at Twilio and only
/// sent if it isn't there (Replies/ReplySender), so nothing goes out twice and Desk's retries don't get 503 for ever.
/// </summary>
internal sealed class ReplyService(ChannelDbContext db, ReplySender sender, StatusStore statuses, GroupCommit commits, ReadConnections reads, Routing.NumberDirectory directory, Routing.FeedWakeup feedWakeup, Twilio.InboundProjector projector, IOptions<DeskOptions> desk, TimeProvider time, ILogger<ReplyService> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long past the push budget a claim may stay "sending" before it counts as abandoned: the sender gives
    /// up within the budget, and its outcome commit takes milliseconds.</summary>
    internal static readonly TimeSpan AbandonedAfter = TimeSpan.FromSeconds(20);

    /// <summary>The least of its budget a push must have left to take over an earlier attempt's send.</summary>
    private static readonly TimeSpan MinimumToSend = TimeSpan.FromSeconds(1);

    public async Task<PushOutcome> HandleAsync(Installation installation, DeskReply reply, string publicBase)
    {
        // The budget bounds everything a push does: the inbox wait and the claim's commit come off what the send gets.
        var started = time.GetTimestamp();
        var budget = TimeSpan.FromSeconds(desk.Value.PushTimeoutSeconds);
        // The customer's message that Twilio just gave us may still be in the inbox: the window, the number they wrote
        // to and an opt-out are read from the database, so its projection comes first (only for this customer).
        var customer = TicketKey.Parse(reply.ExtParentId).CustomerAddress;
        var caughtUp = projector.CustomerCaughtUpAsync(customer, budget / 2, CancellationToken.None);
        if (!caughtUp.IsCompleted && !await caughtUp)
            logger.LogWarning("Desk reply {DeskThreadId} (org {OrgId}): the customer's latest messages are still waiting to be stored after {Seconds} s; the reply goes by what is stored.",
                reply.Id, installation.OrgId, (budget / 2).TotalSeconds);
        var claim = new Reply
        {
            OrgId = installation.OrgId,
            DeskThreadId = reply.Id,
            DeskTicketId = reply.TicketId,
            ExtParentId = reply.ExtParentId,
            State = ReplyState.Sending,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        // The claim is durable before anything is sent; a second push of the same id finds it and never sends. A first
        // push reads what it needs to send (the conversation, the opt-outs) in the claim's transaction.
        var claimed = await commits.RunAsync((connection, tx) => ClaimAsync(connection, tx, claim));
        var left = budget - time.GetElapsedTime(started);
        if (claimed is null) return await AwaitFirstAsync(installation, reply, publicBase, left);
        claim.Id = claimed.Value.Id;
        return await SendClaimedAsync(claim, installation, reply, publicBase, left, resumeSince: null, claimed.Value.Facts);
    }

    /// <param name="resumeSince">Set when taking over an abandoned claim: when the first attempt started.</param>
    /// <param name="facts">Read with the claim; null when taking over an earlier claim (read here then).</param>
    private async Task<PushOutcome> SendClaimedAsync(Reply claim, Installation installation, DeskReply reply, string publicBase, TimeSpan budget, DateTime? resumeSince, ReplyTarget.Facts? facts = null)
    {
        PushOutcome outcome;
        ReplyTarget? target = null;
        try
        {
            (target, var error) = facts is null
                ? await ReplyTarget.FindAsync(db, reads, directory, installation.OrgId, reply.ExtParentId, CancellationToken.None)
                : await ReplyTarget.ResolveAsync(db, directory, installation.OrgId, reply.ExtParentId, facts, CancellationToken.None);
            if (target?.ReplacedNumberId is { } gone)
                logger.LogWarning("Desk reply {DeskThreadId} (org {OrgId}): the number the customer last wrote to (number id {NumberId}, {Address}) is no longer configured; it goes from the org's default {Channel} number {From} instead.",
                    reply.Id, installation.OrgId, gone, target.ReplacedAddress ?? "address unknown", Domain.Addresses.ChannelAddress.ChannelName(target.Channel), target.FromDisplay);
            // Deliberately not tied to the request: if Desk gives up waiting, the send still completes and is recorded,
            // so Desk's retry gets the real outcome instead of a second message.
            outcome = target is null ? PushOutcome.Refused(error!) : await sender.SendAsync(claim, installation, target, reply, publicBase, budget - TimeSpan.FromMilliseconds(300), resumeSince);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Sending Desk reply {DeskThreadId} failed unexpectedly.", reply.Id);
            // Failing before its target was known (the database unreadable), the reply certainly sent nothing: stored so,
            // Desk's next push tries it again. It used to stay "sending", answered 503 until taken over as abandoned.
            outcome = target is null
                ? PushOutcome.NotSent("The reply could not be sent because of an internal error; nothing was sent. Try again.")
                : PushOutcome.Unavailable("The reply could not be sent because of an internal error; it was not sent.");
        }

        // Said in the answer too (stored with it, so a repeated push answers the same): the agent's reply reached the
        // customer from another number than the one they wrote to, and their next message will come to that one.
        if (outcome.Succeeded && target?.ReplacedNumberId is not null && outcome.Body["extra"]?["value"] is JsonObject value)
            value["senderNote"] = $"The number this customer last wrote to{(target.ReplacedAddress is { } address ? $" ({address})" : "")} is no longer configured; sent from the org's default number {target.FromDisplay}.";

        // Only when no message of the reply went out: a retry of a half-sent reply would repeat its first parts.
        claim.State = outcome.Succeeded ? ReplyState.Sent
            : outcome.NothingSent && sender.Accepted.Count == 0 && sender.Invite is null ? ReplyState.NotSent
            : ReplyState.Failed;
        claim.FailureReason = outcome.Succeeded ? null : outcome.Body["message"]?.GetValue<string>();
        claim.ErrorCode = outcome.ErrorCode;
        claim.ResponseStatus = outcome.StatusCode;
        outcome = outcome with { StoredJson = outcome.Body.ToJsonString() };
        claim.ResponseJson = outcome.StoredJson;
        claim.CompletedAt = time.GetUtcNow().UtcDateTime;
        claim.AccountSid = target?.Number.AccountSid;

        // The outcome, a re-engagement template's outcome and an opt-out Twilio told us of (21610) in one (group) commit.
        // No status row: the messages' callbacks name this reply and create theirs (Replies/StatusStore), so a reply
        // writes nothing under its random SIDs here. Only callbacks that came while it was still sending are claimed.
        var fed = await commits.RunAsync(async (connection, tx) =>
        {
            var reported = await CompleteAsync(connection, tx, claim);
            if (outcome.Succeeded) await BreakSilenceAsync(connection, tx, claim);
            if (sender.Invite is { } invite) await TemplateInvites.CompleteAsync(connection, tx, invite);
            // Under the keys a reply checks (the sender's service and number), as an inbound STOP records them.
            if (sender.OptedOutAt is { } optedOutAt) await Routing.OptOutUpsert.OptedOutAsync(connection, tx, target!.OptOutKeys, target.CustomerAddress, optedOutAt);
            var any = false;
            // The sending number's account owns these SIDs (only a send, which needs a target, fills Accepted).
            if (reported)
                foreach (var (sid, status) in sender.Accepted)
                    any |= await statuses.ApplyAsync(connection, tx, sid, claim.AccountSid!, status, null, installation.OrgId, claim.To, claim.From, claim.Id);
            return any;
        });
        if (fed) feedWakeup.Notify();
        if (!outcome.Succeeded) logger.LogInformation("Desk reply {DeskThreadId} failed: {Reason}", reply.Id, claim.FailureReason);
        return outcome;
    }

    /// <summary>
    /// Claims an earlier attempt of this reply again, with a conditional update so one push (or instance) wins: one that
    /// certainly sent nothing (<see cref="ReplyState.NotSent"/>), or one abandoned mid-send (still Sending, started before
    /// <paramref name="startedBefore"/>). Null when another took it first.
    /// </summary>
    private async Task<Reply?> ReclaimAsync(Reply earlier, ReplyState from, DateTime? startedBefore = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var taken = await commits.RunAsync(async (connection, tx) =>
        {
            await using var update = await PreparedCommand.CreateAsync(connection, tx, """
                UPDATE "Replies" SET "State" = @p0, "CreatedAt" = @p1
                WHERE "Id" = @p2 AND "State" = @p3 AND (@p4 IS NULL OR "CreatedAt" < @p4)
                """, 5, CancellationToken.None);
            return await update.ExecuteAsync(CancellationToken.None, (int)ReplyState.Sending, now, earlier.Id, (int)from, startedBefore) == 1;
        });
        if (!taken) return null;
        return new Reply
        {
            Id = earlier.Id, OrgId = earlier.OrgId, DeskThreadId = earlier.DeskThreadId, DeskTicketId = earlier.DeskTicketId,
            ExtParentId = earlier.ExtParentId, State = ReplyState.Sending, CreatedAt = now,
        };
    }

    private static async Task<(long Id, ReplyTarget.Facts Facts)?> ClaimAsync(DbConnection connection, DbTransaction tx, Reply r)
    {
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "Replies" ("OrgId", "DeskThreadId", "DeskTicketId", "ExtParentId", "State", "Sids", "CreatedAt")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6)
            ON CONFLICT ("OrgId", "DeskThreadId") DO NOTHING RETURNING "Id"
            """, 7, CancellationToken.None);
        var id = await insert.ScalarAsync(CancellationToken.None, r.OrgId, r.DeskThreadId, r.DeskTicketId, r.ExtParentId, (int)r.State, r.Sids, r.CreatedAt);
        if (id is null or DBNull) return null;
        return (Convert.ToInt64(id), await ReplyTarget.ReadFactsAsync(connection, tx, r.OrgId, r.ExtParentId));
    }

    /// <summary>Stores the outcome; true when a status callback for this reply came while it was sending.</summary>
    private static async Task<bool> CompleteAsync(DbConnection connection, DbTransaction tx, Reply r)
    {
        await using var update = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Replies" SET "State" = @p0, "FailureReason" = @p1, "ErrorCode" = @p2, "ResponseStatus" = @p3, "ResponseJson" = @p4,
                "CompletedAt" = @p5, "Body" = @p6, "Sids" = @p7, "FirstSid" = @p8, "To" = @p9, "From" = @p10, "MessagingServiceSid" = @p11,
                "AccountSid" = @p12
            WHERE "Id" = @p13
            RETURNING "StatusReported"
            """, 14, CancellationToken.None);
        var reported = await update.ScalarAsync(CancellationToken.None, (int)r.State, r.FailureReason, r.ErrorCode, r.ResponseStatus, r.ResponseJson,
            r.CompletedAt, r.Body, r.Sids, r.FirstSid, r.To, r.From, r.MessagingServiceSid, r.AccountSid, r.Id);
        return reported is not null and not DBNull && Convert.ToInt64(reported) != 0;
    }

    /// <summary>
    /// A reply that went out is the ticket's latest message, as a backfilled outbound message is: Desk:NewTicketAfterHours
    /// counts silence from it, so the customer answering an agent's late reply stays in the ticket the agent answered
    /// (it used to count from the customer's own last message and open "…#2").
    /// </summary>
    private static async Task BreakSilenceAsync(DbConnection connection, DbTransaction tx, Reply r)
    {
        await using var update = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Conversations" SET "LastMessageAt" = @p0 WHERE "OrgId" = @p1 AND "TicketExtId" = @p2 AND "LastMessageAt" < @p0
            """, 3, CancellationToken.None);
        await update.ExecuteAsync(CancellationToken.None, r.CompletedAt!.Value, r.OrgId, r.ExtParentId);
    }

    private async Task<bool> NoLongerHeldAsync(Installation installation, DeskReply reply)
    {
        var (target, _) = await ReplyTarget.FindAsync(db, reads, directory, installation.OrgId, reply.ExtParentId, CancellationToken.None);
        return target is not null && !sender.HeldByCustomer(target);
    }

    private async Task<PushOutcome> AwaitFirstAsync(Installation installation, DeskReply reply, string publicBase, TimeSpan budget)
    {
        var deadline = time.GetUtcNow() + budget;
        while (true)
        {
            var first = await db.Replies.AsNoTracking().FirstAsync(r => r.OrgId == installation.OrgId && r.DeskThreadId == reply.Id);
            // Nothing went out last time and the answer said "Try again": this push is that try (one taker).
            // Refused for the customer's state alone (opted out, WhatsApp window closed) with nothing sent: once the
            // cause is gone (START, the customer wrote), Desk's next push of it (Desk offers to resend a failed reply)
            // sends it, once. While the cause lasts, the stored answer is repeated word for word. Not when a
            // re-engagement template went out: it is recorded as that reply's message (FirstSid), and the answer told
            // the agent to send the message as a new reply.
            // A send taken over gets what is left of this push's budget, which bounds all the push does (it got the
            // whole budget, however long the push had waited). With too little left it isn't taken: the answer read
            // stands (or the 503 below), and Desk's next push takes it.
            var left = deadline - time.GetUtcNow();
            var retakeable = left >= MinimumToSend && (first.State == ReplyState.NotSent
                || first.State == ReplyState.Failed && first.ErrorCode is 21610 or 63016 && first.FirstSid is null && await NoLongerHeldAsync(installation, reply));
            if (retakeable)
            {
                if (await ReclaimAsync(first, first.State) is { } retaken)
                    return await SendClaimedAsync(retaken, installation, reply, publicBase, left, resumeSince: null);
                // A push beside this one took it: its outcome, not the earlier one this push read, is the answer. Read
                // again (now "sending"), this push waits for it; it used to answer the stale "Try again" or "opted out"
                // while the reply went out, and Desk marked a delivered reply failed (acceptance-style run).
                continue;
            }
            if (first.State != ReplyState.Sending && first.ResponseJson is not null)
                return new PushOutcome(first.ResponseStatus ?? 200, JsonNode.Parse(first.ResponseJson)!.AsObject(), first.ErrorCode) { StoredJson = first.ResponseJson };
            // The earlier attempt had the configured budget, whatever this push has left of its own.
            var abandonedBefore = time.GetUtcNow().UtcDateTime - TimeSpan.FromSeconds(desk.Value.PushTimeoutSeconds) - AbandonedAfter;
            if (left >= MinimumToSend && first.CreatedAt < abandonedBefore && await ReclaimAsync(first, ReplyState.Sending, abandonedBefore) is { } claim)
            {
                logger.LogWarning("Desk reply {DeskThreadId} was left sending since {ClaimedAt} (the service stopped mid-send); resuming it, each message looked for at Twilio before it is sent.",
                    reply.Id, first.CreatedAt);
                return await SendClaimedAsync(claim, installation, reply, publicBase, left, resumeSince: first.CreatedAt);
            }
            if (time.GetUtcNow() >= deadline)
                return new PushOutcome(503, new JsonObject { ["message"] = "An earlier push of this reply is still being sent, or was cut off by a restart of the service; its outcome isn't known yet. It will not be sent twice: push it again in a minute to get its outcome." });
            await Task.Delay(PollInterval, time);
        }
    }
}
