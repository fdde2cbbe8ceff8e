using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.History;

/// <summary>
/// Routes what a backfill holds, oldest first, a chunk at a time: its release phase, and what a backfill that ended
/// without one (cancelled, failed) had stored. Such messages used to stay held for good, and among them can be what
/// only the backfill has: a message the webhook never brought (an outage, which the reconciliation then counts as
/// stored) or one whose webhook came while it was held (a duplicate by then). Nothing stored stays out of Desk.
/// </summary>
internal sealed class HeldRelease(IServiceScopeFactory scopes, MessageRouter router, GroupCommit commits, TimeProvider time, ILogger<HeldRelease> logger)
{
    /// <summary>Routes backfill <paramref name="backfillId"/>'s held messages; false when <paramref name="stop"/> said so
    /// before a chunk.</summary>
    public async Task<bool> RouteAsync(long backfillId, Func<Task<bool>> stop, CancellationToken ct)
    {
        while (true)
        {
            if (await stop()) return false;
            List<PendingMessage> chunk;
            await using (var scope = scopes.CreateAsyncScope())
                chunk = await BackfillJob.HeldChunk(scope.ServiceProvider.GetRequiredService<ChannelDbContext>(), backfillId).ToListAsync(ct);
            if (chunk.Count == 0) return true;
            var routed = await router.RouteHeldAsync(chunk, ct);
            await commits.ExecuteAsync("""UPDATE "Backfills" SET "MessagesRouted" = "MessagesRouted" + @p1, "UpdatedAt" = @p2 WHERE "Id" = @p0""",
                backfillId, routed, time.GetUtcNow().UtcDateTime);
        }
    }

    /// <summary>
    /// Routes held messages whose webhook has come meanwhile (Twilio/InboundWriter): a customer's message is due in Desk
    /// a moment after they wrote, not when the backfill that happened to list it first has listed all of its history.
    /// </summary>
    public async Task RouteNowAsync(IReadOnlyCollection<long> messageIds, CancellationToken ct)
    {
        List<PendingMessage> held;
        await using (var scope = scopes.CreateAsyncScope())
            held = await BackfillJob.Held(scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Messages.AsNoTracking()
                .Where(m => messageIds.Contains(m.Id))).ToListAsync(ct);
        if (held.Count > 0) await router.RouteHeldAsync(held, ct);
    }

    /// <summary>Routes what the backfills that ended cancelled or failed still hold (HistoryScheduler, every sweep).</summary>
    public async Task RouteEndedAsync(CancellationToken ct)
    {
        List<long> ended;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            ended = await db.Backfills.AsNoTracking()
                .Where(b => (b.State == BackfillState.Cancelled || b.State == BackfillState.Failed)
                    && db.Messages.Any(m => m.BackfillId == b.Id && m.State == MessageState.Held))
                .Select(b => b.Id).ToListAsync(ct);
        }
        foreach (var id in ended)
        {
            logger.LogInformation("Backfill {BackfillId} ended before routing what it had stored; routing it now, oldest first.", id);
            await RouteAsync(id, () => Task.FromResult(false), ct);
        }
    }
}
