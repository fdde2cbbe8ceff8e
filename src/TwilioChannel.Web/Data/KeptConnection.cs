using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace TwilioChannel.Web.Data;

/// <summary>
/// A database connection kept beyond one request, with a <see cref="StatementCache"/> attached so that every statement
/// prepared on it through PreparedCommand is parsed and planned once: the writer loops' connections
/// (<see cref="WriterConnection"/>) and the hot read paths' (<see cref="ReadConnections"/>). It has its own DI scope and
/// context, so the connection gets the same string and per-connection settings as every other. Used by one caller at a
/// time; disposing it drops the statements and gives the context (and its connection) back.
/// </summary>
internal sealed class KeptConnection(AsyncServiceScope scope, ChannelDbContext db, StatementCache statements) : IAsyncDisposable
{
    public ChannelDbContext Db => db;

    public DbConnection Connection => db.Database.GetDbConnection();

    public static async Task<KeptConnection> OpenAsync(IServiceScopeFactory scopes)
    {
        var scope = scopes.CreateAsyncScope();
        try
        {
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            await db.Database.OpenConnectionAsync();
            return new KeptConnection(scope, db, StatementCache.Attach(db.Database.GetDbConnection()));
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
