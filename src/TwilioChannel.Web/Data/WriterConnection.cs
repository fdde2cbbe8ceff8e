using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace TwilioChannel.Web.Data;

/// <summary>
/// The connection of one single-threaded writer loop (the InboundWriter, the GroupCommit), open for the
/// service's lifetime as a <see cref="KeptConnection"/>: every statement the loop prepares through
/// PreparedCommand is parsed and planned once (preparing, and EF's per-batch setup, cost more than the small rows a
/// batch writes). After any failure the connection and its statements are dropped and the next use starts afresh.
/// Never used by two threads at once.
///
/// On a SQLite file in WAL mode the connection commits with synchronous=NORMAL and leaves the log's fsync to
/// <see cref="WalDurability"/>: the loop's COMMIT no longer waits for the disk, and its callers await
/// <see cref="DurableAsync"/> before they answer anyone. The setting lives on the physical connection, so it is put back
/// to FULL before the connection returns to the pool (or the pool is cleared if that fails).
/// </summary>
internal sealed class WriterConnection(IServiceScopeFactory scopes, WalDurability durability) : IAsyncDisposable
{
    private Session? _session;

    /// <summary>Completes once everything this connection has committed so far is on the disk.</summary>
    public Task DurableAsync() => durability.SyncAsync();

    /// <summary>Runs <paramref name="work"/> on the connection (opened on first use, or again after a failure).</summary>
    public async Task<T> UseAsync<T>(Func<ChannelDbContext, DbConnection, Task<T>> work)
    {
        var session = _session ??= await Session.OpenAsync(scopes, durability);
        try
        {
            return await work(session.Db, session.Db.Database.GetDbConnection());
        }
        catch
        {
            _session = null;
            await session.DisposeAsync();
            throw;
        }
    }

    public Task UseAsync(Func<ChannelDbContext, DbConnection, Task> work) =>
        UseAsync<bool>(async (db, connection) => { await work(db, connection); return true; });

    public async ValueTask DisposeAsync()
    {
        if (_session is { } session)
        {
            _session = null;
            await session.DisposeAsync();
        }
    }

    /// <summary>The kept connection, and whether its fsync is deferred to <see cref="WalDurability"/>.</summary>
    private sealed class Session(KeptConnection kept, bool deferred) : IAsyncDisposable
    {
        public ChannelDbContext Db => kept.Db;

        public static async Task<Session> OpenAsync(IServiceScopeFactory scopes, WalDurability durability)
        {
            var kept = await KeptConnection.OpenAsync(scopes);
            try
            {
                return new Session(kept, await DeferFsyncAsync(kept.Connection, durability));
            }
            catch
            {
                await kept.DisposeAsync();
                throw;
            }
        }

        /// <summary>On a WAL database file: tracked by <paramref name="durability"/> first, then synchronous=NORMAL.</summary>
        private static async Task<bool> DeferFsyncAsync(DbConnection connection, WalDurability durability)
        {
            if (connection is not SqliteConnection) return false;
            var mode = await ScalarAsync(connection, "PRAGMA journal_mode") as string;
            var file = await ScalarAsync(connection, "SELECT \"file\" FROM pragma_database_list WHERE \"name\" = 'main'") as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(file)) return false;
            durability.Track(file);
            await ScalarAsync(connection, "PRAGMA synchronous=NORMAL");
            return true;
        }

        private static async Task<object?> ScalarAsync(DbConnection connection, string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return await command.ExecuteScalarAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (deferred) await RestoreFullSyncAsync();
            await kept.DisposeAsync();
        }

        /// <summary>The pool must never hand a NORMAL connection to code that expects its commits to be durable.</summary>
        private async Task RestoreFullSyncAsync()
        {
            var connection = kept.Connection;
            try
            {
                await ScalarAsync(connection, "PRAGMA synchronous=FULL");
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException)
            {
                if (connection is SqliteConnection sqlite) SqliteConnection.ClearPool(sqlite);
            }
        }
    }
}
