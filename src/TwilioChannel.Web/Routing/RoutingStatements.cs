using System.Data.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>
/// Every statement routing a batch runs, prepared on one connection. On the ack path's WriterConnection they come from
/// its statement cache, prepared once (measured: preparing a batch's statements and EF's conversation query cost more
/// than the rows they write); the background router prepares them per batch.
/// </summary>
internal sealed class RoutingStatements : IAsyncDisposable
{
    private readonly PreparedCommand[] _all;

    private RoutingStatements(PreparedCommand latestConversation, PreparedCommand earlierConversations, PreparedCommand insertConversation,
        PreparedCommand updateConversation, PreparedCommand claim, PreparedCommand optOut, FeedStatements feed)
    {
        (LatestConversation, EarlierConversations, InsertConversation, UpdateConversation, Claim, OptOut, Feed) =
            (latestConversation, earlierConversations, insertConversation, updateConversation, claim, optOut, feed);
        _all = [latestConversation, earlierConversations, insertConversation, updateConversation, claim, optOut];
    }

    /// <summary>The latest generation of an org's conversation with a customer (an index seek).</summary>
    public PreparedCommand LatestConversation { get; }
    /// <summary>The generations before a given one (Desk:NewTicketAfterHours), for older messages found later.</summary>
    public PreparedCommand EarlierConversations { get; }
    public PreparedCommand InsertConversation { get; }
    public PreparedCommand UpdateConversation { get; }
    /// <summary>Claims a message for routing: matches only while it is still in the expected state.</summary>
    public PreparedCommand Claim { get; }
    public PreparedCommand OptOut { get; }
    public FeedStatements Feed { get; }

    public static async Task<RoutingStatements> PrepareAsync(DbConnection connection, DbTransaction? tx, CancellationToken ct) => new(
        await PreparedCommand.CreateAsync(connection, tx, """
            SELECT "Id", "Generation", "TicketExtId", "CreatedAt", "LastMessageAt", "LastInboundAt", "LastNumberId"
            FROM "Conversations" WHERE "OrgId" = @p0 AND "CustomerAddress" = @p1 ORDER BY "Generation" DESC LIMIT 1
            """, 2, ct),
        await PreparedCommand.CreateAsync(connection, tx, """
            SELECT "Id", "Generation", "TicketExtId", "CreatedAt", "LastMessageAt", "LastInboundAt", "LastNumberId"
            FROM "Conversations" WHERE "OrgId" = @p0 AND "CustomerAddress" = @p1 AND "Generation" < @p2 ORDER BY "Generation" DESC
            """, 3, ct),
        await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "Conversations" ("OrgId", "CustomerAddress", "Generation", "TicketExtId", "TicketJson", "LastNumberId", "CreatedAt", "LastMessageAt", "LastInboundAt")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8) RETURNING "Id"
            """, 9, ct),
        // Only forward: a batch is planned from the conversation as it was read before the write lock, and another
        // writer (the ack path here, or another instance) may have stored a newer message of it since. Written as
        // planned, an older message's batch put LastInboundAt (the WhatsApp window) and LastMessageAt (new tickets after
        // silence) back, and the reply number back to the older message's. Every SET reads the row as it was.
        await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Conversations" SET
                "LastNumberId" = CASE WHEN "LastInboundAt" IS NULL OR "LastInboundAt" <= @p2 THEN @p0 ELSE "LastNumberId" END,
                "LastMessageAt" = CASE WHEN "LastMessageAt" < @p1 THEN @p1 ELSE "LastMessageAt" END,
                "LastInboundAt" = CASE WHEN "LastInboundAt" IS NULL OR "LastInboundAt" < @p2 THEN @p2 ELSE "LastInboundAt" END
            WHERE "Id" = @p3
            """, 4, ct),
        await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "Messages" SET "State" = @p0, "OrgId" = @p1, "ConversationId" = @p2 WHERE "Id" = @p3 AND "State" = @p4
            """, 5, ct),
        await PreparedCommand.CreateAsync(connection, tx, OptOutUpsert.Sql, 4, ct),
        await FeedStatements.PrepareAsync(connection, tx, ct));

    public void Enlist(DbTransaction? tx)
    {
        foreach (var command in _all) command.Enlist(tx);
        Feed.Enlist(tx);
    }

    /// <summary>
    /// The latest conversation of each (org, customer) that has one, and its older generations (Desk:NewTicketAfterHours)
    /// when the batch has a message of that customer from before the latest began: history a backfill or the
    /// reconciliation found later belongs to the ticket open when it was sent. Live traffic reads the latest only.
    /// </summary>
    /// <param name="keys">Each (org, customer) with the time of its oldest message in the batch.</param>
    public async Task<List<ConversationState>> ConversationsAsync(IEnumerable<(string OrgId, string Customer, DateTime Oldest)> keys, CancellationToken ct)
    {
        var found = new List<ConversationState>();
        foreach (var (orgId, customer, oldest) in keys)
        {
            ConversationState? latest;
            await using (var reader = await LatestConversation.ReaderAsync(ct, orgId, customer))
                latest = await reader.ReadAsync(ct) ? Read(reader, orgId, customer) : null;
            if (latest is null) continue;
            found.Add(latest);
            if (latest.Generation == 1 || oldest >= latest.CreatedAt) continue;
            await using var earlier = await EarlierConversations.ReaderAsync(ct, orgId, customer, latest.Generation);
            while (await earlier.ReadAsync(ct)) found.Add(Read(earlier, orgId, customer));
        }
        return found;
    }

    private static ConversationState Read(DbDataReader reader, string orgId, string customer) => new()
    {
        Id = reader.GetInt64(0), OrgId = orgId, Customer = customer, Generation = reader.GetInt32(1), TicketExtId = reader.GetString(2),
        CreatedAt = reader.GetUtcDateTime(3), LastMessageAt = reader.GetUtcDateTime(4),
        LastInboundAt = reader.GetUtcDateTimeOrNull(5),
        LastNumberId = reader.IsDBNull(6) ? null : reader.GetInt64(6),
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var command in _all) await command.DisposeAsync();
        await Feed.DisposeAsync();
    }
}
