using System.Collections.Concurrent;
using System.Data.Common;

namespace TwilioChannel.Web.Data;

/// <summary>
/// A few long-lived read connections (<see cref="KeptConnection"/>: statements prepared once), for the small lookups every request of a
/// hot path makes (a reply push: the customer's conversation and opt-out). Through EF, each such lookup opened a pooled
/// connection, prepared its statement and built a delegate per call (profiled at ≈20 % of a push's CPU); here the
/// statement is prepared once per connection and only bound and stepped per call.
///
/// A connection serves one caller at a time: callers take an idle one or open another, and at most
/// <see cref="MaxIdle"/> are kept. Outside a transaction every statement reads the latest committed state, so a cached
/// statement never serves stale rows, and it holds no snapshot between calls (the WAL can still be checkpointed).
/// Statements must be constant SQL, as for every <see cref="PreparedCommand"/>.
/// </summary>
internal sealed class ReadConnections(IServiceScopeFactory scopes) : IAsyncDisposable
{
    private const int MaxIdle = 8;
    private readonly ConcurrentBag<KeptConnection> _idle = [];
    private volatile bool _disposed;

    /// <summary>Runs <paramref name="read"/> on an idle connection (or a new one); a connection that failed is dropped.</summary>
    public async Task<T> UseAsync<T>(Func<DbConnection, Task<T>> read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var session = _idle.TryTake(out var idle) ? idle : await KeptConnection.OpenAsync(scopes);
        T result;
        try
        {
            result = await read(session.Connection);
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
        if (!_disposed && _idle.Count < MaxIdle) _idle.Add(session);
        else await session.DisposeAsync();
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryTake(out var session)) await session.DisposeAsync();
    }
}
