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
/// The unique MessageSid makes duplicates, retries and concurrent storms (also across instances) land as one row.
/// The new messages are routed into the Desk feed in the same transaction (see MessageRouter.RouteWithinAsync).
/// </summary>
internal sealed class InboundWriter(IServiceScopeFactory scopes, WriteGate gate, MessageRouter router, RouterWakeup wakeRouter, FeedWakeup wakeFeed, ILogger<InboundWriter> logger)
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
            await CommitAsync(batch, CancellationToken.None);
            foreach (var item in batch) item.Committed.TrySetResult();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Storing {Count} inbound messages failed; their webhooks are answered with an error.", batch.Count);
            foreach (var item in batch) item.Committed.TrySetException(ex);
        }
    }

    private async Task CommitAsync(List<Pending> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        using var turn = await gate.EnterAsync(ct);
        await db.Database.OpenConnectionAsync(ct);
        var connection = db.Database.GetDbConnection();
        await using var tx = await connection.BeginTransactionAsync(ct);

        // RETURNING gives back only the rows actually inserted: duplicates (retries, storms) return nothing.
        var stored = new List<PendingMessage>(batch.Count);
        await using (var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "Messages" ("MessageSid", "AccountSid", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10)
            ON CONFLICT ("MessageSid") DO NOTHING RETURNING "Id"
            """, 11, ct))
        {
            foreach (var item in batch)
            {
                var m = item.Message;
                var id = await insert.ScalarAsync(ct, m.MessageSid, m.AccountSid, m.From, m.To, m.Body, m.MessagingServiceSid, m.NumMedia,
                    m.Direction, (int)MessageState.Received, m.ReceivedAt, m.RawForm);
                if (id is not null and not DBNull) stored.Add(new PendingMessage(Convert.ToInt64(id), m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, m.Form));
            }
        }

        // Route what was new in the same transaction: one commit (one fsync) for storing and routing. Routing must never
        // cost a customer's message, so it runs under a savepoint: if it fails, the messages stay stored as Received
        // and the background router picks them up.
        var fed = false;
        if (stored.Count > 0)
        {
            await tx.SaveAsync("route", ct);
            try
            {
                fed = await router.RouteWithinAsync(db, connection, tx, stored, ct);
                await tx.ReleaseAsync("route", ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Routing {Count} new messages in the ack transaction failed; they stay stored for the background router.", stored.Count);
                await tx.RollbackAsync("route", ct);
                db.ChangeTracker.Clear();
                wakeRouter.Notify();
            }
        }
        await tx.CommitAsync(ct);
        if (fed) wakeFeed.Notify();
    }

    internal sealed record Pending(Message Message)
    {
        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
