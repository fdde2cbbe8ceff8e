using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// The ack path's group commit. A webhook hands its message here and waits; one writer drains whatever has queued up
/// (up to <see cref="MaxBatch"/>) into a single transaction of prepared INSERT … ON CONFLICT(MessageSid) DO NOTHING and
/// completes every waiter after the commit. Under load batches grow, so we pay one fsync per batch instead of one per
/// request (measured on these machines: ~2k commits/s vs ~50k rows/s batched, ../shared/STACK.md). Alone, a message
/// commits on its own at once: there is no timer-based batching delay.
/// The COMMIT itself doesn't wait for the disk: the waiters are answered once the WAL's fsync that followed it has
/// returned (Data/WalDurability), while this loop already writes the next batch.
/// The unique MessageSid makes duplicates, retries and concurrent storms (also across instances) land as one row.
/// The new messages are routed into the Desk feed in the same transaction (see MessageRouter.RouteWithinAsync); if
/// routing fails, the batch is rolled back and stored alone, and the background router takes over.
/// </summary>
internal sealed class InboundWriter(IServiceScopeFactory scopes, WalDurability durability, WriteGate gate, MessageRouter router, RouterWakeup wakeRouter, FeedWakeup wakeFeed, ILogger<InboundWriter> logger)
    : BatchingWriter<InboundWriter.Pending>(MaxBatch, capacity: 20_000)
{
    internal const int MaxBatch = 256;

    /// <summary>Returns once the message is durably committed (or was already stored). While shutting down it throws
    /// ChannelClosedException: the webhook then answers 503 and Twilio's message list recovers the message later.</summary>
    public async Task StoreAsync(Message message, CancellationToken ct)
    {
        var pending = new Pending(message);
        await EnqueueAsync(pending, ct);
        await pending.Committed.Task.WaitAsync(ct);
    }

    protected override async Task ProcessBatchAsync(List<Pending> batch)
    {
        try
        {
            // Once taken off the queue, a batch is committed whatever happens: its webhooks are waiting for the
            // answer, and a shutdown must not cut a transaction in half.
            try
            {
                await CommitAsync(batch, route: true, CancellationToken.None);
            }
            catch (RoutingFailedException ex)
            {
                // Routing must never cost a customer's message: store the batch alone; the background router retries.
                logger.LogWarning(ex.InnerException, "Routing {Count} new messages in the ack transaction failed; they are stored for the background router.", batch.Count);
                await CommitAsync(batch, route: false, CancellationToken.None);
                wakeRouter.Notify();
            }
        }
        catch (Exception ex)
        {
            Fail(batch, ex, "Storing {Count} inbound messages failed; their webhooks are answered with an error.");
            return;
        }
        // Committed but maybe not on the disk if the fsync fails: not acknowledged, so Twilio retries (a duplicate then).
        WhenDurable(_connection.DurableAsync(),
            () => { foreach (var item in batch) item.Committed.TrySetResult(); },
            ex => Fail(batch, ex, "{Count} inbound messages could not be made durable; their webhooks are answered with an error."));
    }

    private void Fail(List<Pending> batch, Exception ex, string message)
    {
        logger.LogError(ex, message, batch.Count);
        foreach (var item in batch) item.Committed.TrySetException(ex);
    }

    private const string InsertSql = """
        INSERT INTO "Messages" ("MessageSid", "AccountSid", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm", "OrgId", "ConversationId")
        VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)
        ON CONFLICT ("MessageSid") DO NOTHING RETURNING "Id"
        """;

    /// <summary>The writer's own long-lived connection: its statements below are prepared once, not per batch.</summary>
    private readonly WriterConnection _connection = new(scopes, durability);

    private async Task CommitAsync(List<Pending> batch, bool route, CancellationToken ct)
    {
        if (await _connection.UseAsync((db, connection) => CommitAsync(db, connection, batch, route, ct))) wakeFeed.Notify();
    }

    private async Task<bool> CommitAsync(ChannelDbContext db, DbConnection connection, List<Pending> batch, bool route, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, InsertSql, 13, ct);
        try
        {
            var fed = route
                ? await StoreRoutedAsync(db, connection, tx, insert, batch, ct)
                // RETURNING gives back only the rows actually inserted: duplicates (retries, storms) return nothing.
                : await StoreAsync(insert, batch, ct);
            await tx.CommitAsync(ct);
            return fed;
        }
        finally
        {
            await db.Database.UseTransactionAsync(null, ct); // routing may have handed EF the transaction
        }
    }

    private static async Task<bool> StoreAsync(PreparedCommand insert, List<Pending> batch, CancellationToken ct)
    {
        foreach (var item in batch) await InsertAsync(insert, item.Message, MessageState.Received, null, null, ct);
        return false;
    }

    /// <summary>Stores the batch's new messages already routed; returns whether threads were added to the feed.</summary>
    private async Task<bool> StoreRoutedAsync(ChannelDbContext db, DbConnection connection, DbTransaction tx, PreparedCommand insert, List<Pending> batch, CancellationToken ct)
    {
        // Only what is new is routed: duplicates (Twilio's retries, storms) must not touch conversations or opt-outs.
        await using var exists = await PreparedCommand.CreateAsync(connection, tx, """SELECT 1 FROM "Messages" WHERE "MessageSid" = @p0""", 1, ct);
        var fresh = new List<Message>(batch.Count);
        var sids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in batch)
        {
            if (sids.Add(item.Message.MessageSid) && await exists.ScalarAsync(ct, item.Message.MessageSid) is null or DBNull)
                fresh.Add(item.Message);
        }
        if (fresh.Count == 0) return false;

        // Routed in the same transaction (one commit, one fsync), each row inserted once in its routed state.
        var pending = fresh.Select(m => new PendingMessage(0, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, m.Form, Inbound: m.Inbound)).ToList();
        try
        {
            await using var routing = await RoutingStatements.PrepareAsync(connection, tx, ct);
            return await router.RouteNewAsync(db, routing, tx, pending,
                (i, planned) => InsertAsync(insert, fresh[i], planned.State, planned.OrgId, planned.Conversation?.Id, ct), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new RoutingFailedException(ex);
        }
    }

    /// <summary>Inserts a message unless its MessageSid is stored already; its id, or null for a duplicate.</summary>
    private static async Task<long?> InsertAsync(PreparedCommand insert, Message m, MessageState state, string? orgId, long? conversationId, CancellationToken ct)
    {
        var id = await insert.ScalarAsync(ct, m.MessageSid, m.AccountSid, m.From, m.To, m.Body, m.MessagingServiceSid, m.NumMedia,
            m.Direction, (int)state, m.ReceivedAt, m.RawForm, orgId, conversationId);
        return id is null or DBNull ? null : Convert.ToInt64(id);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken); // the queue is drained first
        await _connection.DisposeAsync();
    }

    private sealed class RoutingFailedException(Exception inner) : Exception("Routing in the ack transaction failed.", inner);

    internal sealed record Pending(Message Message)
    {
        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
