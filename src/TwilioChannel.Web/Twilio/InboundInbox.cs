using Microsoft.Data.Sqlite;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// The ack path: a webhook's form is appended to the inbox, a SQLite file of its own beside the database, and answered
/// once that append is on the disk; the projector (Twilio/InboundProjector) stores it in the database a moment later.
/// Appends are sequential pages in a file with its own write lock, so the database's costlier writes (Twilio's random
/// MessageSids put every message in a random index leaf) and whoever holds its lock never hold up an answer to Twilio.
/// A group commit like the database's writers (Common/BatchingWriter): one transaction and one fsync round
/// (Data/WalDurability, the inbox's own) per batch; the purges of what the database has on disk ride along.
/// See docs/decisions.md ("Ack = durably in the inbox").
/// </summary>
internal sealed class InboundInbox(InboxFile file, [FromKeyedServices(InboundInbox.Log)] WalDurability durability, InboundProjectorWakeup projector, ILogger<InboundInbox> logger)
    : BatchingWriter<InboundInbox.Pending>(MaxBatch, capacity: 20_000)
{
    /// <summary>The key of the inbox's own WalDurability (its log is not the database's).</summary>
    public const string Log = "inbox";

    private const int MaxBatch = 512;

    private SqliteConnection? _connection;
    private PreparedCommand? _insert, _purge, _lastId;
    private readonly Lock _acknowledgedLock = new();
    private long _appended, _acknowledged = file.LastAtStart;

    /// <summary>The id of the last entry on the disk: every webhook answered so far is at or below it.</summary>
    public long Acknowledged => Volatile.Read(ref _acknowledged);

    /// <summary>Returns once the form is durably in the inbox.</summary>
    public async Task AppendAsync(string rawForm, DateTime receivedAt, CancellationToken ct)
    {
        var pending = new Pending(rawForm, receivedAt, 0);
        await EnqueueAsync(pending, ct);
        await pending.Done.Task.WaitAsync(ct);
    }

    /// <summary>Drops the entries up to <paramref name="id"/>, which the projector has made durable in the database, with
    /// the next batch. Skipped when the queue is full or closed: the next purge covers it, and an entry left behind is
    /// only stored again (a no-op) after a restart.</summary>
    public void Purge(long id) => TryEnqueue(new Pending(null, default, id));

    protected override async Task ProcessBatchAsync(List<Pending> batch)
    {
        try
        {
            await CommitAsync(batch);
        }
        catch (Exception ex)
        {
            Fail(batch, ex);
            await DropConnectionAsync();
            return;
        }
        var appended = _appended;
        WhenDurable(durability.SyncAsync(), () =>
        {
            // Batches' continuations may run out of order: the mark only moves forward.
            lock (_acknowledgedLock) if (appended > _acknowledged) _acknowledged = appended;
            foreach (var item in batch) item.Done.TrySetResult();
            projector.Notify();
        }, ex => Fail(batch, ex));
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        var connection = _connection ??= await OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        _insert!.Enlist(tx);
        _purge!.Enlist(tx);
        _lastId!.Enlist(tx);
        long purge = 0;
        foreach (var item in batch)
        {
            if (item.Form is null) purge = Math.Max(purge, item.PurgeUpTo);
            else await _insert.ExecuteAsync(CancellationToken.None, item.ReceivedAt.Ticks, item.Form);
        }
        if (await _lastId.ScalarAsync(CancellationToken.None) is long last) _appended = last;
        if (purge > 0) await _purge.ExecuteAsync(CancellationToken.None, purge);
        await tx.CommitAsync();
    }

    /// <summary>The loop's own connection, commits not waiting for the disk (the inbox's WalDurability does), with its
    /// statements prepared once.</summary>
    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = file.Open();
        try
        {
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=NORMAL";
                await pragma.ExecuteNonQueryAsync();
            }
            durability.Track(file.Path);
            _insert = await PreparedCommand.CreateAsync(connection, null, """INSERT INTO "Inbox" ("ReceivedAt", "Form") VALUES (@p0, @p1)""", 2, CancellationToken.None);
            _purge = await PreparedCommand.CreateAsync(connection, null, """DELETE FROM "Inbox" WHERE "Id" <= @p0""", 1, CancellationToken.None);
            _lastId = await PreparedCommand.CreateAsync(connection, null, "SELECT last_insert_rowid()", 0, CancellationToken.None);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task DropConnectionAsync()
    {
        foreach (var statement in new[] { _insert, _purge, _lastId })
            if (statement is not null) await statement.DisposeAsync();
        if (_connection is not null) await _connection.DisposeAsync();
        (_insert, _purge, _lastId, _connection) = (null, null, null, null);
    }

    private void Fail(List<Pending> batch, Exception ex)
    {
        logger.LogError(ex, "Appending {Count} webhooks to the inbox failed; they are answered with an error.", batch.Count);
        foreach (var item in batch) item.Done.TrySetException(ex);
    }

    /// <summary>
    /// The loop that uses the connection closes it, once it has drained the queue. Closed from StopAsync instead, it
    /// could be closed twice at once (a second stop finds the loop already ended) or while a last batch was still
    /// being written (a stop whose time ran out), and SQLite's connection then failed with "Collection was modified".
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await base.ExecuteAsync(stoppingToken);
        }
        finally
        {
            await DropConnectionAsync();
        }
    }

    internal sealed record Pending(string? Form, DateTime ReceivedAt, long PurgeUpTo)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Wakes the projector once new webhooks are durably in the inbox.</summary>
public sealed class InboundProjectorWakeup : Wakeup;
