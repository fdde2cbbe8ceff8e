using System.Data.Common;
using System.Runtime.CompilerServices;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Prepared statements kept for the life of one long-lived connection (the group commit's), by SQL text. The group
/// commit runs many small pieces written as "prepare, execute, dispose" (claims, outcomes, statuses, cursor moves);
/// with the cache attached, each statement is parsed and planned once instead of once per piece (measured: statement
/// preparation was the largest part of a reply's database time). Used by one writer at a time, never concurrently.
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

    public async Task<PreparedCommand> GetAsync(DbConnection connection, DbTransaction? tx, string sql, int parameterCount, CancellationToken ct)
    {
        if (!_statements.TryGetValue((sql, parameterCount), out var statement))
        {
            if (_statements.Count >= Capacity)
            {
                Attached.Remove(connection); // prepare this one outside the cache, then attach again
                try { return await PreparedCommand.CreateAsync(connection, tx, sql, parameterCount, ct); }
                finally { Attached.AddOrUpdate(connection, this); }
            }
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
