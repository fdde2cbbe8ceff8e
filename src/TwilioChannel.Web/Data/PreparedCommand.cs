using System.Data.Common;

namespace TwilioChannel.Web.Data;

/// <summary>A prepared statement with positional values, for the hot write paths where EF's change tracking costs
/// more than the rows themselves (../shared/STACK.md: ~14k rows/s with SaveChanges vs ~50k prepared). A long-lived
/// writer prepares its statements once and <see cref="Enlist"/>s them in each transaction: preparing (parsing SQL,
/// planning) costs more than executing a small statement. On a connection with a <see cref="StatementCache"/> (the
/// group commit's), <see cref="CreateAsync"/> hands out the cached statement instead, and disposing it keeps it.</summary>
internal sealed class PreparedCommand : IAsyncDisposable
{
    private readonly DbCommand _command;
    private readonly DbParameter[] _parameters;
    private bool _cached;

    private PreparedCommand(DbCommand command, DbParameter[] parameters) => (_command, _parameters) = (command, parameters);

    public static async Task<PreparedCommand> CreateAsync(DbConnection connection, DbTransaction? tx, string sql, int parameterCount, CancellationToken ct) =>
        (StatementCache.For(connection) is { } cache ? await cache.GetAsync(connection, tx, sql, parameterCount, ct) : null)
        ?? await PrepareAsync(connection, tx, sql, parameterCount, ct);

    /// <summary>A statement of the cache: prepared once, enlisted in each transaction, disposed with the cache.</summary>
    internal static async Task<PreparedCommand> PrepareCachedAsync(DbConnection connection, string sql, int parameterCount, CancellationToken ct)
    {
        var command = await PrepareAsync(connection, null, sql, parameterCount, ct);
        command._cached = true;
        return command;
    }

    private static async Task<PreparedCommand> PrepareAsync(DbConnection connection, DbTransaction? tx, string sql, int parameterCount, CancellationToken ct)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        var parameters = new DbParameter[parameterCount];
        for (var i = 0; i < parameterCount; i++)
        {
            parameters[i] = command.CreateParameter();
            parameters[i].ParameterName = $"@p{i}";
            command.Parameters.Add(parameters[i]);
        }
        await command.PrepareAsync(ct);
        return new PreparedCommand(command, parameters);
    }

    /// <summary>Runs the statement in <paramref name="tx"/> from now on (null: outside any transaction).</summary>
    public void Enlist(DbTransaction? tx) => _command.Transaction = tx;

    public Task<int> ExecuteAsync(CancellationToken ct, params object?[] values)
    {
        Bind(values);
        return _command.ExecuteNonQueryAsync(ct);
    }

    public Task<object?> ScalarAsync(CancellationToken ct, params object?[] values)
    {
        Bind(values);
        return _command.ExecuteScalarAsync(ct);
    }

    public Task<DbDataReader> ReaderAsync(CancellationToken ct, params object?[] values)
    {
        Bind(values);
        return _command.ExecuteReaderAsync(ct);
    }

    private void Bind(object?[] values)
    {
        for (var i = 0; i < _parameters.Length; i++) _parameters[i].Value = values[i] ?? DBNull.Value;
    }

    public ValueTask DisposeAsync() => _cached ? ValueTask.CompletedTask : _command.DisposeAsync();

    /// <summary>Disposes a cached statement (only its cache does).</summary>
    internal ValueTask ReleaseAsync() => _command.DisposeAsync();
}
