using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace TwilioChannel.Web.Data;

/// <summary>
/// The connection of one single-threaded writer loop (the ack path's InboundWriter, the GroupCommit), open for the
/// service's lifetime with a <see cref="StatementCache"/> attached: every statement the loop prepares through
/// PreparedCommand is parsed and planned once (preparing, and EF's per-batch setup, cost more than the small rows a
/// batch writes). After any failure the connection and its statements are dropped and the next use starts afresh.
/// Never used by two threads at once.
/// </summary>
internal sealed class WriterConnection(IServiceScopeFactory scopes) : IAsyncDisposable
{
    private Session? _session;

    /// <summary>Runs <paramref name="work"/> on the connection (opened on first use, or again after a failure).</summary>
    public async Task<T> UseAsync<T>(Func<ChannelDbContext, DbConnection, Task<T>> work)
    {
        var session = _session ??= await Session.OpenAsync(scopes);
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

    private sealed class Session(AsyncServiceScope scope, ChannelDbContext db, StatementCache statements) : IAsyncDisposable
    {
        public ChannelDbContext Db => db;

        public static async Task<Session> OpenAsync(IServiceScopeFactory scopes)
        {
            var scope = scopes.CreateAsyncScope();
            try
            {
                var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
                await db.Database.OpenConnectionAsync();
                return new Session(scope, db, StatementCache.Attach(db.Database.GetDbConnection()));
            }
            catch
            {
                await scope.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await statements.DisposeAsync();
            await scope.DisposeAsync();
        }
    }
}
