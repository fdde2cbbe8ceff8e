using System.Data.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>A thread to add to an org's feed: a routed message's part, a reply's status, a delivery notice, a replay.</summary>
internal sealed record FeedAppend(string OrgId, long ConversationId, long MessageId, string ExtId, int Part, int MediaCount, string ThreadJson);

/// <summary>The feed's statements, prepared once per connection by a long-lived writer (or per use, see FeedAppender).</summary>
internal sealed class FeedStatements : IAsyncDisposable
{
    private FeedStatements(PreparedCommand lockAndRead, PreparedCommand insert, PreparedCommand advance) =>
        (LockAndRead, Insert, Advance) = (lockAndRead, insert, advance);

    /// <summary>Takes the feed counter's row lock (held to commit) and returns its value, in one statement.</summary>
    public PreparedCommand LockAndRead { get; }
    public PreparedCommand Insert { get; }
    public PreparedCommand Advance { get; }

    public static async Task<FeedStatements> PrepareAsync(DbConnection connection, DbTransaction? tx, CancellationToken ct) => new(
        await PreparedCommand.CreateAsync(connection, tx, """UPDATE "Counters" SET "Value" = "Value" WHERE "Name" = @p0 RETURNING "Value" """, 1, ct),
        await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "FeedThreads" ("Position", "OrgId", "ConversationId", "MessageId", "ExtId", "Part", "MediaCount", "ThreadJson")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)
            """, 8, ct),
        await PreparedCommand.CreateAsync(connection, tx, """UPDATE "Counters" SET "Value" = @p0 WHERE "Name" = @p1""", 2, ct));

    public void Enlist(DbTransaction? tx)
    {
        LockAndRead.Enlist(tx);
        Insert.Enlist(tx);
        Advance.Enlist(tx);
    }

    public async ValueTask DisposeAsync()
    {
        await LockAndRead.DisposeAsync();
        await Insert.DisposeAsync();
        await Advance.DisposeAsync();
    }
}

/// <summary>
/// The one way threads enter the feed, inside the caller's transaction. <see cref="BeginAsync(FeedStatements, CancellationToken)"/>
/// takes the feed counter's row lock first and reads it; each thread gets the next position; <see cref="CompleteAsync"/>
/// writes the counter back. The lock is held to commit, so another writer (another instance) waits for it and positions
/// become visible strictly in increasing order: a reader that has seen position N never later finds a new row below N
/// (see MessageRouter).
/// </summary>
internal sealed class FeedAppender : IAsyncDisposable
{
    private readonly FeedStatements _statements;
    private readonly bool _owned;
    private long _position;

    private FeedAppender(FeedStatements statements, bool owned, long position) => (_statements, _owned, _position) = (statements, owned, position);

    /// <summary>Begins with statements prepared for this use only (disposed with the appender).</summary>
    public static async Task<FeedAppender> BeginAsync(DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
        var statements = await FeedStatements.PrepareAsync(connection, tx, ct);
        try
        {
            return await BeginAsync(statements, owned: true, ct);
        }
        catch
        {
            await statements.DisposeAsync();
            throw;
        }
    }

    /// <summary>Begins with a long-lived writer's statements, already enlisted in its transaction.</summary>
    public static Task<FeedAppender> BeginAsync(FeedStatements statements, CancellationToken ct) => BeginAsync(statements, owned: false, ct);

    private static async Task<FeedAppender> BeginAsync(FeedStatements statements, bool owned, CancellationToken ct) =>
        new(statements, owned, Convert.ToInt64(await statements.LockAndRead.ScalarAsync(ct, Counter.Feed)));

    public Task AddAsync(FeedAppend t, CancellationToken ct) =>
        _statements.Insert.ExecuteAsync(ct, ++_position, t.OrgId, t.ConversationId, t.MessageId, t.ExtId, t.Part, t.MediaCount, t.ThreadJson);

    public Task CompleteAsync(CancellationToken ct) => _statements.Advance.ExecuteAsync(ct, _position, Counter.Feed);

    /// <summary>Appends <paramref name="threads"/> in order, in one go.</summary>
    public static async Task AppendAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<FeedAppend> threads, CancellationToken ct)
    {
        if (threads.Count == 0) return;
        await using var feed = await BeginAsync(connection, tx, ct);
        foreach (var t in threads) await feed.AddAsync(t, ct);
        await feed.CompleteAsync(ct);
    }

    public ValueTask DisposeAsync() => _owned ? _statements.DisposeAsync() : ValueTask.CompletedTask;
}
