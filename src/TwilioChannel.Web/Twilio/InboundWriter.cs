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
/// The unique MessageSid makes duplicates, retries and concurrent storms (also across instances) land as one row.
/// The new messages are routed into the Desk feed in the same transaction (see MessageRouter.RouteWithinAsync); if
/// routing fails, the batch is rolled back and stored alone, and the background router takes over.
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
            foreach (var item in batch) item.Committed.TrySetResult();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Storing {Count} inbound messages failed; their webhooks are answered with an error.", batch.Count);
            foreach (var item in batch) item.Committed.TrySetException(ex);
        }
    }

    private async Task CommitAsync(List<Pending> batch, bool route, CancellationToken ct)
    {
        var session = _session ??= await WriterSession.OpenAsync(scopes, ct);
        bool fed;
        try
        {
            fed = await CommitAsync(session, batch, route, ct);
        }
        catch
        {
            // Whatever failed, start the next batch on a fresh connection and freshly prepared statements.
            _session = null;
            await session.DisposeAsync();
            throw;
        }
        if (fed) wakeFeed.Notify();
    }

    private async Task<bool> CommitAsync(WriterSession session, List<Pending> batch, bool route, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(ct);
        await using var tx = await session.Connection.BeginTransactionAsync(ct);
        session.Enlist(tx);

        if (!route)
        {
            // RETURNING gives back only the rows actually inserted: duplicates (retries, storms) return nothing.
            foreach (var item in batch) await InsertAsync(session, item.Message, MessageState.Received, null, null, ct);
            await tx.CommitAsync(ct);
            await session.Db.Database.UseTransactionAsync(null, ct);
            return false;
        }

        // Only what is new is routed: duplicates (Twilio's retries, storms) must not touch conversations or opt-outs.
        var fresh = new List<Message>(batch.Count);
        var sids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in batch)
        {
            if (sids.Add(item.Message.MessageSid) && await session.Exists.ScalarAsync(ct, item.Message.MessageSid) is null or DBNull)
                fresh.Add(item.Message);
        }

        // Routed in the same transaction (one commit, one fsync), each row inserted once in its routed state.
        var fed = false;
        if (fresh.Count > 0)
        {
            var pending = fresh.Select(m => new PendingMessage(0, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, m.Form)).ToList();
            try
            {
                fed = await router.RouteNewAsync(session.Db, session.Routing, tx, pending,
                    (i, planned) => InsertAsync(session, fresh[i], planned.State, planned.OrgId, planned.Conversation?.Id, ct), ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new RoutingFailedException(ex);
            }
        }
        await tx.CommitAsync(ct);
        await session.Db.Database.UseTransactionAsync(null, ct);
        return fed;
    }

    /// <summary>Inserts a message unless its MessageSid is stored already; its id, or null for a duplicate.</summary>
    private static async Task<long?> InsertAsync(WriterSession session, Message m, MessageState state, string? orgId, long? conversationId, CancellationToken ct)
    {
        var id = await session.Insert.ScalarAsync(ct, m.MessageSid, m.AccountSid, m.From, m.To, m.Body, m.MessagingServiceSid, m.NumMedia,
            m.Direction, (int)state, m.ReceivedAt, m.RawForm, orgId, conversationId);
        return id is null or DBNull ? null : Convert.ToInt64(id);
    }

    private WriterSession? _session;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken); // the queue is drained first
        if (_session is { } session)
        {
            _session = null;
            await session.DisposeAsync();
        }
    }

    /// <summary>
    /// The writer's own connection, open for the service's lifetime, with its statements prepared once: preparing
    /// them and EF's per-batch setup cost more than the rows a batch writes (measured: ~0.5 ms of a 5 ms batch).
    /// </summary>
    private sealed class WriterSession(AsyncServiceScope scope, ChannelDbContext db, PreparedCommand insert, PreparedCommand exists, RoutingStatements routing) : IAsyncDisposable
    {
        public PreparedCommand Exists => exists;
        public ChannelDbContext Db => db;
        public DbConnection Connection => db.Database.GetDbConnection();
        public PreparedCommand Insert => insert;
        public RoutingStatements Routing => routing;

        public static async Task<WriterSession> OpenAsync(IServiceScopeFactory scopes, CancellationToken ct)
        {
            var scope = scopes.CreateAsyncScope();
            try
            {
                var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
                await db.Database.OpenConnectionAsync(ct);
                var connection = db.Database.GetDbConnection();
                var insert = await PreparedCommand.CreateAsync(connection, null, """
                    INSERT INTO "Messages" ("MessageSid", "AccountSid", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm", "OrgId", "ConversationId")
                    VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)
                    ON CONFLICT ("MessageSid") DO NOTHING RETURNING "Id"
                    """, 13, ct);
                var exists = await PreparedCommand.CreateAsync(connection, null, """SELECT 1 FROM "Messages" WHERE "MessageSid" = @p0""", 1, ct);
                return new WriterSession(scope, db, insert, exists, await RoutingStatements.PrepareAsync(connection, null, ct));
            }
            catch
            {
                await scope.DisposeAsync();
                throw;
            }
        }

        public void Enlist(DbTransaction tx)
        {
            insert.Enlist(tx);
            exists.Enlist(tx);
            routing.Enlist(tx);
        }

        public async ValueTask DisposeAsync()
        {
            await insert.DisposeAsync();
            await exists.DisposeAsync();
            await routing.DisposeAsync();
            await scope.DisposeAsync();
        }
    }

    private sealed class RoutingFailedException(Exception inner) : Exception("Routing in the ack transaction failed.", inner);

    internal sealed record Pending(Message Message)
    {
        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
