using System.Data.Common;
using System.Runtime.CompilerServices;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Prepared statements kept for the life of one long-lived connection (a WriterConnection: the ack path's writer, the
/// group commit), by SQL text. Code on it keeps the plain "prepare, execute, dispose" shape (claims, outcomes, statuses,
/// cursor moves, the ack path's inserts and routing); with the cache attached, each statement is parsed and planned once
/// instead of once per use (measured: statement preparation was the largest part of a reply's database time). Used by
/// one writer at a time, never concurrently.
/// </summary>
internal sealed class StatementCache : IAsyncDisposable
{
    /// <summary>Beyond this many distinct statements (SQL should be constant text; this bounds a mistake), prepare per use.</summary>
    private const int Capacity = 256;
    private static readonly ConditionalWeakTable<DbConnection, StatementCache> Attached = new();
    private readonly Dictionary<(string Sql, int Parameters), PreparedCommand> _statements = [];
    private readonly DbConnection _connection;

    private StatementCache(DbConnection connection) => _connection = connection;

    /// <summary>Attaches a cache to <paramref name="connection"/> until the cache is disposed.</summary>
    public static StatementCache Attach(DbConnection connection)
    {
        var cache = new StatementCache(connection);
        Attached.AddOrUpdate(connection, cache);
        return cache;
    }

    public static StatementCache? For(DbConnection connection) => Attached.TryGetValue(connection, out var cache) ? cache : null;

    /// <summary>The cached statement, enlisted in <paramref name="tx"/>; null when the cache is full (prepare it per use).</summary>
    public async Task<PreparedCommand?> GetAsync(DbConnection connection, DbTransaction? tx, string sql, int parameterCount, CancellationToken ct)
    {
        if (!_statements.TryGetValue((sql, parameterCount), out var statement))
        {
            if (_statements.Count >= Capacity) return null;
            statement = await PreparedCommand.PrepareCachedAsync(connection, sql, parameterCount, ct);
            _statements[(sql, parameterCount)] = statement;
        }
        statement.Enlist(tx);
        return statement;
    }

    public async ValueTask DisposeAsync()
    {
        Attached.Remove(_connection);
        foreach (var statement in _statements.Values) await statement.ReleaseAsync();
        _statements.Clear();
    }
}
