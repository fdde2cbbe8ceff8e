using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Stores the webhooks the projector takes from the inbox (Twilio/InboundProjector): one transaction per batch of
/// prepared INSERT … ON CONFLICT(MessageSid) DO NOTHING, so duplicates, Twilio's retries, concurrent storms (also across
/// instances) and a batch stored again after a crash land as one row. The new messages are routed into the Desk feed in
/// the same transaction (MessageRouter.RouteNewAsync); if routing fails, the batch is rolled back and stored alone, and
/// the background router takes over. The COMMIT doesn't wait for the disk (Data/WalDurability): the projector drops the
/// batch from the inbox once <see cref="DurableAsync"/> says it is there.
/// </summary>
internal sealed class InboundWriter(IServiceScopeFactory scopes, WalDurability durability, WriteGate gate, MessageRouter router, UnroutedRecheck recheck,
    History.HeldRelease held, RouterWakeup wakeRouter, FeedWakeup wakeFeed, ILogger<InboundWriter> logger)
    : IAsyncDisposable
{
    /// <summary>Stores and routes a batch of webhooks from the inbox; returns once committed (<see cref="DurableAsync"/>
    /// tells when it is on the disk). One caller at a time (the projector).</summary>
    public async Task StoreAsync(List<Message> batch)
    {
        // Once taken, a batch is committed whatever happens: a shutdown must not cut a transaction in half.
        try
        {
            await CommitAsync(batch, route: true, CancellationToken.None);
        }
        catch (RoutingFailedException ex)
        {
            // Routing must never cost a customer's message: store the batch alone; the background router retries.
            logger.LogWarning(ex.InnerException, "Routing {Count} new messages failed; they are stored for the background router.", batch.Count);
            await CommitAsync(batch, route: false, CancellationToken.None);
            wakeRouter.Notify();
        }
    }

    /// <summary>Completes once everything stored so far is on the disk.</summary>
    public Task DurableAsync() => _connection.DurableAsync();

    private const string InsertSql = """
        INSERT INTO "Messages" ("MessageSid", "AccountSid", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm", "OrgId", "ConversationId")
        VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)
        ON CONFLICT ("MessageSid") DO NOTHING RETURNING "Id"
        """;

    /// <summary>The writer's own long-lived connection: its statements below are prepared once, not per batch.</summary>
    private readonly WriterConnection _connection = new(scopes, durability);

    private async Task CommitAsync(List<Message> batch, bool route, CancellationToken ct)
    {
        var heldTaken = new List<long>();
        var routed = await _connection.UseAsync((db, connection) => CommitAsync(db, connection, batch, route, heldTaken, ct));
        if (routed.Fed) wakeFeed.Notify();
        // Planned from the number list as this instance last read it: one added meanwhile is found now.
        await recheck.RecheckAsync(routed.Unrouted, ct);
        if (heldTaken.Count > 0) await RouteHeldNowAsync(heldTaken);
    }

    /// <summary>Held messages whose webhook came: routed now, outside the ack's transaction (a failure leaves them to
    /// their backfill's release).</summary>
    private async Task RouteHeldNowAsync(List<long> ids)
    {
        try
        {
            await held.RouteNowAsync(ids, CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Routing {Count} messages a backfill held, whose webhooks came, failed; their backfill routes them.", ids.Count);
        }
    }

    private async Task<RoutedNew> CommitAsync(ChannelDbContext db, DbConnection connection, List<Message> batch, bool route, List<long> heldTaken, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, InsertSql, 13, ct);
        try
        {
            var fed = route
                ? await StoreRoutedAsync(db, connection, tx, insert, batch, heldTaken, ct)
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

    private static async Task<RoutedNew> StoreAsync(PreparedCommand insert, List<Message> batch, CancellationToken ct)
    {
        foreach (var message in batch) await InsertAsync(insert, message, MessageState.Received, null, null, ct);
        return new RoutedNew(false, []);
    }

    /// <summary>Stores the batch's new messages already routed; returns whether threads were added to the feed and which
    /// were stored unrouted.</summary>
    /// <param name="heldTaken">Filled with the messages a backfill held whose webhooks are in the batch: their rows take
    /// the webhook's form (it carries what Twilio's list doesn't: a WhatsApp location, the profile name), and the caller
    /// routes them once this commits.</param>
    private async Task<RoutedNew> StoreRoutedAsync(ChannelDbContext db, DbConnection connection, DbTransaction tx, PreparedCommand insert, List<Message> batch,
        List<long> heldTaken, CancellationToken ct)
    {
        // Only what is new is routed: duplicates (Twilio's retries, storms) must not touch conversations or opt-outs.
        await using var exists = await PreparedCommand.CreateAsync(connection, tx, """SELECT "State" FROM "Messages" WHERE "MessageSid" = @p0""", 1, ct);
        var fresh = new List<Message>(batch.Count);
        var sids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in batch)
        {
            if (!sids.Add(message.MessageSid)) continue;
            var state = await exists.ScalarAsync(ct, message.MessageSid);
            if (state is null or DBNull) fresh.Add(message);
            else if (Convert.ToInt32(state) == (int)MessageState.Held && await TakeHeldAsync(connection, tx, message, ct) is { } id) heldTaken.Add(id);
        }
        if (fresh.Count == 0) return new RoutedNew(false, []);

        // Routed in the same transaction (one commit, one fsync), each row inserted once in its routed state.
        var pending = fresh.Select(m => new PendingMessage(0, m.AccountSid, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, m.Form, Inbound: m.Inbound)).ToList();
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

    /// <summary>A held message's row takes its webhook's form; its id, or null when it is no longer held.</summary>
    private static async Task<long?> TakeHeldAsync(DbConnection connection, DbTransaction tx, Message m, CancellationToken ct)
    {
        await using var update = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Messages" SET "RawForm" = @p1 WHERE "MessageSid" = @p0 AND "State" = @p2 RETURNING "Id"
            """, 3, ct);
        var id = await update.ScalarAsync(ct, m.MessageSid, m.RawForm, (int)MessageState.Held);
        return id is null or DBNull ? null : Convert.ToInt64(id);
    }

    /// <summary>Inserts a message unless its MessageSid is stored already; its id, or null for a duplicate.</summary>
    private static async Task<long?> InsertAsync(PreparedCommand insert, Message m, MessageState state, string? orgId, long? conversationId, CancellationToken ct)
    {
        var id = await insert.ScalarAsync(ct, m.MessageSid, m.AccountSid, m.From, m.To, m.Body, m.MessagingServiceSid, m.NumMedia,
            m.Direction, (int)state, m.ReceivedAt, m.RawForm, orgId, conversationId);
        return id is null or DBNull ? null : Convert.ToInt64(id);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private sealed class RoutingFailedException(Exception inner) : Exception("Routing in the ack transaction failed.", inner);
}
