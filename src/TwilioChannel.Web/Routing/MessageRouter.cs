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
    UnroutedRecheck recheck,
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

    /// <summary>The next stored messages waiting to be routed, oldest first (served by the partial IX_Messages_Received).</summary>
    internal static IQueryable<PendingMessage> ReceivedBatch(ChannelDbContext db) => db.Messages.AsNoTracking()
        .Where(m => m.State == MessageState.Received).OrderBy(m => m.Id).Take(BatchSize)
        .Select(m => new PendingMessage(m.Id, m.AccountSid, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, null, "in"));

    /// <summary>Routes one batch; returns how many messages it handled (0: nothing to do, or it must be re-planned).</summary>
    internal async Task<int> RouteBatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var pending = await ReceivedBatch(db).ToListAsync(ct);
        if (pending.Count == 0) return 0;

        if (await PlanAndCommitAsync(db, pending, MessageState.Received, ct) is { } plan)
        {
            await recheck.RecheckAsync(Unrouted(plan), ct);
            return pending.Count;
        }
        logger.LogInformation("A routing batch raced another router; re-planning.");
        return 1;
    }

    /// <summary>
    /// Routes messages the ack path is storing, inside its transaction (the caller holds the write gate and has enlisted
    /// <paramref name="statements"/> in <paramref name="tx"/>), so storing and routing cost one commit. The messages are
    /// not stored yet (the caller has checked they are new): <paramref name="store"/> inserts message i of
    /// <paramref name="fresh"/> in its routed state and returns its id, or null if it turned out to be stored already.
    /// Writing each row once, routed, spares an UPDATE of the row and of its indexes per message. Throws on failure; the
    /// caller rolls back. Returns whether threads were added to the feed (the caller wakes the delivery after its commit)
    /// and the ids of the messages stored unrouted (the caller has them checked again after its commit: UnroutedRecheck).
    /// </summary>
    internal async Task<RoutedNew> RouteNewAsync(ChannelDbContext db, RoutingStatements statements, DbTransaction tx, IReadOnlyList<PendingMessage> fresh,
        Func<int, PlannedMessage, Task<long?>> store, CancellationToken ct)
    {
        await db.Database.UseTransactionAsync(tx, ct); // the number directory may reload through EF on this connection
        var plan = await PlanAsync(db, statements, fresh, ct);
        var unrouted = new List<long>();
        async Task<long?> StoreAsync(int i, PlannedMessage m)
        {
            var id = await store(i, m);
            if (id is { } stored && m.State == MessageState.Unrouted) unrouted.Add(stored);
            return id;
        }
        if (!await ApplyAsync(statements, plan, StoreAsync, ct))
            throw new InvalidOperationException("A message of the batch was stored meanwhile by someone else.");
        return new RoutedNew(plan.Messages.Any(m => m.Threads.Count > 0), unrouted);
    }

    /// <summary>
    /// Routes messages a backfill held, in the order given (oldest first), in one transaction; returns how many reached
    /// a ticket (not those left unrouted: their number is gone), 0 also when the chunk raced another router (a
    /// conversation started meanwhile, or another runner routed some): the caller then reads what is still held and
    /// tries again.
    /// </summary>
    internal async Task<int> RouteHeldAsync(IReadOnlyList<PendingMessage> held, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        if (await PlanAndCommitAsync(db, held, MessageState.Held, ct) is not { } plan) return 0;
        await recheck.RecheckAsync(Unrouted(plan), ct);
        return plan.Messages.Count(m => m.State == MessageState.Routed);
    }

    /// <summary>The stored messages a committed plan left unrouted (claimed ones: their ids are known).</summary>
    private static List<long> Unrouted(RoutingPlan plan) => plan.Messages.Where(m => m.State == MessageState.Unrouted).Select(m => m.MessageId).ToList();

    /// <summary>Plans outside the write gate, then applies the plan in its own transaction under it and wakes the
    /// delivery after the commit; null (rolled back) when the batch raced another router.</summary>
    private async Task<RoutingPlan?> PlanAndCommitAsync(ChannelDbContext db, IReadOnlyList<PendingMessage> pending, MessageState claimFrom, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        var connection = db.Database.GetDbConnection();
        await using var statements = await RoutingStatements.PrepareAsync(connection, null, ct);
        var plan = await PlanAsync(db, statements, pending, ct);

        using var turn = await gate.EnterAsync(ct);
        // From here on, no cancellation: a shutdown waits for this short transaction rather than cutting it.
        await using var tx = await connection.BeginTransactionAsync(CancellationToken.None);
        statements.Enlist(tx);
        if (!await ApplyAsync(statements, plan, Claim(statements, claimFrom), CancellationToken.None))
        {
            await tx.RollbackAsync(CancellationToken.None);
            return null;
        }
        await tx.CommitAsync(CancellationToken.None);
        if (plan.Messages.Any(m => m.Threads.Count > 0)) feed.Notify();
        return plan;
    }

    private async Task<RoutingPlan> PlanAsync(ChannelDbContext db, RoutingStatements statements, IReadOnlyList<PendingMessage> pending, CancellationToken ct)
    {
        var numbers = await directory.LookupAsync(db, pending, ct);
        var routed = pending.Select(m => (Message: m, Number: numbers.Find(m))).ToList();
        foreach (var (message, _) in routed.Where(r => r.Number is null))
        {
            if (numbers.FindAnyAccount(message) is { } other)
                logger.LogWarning("A message for {Number} came from Twilio account {AccountSid}, but the number is configured under {NumberAccountSid}; it stays unrouted.",
                    message.OurAddress, message.AccountSid, other.AccountSid);
        }
        var keys = routed.Where(r => r.Number is not null).GroupBy(r => (r.Number!.OrgId, r.Message.Customer))
            .Select(g => (g.Key.OrgId, g.Key.Customer, Oldest: g.Min(r => r.Message.ReceivedAt)));
        var conversations = await statements.ConversationsAsync(keys, ct);

        var plan = new RoutingPlan(conversations, desk.Value.ThreadContentLimit, desk.Value.NewTicketAfterHours);
        foreach (var (message, number) in routed) plan.Add(message, number);
        return plan;
    }

    /// <summary>Claims a stored message for routing: only while it is still in <paramref name="from"/>; null when another
    /// router took it.</summary>
    private static Func<int, PlannedMessage, Task<long?>> Claim(RoutingStatements statements, MessageState from) => async (_, m) =>
        await statements.Claim.ExecuteAsync(CancellationToken.None, (int)m.State, m.OrgId, m.Conversation?.Id, m.MessageId, (int)from) == 0 ? null : m.MessageId;

    /// <summary>Writes the plan: conversations, then each message (<paramref name="store"/>: claimed or inserted, giving
    /// its id) with its threads, opt-outs, the feed counter. False when the batch raced another router.</summary>
    private async Task<bool> ApplyAsync(RoutingStatements statements, RoutingPlan plan, Func<int, PlannedMessage, Task<long?>> store, CancellationToken ct)
    {
        // The counter's row lock first: it serialises routers and makes position order equal commit order.
        await using var feedThreads = await FeedAppender.BeginAsync(statements.Feed, ct);

        foreach (var c in plan.Conversations.Where(c => c.Changed))
        {
            try
            {
                if (c.Id is null)
                    c.Id = Convert.ToInt64(await statements.InsertConversation.ScalarAsync(ct, c.OrgId, c.Customer, c.Generation, c.TicketExtId, c.NewTicketJson, c.LastNumberId, c.CreatedAt, c.LastMessageAt, c.LastInboundAt));
                else
                    await statements.UpdateConversation.ExecuteAsync(ct, c.LastNumberId, c.LastMessageAt, c.LastInboundAt, c.Id);
            }
            catch (DbException ex) when (UniqueViolation.IsUnique(ex))
            {
                return false; // another instance started this conversation meanwhile
            }
        }

        for (var i = 0; i < plan.Messages.Count; i++)
        {
            var m = plan.Messages[i];
            if (await store(i, m) is not { } messageId) return false; // another router (or instance) took it
            foreach (var t in m.Threads)
                await feedThreads.AddAsync(new FeedAppend(m.OrgId!, m.Conversation!.Id!.Value, messageId, t.ExtId, t.Part, t.MediaCount, t.Json), ct);
        }

        // Stamped with the time the customer sent it: the statement keeps a later STOP or START already stored.
        foreach (var o in plan.OptOuts.Values) await statements.OptOut.ExecuteAsync(ct, o.SenderKey, o.Customer, o.OptedOut, o.At);

        await feedThreads.CompleteAsync(ct);
        return true;
    }
}

/// <summary>What routing the ack path's new messages gave: whether the feed grew, and which were stored unrouted.</summary>
internal sealed record RoutedNew(bool Fed, IReadOnlyList<long> Unrouted);
