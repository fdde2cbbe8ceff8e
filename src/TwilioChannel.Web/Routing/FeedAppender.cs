using System.Data.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>A thread to add to an org's feed: a routed message's part, a reply's status, a delivery notice, a replay.</summary>
internal sealed record FeedAppend(string OrgId, long ConversationId, long MessageId, string ExtId, int Part, int MediaCount, string ThreadJson);

/// <summary>
/// The one way threads enter the feed, inside the caller's transaction. <see cref="BeginAsync"/> takes the feed counter's
/// row lock first and reads it; each thread gets the next position; <see cref="CompleteAsync"/> writes the counter back.
/// The lock is held to commit, so another writer (another instance) waits for it and positions become visible strictly
/// in increasing order: a reader that has seen position N never later finds a new row below N (see MessageRouter).
/// </summary>
internal sealed class FeedAppender : IAsyncDisposable
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _tx;
    private readonly PreparedCommand _insert;
    private long _position;

    private FeedAppender(DbConnection connection, DbTransaction tx, PreparedCommand insert, long position) =>
        (_connection, _tx, _insert, _position) = (connection, tx, insert, position);

    public static async Task<FeedAppender> BeginAsync(DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
        await using (var lockCounter = await PreparedCommand.CreateAsync(connection, tx, """UPDATE "Counters" SET "Value" = "Value" WHERE "Name" = @p0""", 1, ct))
            await lockCounter.ExecuteAsync(ct, Counter.Feed);
        long position;
        await using (var read = await PreparedCommand.CreateAsync(connection, tx, """SELECT "Value" FROM "Counters" WHERE "Name" = @p0""", 1, ct))
            position = Convert.ToInt64(await read.ScalarAsync(ct, Counter.Feed));
        var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "FeedThreads" ("Position", "OrgId", "ConversationId", "MessageId", "ExtId", "Part", "MediaCount", "ThreadJson")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)
            """, 8, ct);
        return new FeedAppender(connection, tx, insert, position);
    }

    public Task AddAsync(FeedAppend t, CancellationToken ct) =>
        _insert.ExecuteAsync(ct, ++_position, t.OrgId, t.ConversationId, t.MessageId, t.ExtId, t.Part, t.MediaCount, t.ThreadJson);

    public async Task CompleteAsync(CancellationToken ct)
    {
        await using var advance = await PreparedCommand.CreateAsync(_connection, _tx, """UPDATE "Counters" SET "Value" = @p0 WHERE "Name" = @p1""", 2, ct);
        await advance.ExecuteAsync(ct, _position, Counter.Feed);
    }

    /// <summary>Appends <paramref name="threads"/> in order, in one go.</summary>
    public static async Task AppendAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<FeedAppend> threads, CancellationToken ct)
    {
        if (threads.Count == 0) return;
        await using var feed = await BeginAsync(connection, tx, ct);
        foreach (var t in threads) await feed.AddAsync(t, ct);
        await feed.CompleteAsync(ct);
    }

    public ValueTask DisposeAsync() => _insert.DisposeAsync();
}
