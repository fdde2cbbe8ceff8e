using System.Data.Common;
using TwilioChannel.Web.Common;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Group commit for small writes from many concurrent requests (reply claims and outcomes, status callbacks): each
/// caller hands over its statements and waits; one loop runs whatever has queued up in a single transaction and
/// commits once (if a piece fails, the batch runs again with each piece under its own savepoint, so one failing piece
/// doesn't take the others down). Every commit needs an fsync (≈1 ms here under load), so one per request would cap
/// these paths at a few hundred per second.
/// The callers are answered once the commit is on disk (Data/WalDurability), while the loop goes on with the next batch.
/// The loop runs on a WriterConnection, so the pieces' "prepare, execute, dispose" statements are prepared once.
/// The loop itself is shared with the ack path's inbox (Common/BatchingWriter).
/// </summary>
internal sealed class GroupCommit(IServiceScopeFactory scopes, WalDurability durability, WriteGate gate, ILogger<GroupCommit> logger)
    : BatchingWriter<GroupCommit.Pending>(MaxBatch, capacity: 10_000)
{
    private const int MaxBatch = 128;

    public delegate Task<object?> Work(DbConnection connection, DbTransaction transaction);

    /// <summary>Runs <paramref name="work"/> in the next group transaction; returns its result once committed.</summary>
    public async Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct = default)
    {
        var pending = new Pending(async (c, tx) => await work(c, tx));
        await EnqueueAsync(pending, ct);
        return (T)(await pending.Done.Task)!;
    }

    /// <summary>One statement (positional @p0… values) in the next group transaction; returns the rows it changed.</summary>
    public Task<int> ExecuteAsync(string sql, params object?[] values) => RunAsync(async (connection, tx) =>
    {
        await using var command = await PreparedCommand.CreateAsync(connection, tx, sql, values.Length, CancellationToken.None);
        return await command.ExecuteAsync(CancellationToken.None, values);
    });

    /// <summary>
    /// A cleanup's DELETE of at most <paramref name="chunk"/> rows (its SQL says LIMIT), run piece after piece until a
    /// piece deletes fewer: each is one short piece of a group commit, so replies and callbacks never wait behind a long
    /// delete. Returns the rows deleted in all.
    /// </summary>
    public async Task<int> DeleteInChunksAsync(string sql, int chunk, object? value, CancellationToken ct)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await ExecuteAsync(sql, value);
            total += deleted;
        }
        while (deleted == chunk && !ct.IsCancellationRequested);
        return total;
    }

    private readonly WriterConnection _connection = new(scopes, durability);

    protected override async Task ProcessBatchAsync(List<Pending> batch)
    {
        var results = new object?[batch.Count];
        var failures = new Exception?[batch.Count];
        try
        {
            await _connection.UseAsync((_, connection) => CommitAsync(connection, batch, results, failures));
        }
        catch (Exception ex)
        {
            Fail(batch, ex, "A group commit of {Count} writes failed.");
            return;
        }
        // Callers act on "committed" (a reply is sent to Twilio after its claim), so they hear it once it is on disk.
        WhenDurable(_connection.DurableAsync(), () =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (failures[i] is { } failure) batch[i].Done.TrySetException(failure);
                else batch[i].Done.TrySetResult(results[i]);
            }
        }, ex => Fail(batch, ex, "A group commit of {Count} writes could not be made durable."));
    }

    private void Fail(List<Pending> batch, Exception ex, string message)
    {
        logger.LogError(ex, message, batch.Count);
        foreach (var item in batch) item.Done.TrySetException(ex);
    }

    private async Task CommitAsync(DbConnection connection, List<Pending> batch, object?[] results, Exception?[] failures)
    {
        using var turn = await gate.EnterAsync(CancellationToken.None);
        if (!await TryWholeAsync(connection, batch, results)) await RunPieceByPieceAsync(connection, batch, results, failures);
    }

    /// <summary>
    /// The batch in one transaction without savepoints; false, with everything rolled back, when a piece failed.
    /// Pieces rarely fail (a claim's conflict is an ON CONFLICT, not an error), and a savepoint and its release were two
    /// statements per piece: half of a reply's statements (claim and outcome) in the loop every reply waits for.
    /// The pieces are functions of the database (they write through the transaction they are given and return a value),
    /// so running them again after the rollback is safe.
    /// </summary>
    private static async Task<bool> TryWholeAsync(DbConnection connection, List<Pending> batch, object?[] results)
    {
        await using var tx = await connection.BeginTransactionAsync();
        try
        {
            for (var i = 0; i < batch.Count; i++) results[i] = await batch[i].Work(connection, tx);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            await tx.RollbackAsync();
            return false;
        }
        await tx.CommitAsync();
        return true;
    }

    /// <summary>After a failed piece: each piece under its own savepoint, so the failing one is rolled back alone and
    /// hears its exception while the others commit.</summary>
    private static async Task RunPieceByPieceAsync(DbConnection connection, List<Pending> batch, object?[] results, Exception?[] failures)
    {
        await using var tx = await connection.BeginTransactionAsync();
        // Savepoints as (cached) statements too: SqliteTransaction.Save prepares its SQL on every call.
        await using var save = await PreparedCommand.CreateAsync(connection, tx, "SAVEPOINT piece", 0, CancellationToken.None);
        await using var release = await PreparedCommand.CreateAsync(connection, tx, "RELEASE piece", 0, CancellationToken.None);
        await using var rollback = await PreparedCommand.CreateAsync(connection, tx, "ROLLBACK TO piece", 0, CancellationToken.None);
        for (var i = 0; i < batch.Count; i++)
        {
            await save.ExecuteAsync(CancellationToken.None);
            try
            {
                results[i] = await batch[i].Work(connection, tx);
                await release.ExecuteAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException)
            {
                await rollback.ExecuteAsync(CancellationToken.None);
                await release.ExecuteAsync(CancellationToken.None);
                failures[i] = ex;
            }
        }
        await tx.CommitAsync();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken); // the queue is drained first
        await _connection.DisposeAsync();
    }

    internal sealed record Pending(Work Work)
    {
        public TaskCompletionSource<object?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
