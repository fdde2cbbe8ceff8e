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
/// Across instances the wait polls the row; within one, the sender's completion wakes it at once.
/// </summary>
internal sealed class ReplyService(ChannelDbContext db, ReplySender sender, StatusStore statuses, IOptions<DeskOptions> desk, TimeProvider time, ILogger<ReplyService> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public async Task<PushOutcome> HandleAsync(Installation installation, DeskReply reply, string publicBase)
    {
        var budget = TimeSpan.FromSeconds(desk.Value.PushTimeoutSeconds);
        var claim = new Reply
        {
            OrgId = installation.OrgId,
            DeskThreadId = reply.Id,
            DeskTicketId = reply.TicketId,
            ExtParentId = reply.ExtParentId,
            State = ReplyState.Sending,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.Replies.Add(claim);
        if (!await db.TrySaveUniqueAsync(CancellationToken.None))
        {
            db.Entry(claim).State = EntityState.Detached;
            return await AwaitFirstAsync(installation.OrgId, reply.Id, budget);
        }

        PushOutcome outcome;
        var (target, error) = await ReplyTarget.FindAsync(db, installation.OrgId, reply.ExtParentId, CancellationToken.None);
        try
        {
            // Deliberately not tied to the request: if Desk gives up waiting, the send still completes and is recorded,
            // so Desk's retry gets the real outcome instead of a second message.
            outcome = target is null ? PushOutcome.Refused(error!) : await sender.SendAsync(claim, installation, target, reply, publicBase, budget - TimeSpan.FromMilliseconds(300));
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Sending Desk reply {DeskThreadId} failed unexpectedly.", reply.Id);
            outcome = PushOutcome.Unavailable("The reply could not be sent because of an internal error; it was not sent.");
        }

        claim.State = outcome.Succeeded ? ReplyState.Sent : ReplyState.Failed;
        claim.FailureReason = outcome.Succeeded ? null : outcome.Body["message"]?.GetValue<string>();
        claim.ErrorCode = outcome.ErrorCode;
        claim.ResponseStatus = outcome.StatusCode;
        claim.ResponseJson = outcome.Body.ToJsonString();
        claim.CompletedAt = time.GetUtcNow().UtcDateTime;

        // The outcome and the accepted messages' first statuses in one commit (each commit is an fsync).
        await using (var tx = await db.Database.BeginTransactionAsync(CancellationToken.None))
        {
            foreach (var (sid, status) in sender.Accepted)
                await statuses.ApplyAsync(db, sid, status, null, installation.OrgId, claim.To, claim.From, claim.Id);
            await db.SaveChangesAsync(CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
        }
        if (!outcome.Succeeded) logger.LogInformation("Desk reply {DeskThreadId} failed: {Reason}", reply.Id, claim.FailureReason);
        return outcome;
    }

    private async Task<PushOutcome> AwaitFirstAsync(string orgId, string deskThreadId, TimeSpan budget)
    {
        var deadline = time.GetUtcNow() + budget;
        while (true)
        {
            var first = await db.Replies.AsNoTracking().FirstAsync(r => r.OrgId == orgId && r.DeskThreadId == deskThreadId);
            if (first.State != ReplyState.Sending && first.ResponseJson is not null)
                return new PushOutcome(first.ResponseStatus ?? 200, JsonNode.Parse(first.ResponseJson)!.AsObject(), first.ErrorCode);
            if (time.GetUtcNow() >= deadline)
                return new PushOutcome(503, new JsonObject { ["message"] = "An earlier push of this reply is still being sent; its outcome isn't known yet. It will not be sent twice." });
            await Task.Delay(PollInterval, time);
        }
    }
}
