using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>Wakes the router right after the ack path commits, and after a number is added.</summary>
public sealed class RouterWakeup : Wakeup;

/// <summary>Wakes whoever delivers the feed (pull needs none; the real-time import loop will).</summary>
public sealed class FeedWakeup : Wakeup;

/// <summary>
/// Turns stored messages into the Desk feed, off the ack path: finds the org by the number the customer wrote to (or
/// its Messaging Service), files the message under the customer's conversation (one ticket per org and address) and
/// appends its thread(s) to the feed with the next positions.
///
/// The work is split so the write lock is held briefly: reading, mapping and serialising happen first, without it
/// (<see cref="RoutingPlan"/>); then one transaction applies the plan with prepared statements.
///
/// Why positions stay correct with several writers: the transaction first takes the feed counter's row lock
/// (UPDATE … SET Value = Value), hands out positions from it and commits. Another router (another instance) blocks on
/// that lock until the first commits, so positions become visible strictly in increasing order: a reader that has seen
/// position N will never later find a new row below N. That holds on SQLite (one writer) and on PostgreSQL (row lock
/// held to commit), unlike raw sequence values, which commit out of order. Claiming each message with
/// "… WHERE State = Received" makes a batch that raced another instance roll back and re-plan instead of routing twice.
/// </summary>
internal sealed class MessageRouter(
    IServiceScopeFactory scopes,
    WriteGate gate,
    NumberDirectory directory,
    RouterWakeup wakeup,
    FeedWakeup feed,
    IOptions<DeskOptions> desk,
    TimeProvider time,
    ILogger<MessageRouter> logger) : BackgroundService
{
    internal const int BatchSize = 50;

    /// <summary>Safety net for work committed by another instance or left by a crash.</summary>
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await RouteBatchAsync(stoppingToken) > 0) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Routing stored messages failed; retrying shortly.");
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
            await wakeup.WaitAsync(Sweep, stoppingToken);
        }
    }

    /// <summary>Routes one batch; returns how many messages it handled (0: nothing to do, or it must be re-planned).</summary>
    internal async Task<int> RouteBatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var plan = await PlanAsync(db, ct);
        if (plan is null) return 0;

        if (await CommitPlanAsync(db, plan, MessageState.Received, ct)) return plan.Messages.Count;
        logger.LogInformation("A routing batch raced another router; re-planning.");
        return 1;
    }

    /// <summary>
    /// Routes messages the ack path has just inserted, inside its transaction (the caller holds the write gate), so
    /// storing and routing cost one commit. Throws on failure; the caller rolls back to its savepoint. Returns whether
    /// threads were added to the feed: the caller wakes the delivery after its commit (a wake-up before the commit
    /// finds nothing and the message would wait for the next sweep).
    /// </summary>
    internal async Task<bool> RouteWithinAsync(ChannelDbContext db, DbConnection connection, DbTransaction tx, IReadOnlyList<PendingMessage> pending, CancellationToken ct)
    {
        await db.Database.UseTransactionAsync(tx, ct);
        var plan = await PlanAsync(db, pending, ct);
        if (!await ApplyAsync(connection, tx, plan, ct))
            throw new InvalidOperationException("Another router claimed messages inserted by this transaction.");
        return plan.Messages.Any(m => m.Threads.Count > 0);
    }

    /// <summary>
    /// Routes messages a backfill held, in the order given (oldest first), in one transaction; returns how many it
    /// routed, 0 when the chunk raced another router (a conversation started meanwhile, or another runner routed some):
    /// the caller then reads what is still held and tries again.
    /// </summary>
    internal async Task<int> RouteHeldAsync(IReadOnlyList<PendingMessage> held, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var plan = await PlanAsync(db, held, ct);
        return await CommitPlanAsync(db, plan, MessageState.Held, ct) ? plan.Messages.Count : 0;
    }

    /// <summary>Applies a plan in its own transaction under the write gate and wakes the delivery after the commit;
    /// false (rolled back) when the batch raced another router.</summary>
    private async Task<bool> CommitPlanAsync(ChannelDbContext db, RoutingPlan plan, MessageState claimFrom, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(ct);
        // From here on, no cancellation: a shutdown waits for this short transaction rather than cutting it.
        await db.Database.OpenConnectionAsync(CancellationToken.None);
        var connection = db.Database.GetDbConnection();
        await using var tx = await connection.BeginTransactionAsync(CancellationToken.None);
        if (!await ApplyAsync(connection, tx, plan, CancellationToken.None, claimFrom))
        {
            await tx.RollbackAsync(CancellationToken.None);
            return false;
        }
        await tx.CommitAsync(CancellationToken.None);
        if (plan.Messages.Any(m => m.Threads.Count > 0)) feed.Notify();
        return true;
    }

    private async Task<RoutingPlan?> PlanAsync(ChannelDbContext db, CancellationToken ct)
    {
        var pending = await db.Messages.AsNoTracking()
            .Where(m => m.State == MessageState.Received).OrderBy(m => m.Id).Take(BatchSize)
            .Select(m => new PendingMessage(m.Id, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm))
            .ToListAsync(ct);
        return pending.Count == 0 ? null : await PlanAsync(db, pending, ct);
    }

    private async Task<RoutingPlan> PlanAsync(ChannelDbContext db, IReadOnlyList<PendingMessage> pending, CancellationToken ct)
    {
        var numbers = await directory.LookupAsync(db, pending, ct);
        var routed = pending.Select(m => (Message: m, Number: numbers.Find(m.OurAddress, m.MessagingServiceSid))).ToList();
        var orgs = routed.Where(r => r.Number is not null).Select(r => r.Number!.OrgId).Distinct().ToList();
        var customers = pending.Select(m => m.Customer).Distinct().ToList();
        var existing = orgs.Count == 0 ? [] : await db.Conversations.AsNoTracking()
            .Where(c => orgs.Contains(c.OrgId) && customers.Contains(c.CustomerAddress))
            .Select(c => new ConversationState
            {
                Id = c.Id, OrgId = c.OrgId, Customer = c.CustomerAddress, Generation = c.Generation, TicketExtId = c.TicketExtId,
                CreatedAt = c.CreatedAt, LastMessageAt = c.LastMessageAt, LastInboundAt = c.LastInboundAt, LastNumberId = c.LastNumberId,
            })
            .ToListAsync(ct);
        var latest = existing.GroupBy(c => (c.OrgId, c.Customer)).Select(g => g.MaxBy(c => c.Generation)!);

        var plan = new RoutingPlan(latest, desk.Value.ThreadContentLimit, desk.Value.NewTicketAfterHours);
        foreach (var (message, number) in routed) plan.Add(message, number);
        return plan;
    }

    private async Task<bool> ApplyAsync(DbConnection connection, DbTransaction tx, RoutingPlan plan, CancellationToken ct, MessageState claimFrom = MessageState.Received)
    {
        // The counter's row lock first: it serialises routers and makes position order equal commit order.
        await using var feedThreads = await FeedAppender.BeginAsync(connection, tx, ct);

        await using (var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "Conversations" ("OrgId", "CustomerAddress", "Generation", "TicketExtId", "TicketJson", "LastNumberId", "CreatedAt", "LastMessageAt", "LastInboundAt")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8) RETURNING "Id"
            """, 9, ct))
        await using (var update = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Conversations" SET "LastNumberId" = @p0, "LastMessageAt" = @p1, "LastInboundAt" = @p2 WHERE "Id" = @p3
            """, 4, ct))
        {
            foreach (var c in plan.Conversations.Where(c => c.Changed))
            {
                try
                {
                    if (c.Id is null)
                        c.Id = Convert.ToInt64(await insert.ScalarAsync(ct, c.OrgId, c.Customer, c.Generation, c.TicketExtId, c.NewTicketJson, c.LastNumberId, c.CreatedAt, c.LastMessageAt, c.LastInboundAt));
                    else
                        await update.ExecuteAsync(ct, c.LastNumberId, c.LastMessageAt, c.LastInboundAt, c.Id);
                }
                catch (DbException ex) when (UniqueViolation.IsUnique(ex))
                {
                    return false; // another instance started this conversation meanwhile
                }
            }
        }

        await using (var claim = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Messages" SET "State" = @p0, "OrgId" = @p1, "ConversationId" = @p2 WHERE "Id" = @p3 AND "State" = @p4
            """, 5, ct))
        {
            foreach (var m in plan.Messages)
            {
                var claimed = await claim.ExecuteAsync(ct, (int)m.State, m.OrgId, m.Conversation?.Id, m.MessageId, (int)claimFrom);
                if (claimed == 0) return false; // another router took it
                foreach (var t in m.Threads)
                    await feedThreads.AddAsync(new FeedAppend(m.OrgId!, m.Conversation!.Id!.Value, m.MessageId, t.ExtId, t.Part, t.MediaCount, t.Json), ct);
            }
        }

        if (plan.OptOuts.Count > 0)
        {
            await using var optOut = await PreparedCommand.CreateAsync(connection, tx, """
                INSERT INTO "OptOuts" ("SenderKey", "CustomerAddress", "OptedOut", "UpdatedAt") VALUES (@p0, @p1, @p2, @p3)
                ON CONFLICT ("SenderKey", "CustomerAddress") DO UPDATE SET "OptedOut" = excluded."OptedOut", "UpdatedAt" = excluded."UpdatedAt"
                """, 4, ct);
            var now = time.GetUtcNow().UtcDateTime;
            foreach (var o in plan.OptOuts.Values) await optOut.ExecuteAsync(ct, o.SenderKey, o.Customer, o.OptedOut, now);
        }

        await feedThreads.CompleteAsync(ct);
        return true;
    }
}
