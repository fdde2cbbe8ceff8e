using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Database;

/// <summary>
/// The long-lived read connections with prepared statements (a reply push's lookups), on the real host and SQLite file:
/// a kept statement must never serve an old snapshot, and a connection is never shared or reused after a failure.
/// </summary>
public sealed class ReadConnectionsTests : IAsyncLifetime
{
    private const string CountSql = """SELECT COUNT(*) FROM "Conversations" WHERE "OrgId" = @p0""";
    private readonly ChannelApp _app = new();

    public Task InitializeAsync()
    {
        _ = _app.Server; // starts the host: migrations applied
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private ReadConnections Reads => _app.Services.GetRequiredService<ReadConnections>();

    [Fact]
    public async Task AKeptStatementReadsWhatWasCommittedAfterItWasPrepared()
    {
        var (firstSession, before) = await CountAsync("org-1");

        await AddConversationAsync("org-1", "+14155550100");
        var (secondSession, after) = await CountAsync("org-1");

        Assert.Same(firstSession, secondSession); // the same kept session and prepared statement, between calls
        Assert.Equal(0, before);
        Assert.Equal(1, after);
    }

    [Fact]
    public async Task AConnectionWhoseReadFailedIsNotHandedOutAgain()
    {
        StatementCache? failed = null;
        await Assert.ThrowsAsync<InvalidOperationException>(() => Reads.UseAsync<int>(connection =>
        {
            failed = StatementCache.For(connection);
            throw new InvalidOperationException("a read that breaks midway");
        }));

        var (next, _) = await CountAsync("org-1");

        // The connection object may come back from EF's context pool, but closed and reopened with fresh statements.
        Assert.NotNull(failed);
        Assert.NotSame(failed, next);
    }

    [Fact]
    public async Task ConcurrentReadersEachGetTheirOwnConnection()
    {
        var bothInside = new Barrier(2);
        var seen = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => Reads.UseAsync(connection =>
        {
            // Both readers hold their connection at the same time: neither may have been given the other's.
            Assert.True(bothInside.SignalAndWait(TimeSpan.FromSeconds(10)));
            return Task.FromResult(connection);
        }))));

        Assert.NotSame(seen[0], seen[1]);
    }

    /// <summary>The count, and the session's statement cache: one per kept session, so it tells sessions apart.</summary>
    private Task<(StatementCache? Session, long Count)> CountAsync(string orgId) => Reads.UseAsync(async connection =>
    {
        await using var query = await PreparedCommand.CreateAsync(connection, null, CountSql, 1, CancellationToken.None);
        return (StatementCache.For(connection), Convert.ToInt64(await query.ScalarAsync(CancellationToken.None, orgId)));
    });

    private async Task AddConversationAsync(string orgId, string customer)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        db.Conversations.Add(new Conversation
        {
            OrgId = orgId,
            CustomerAddress = customer,
            TicketExtId = customer,
            TicketJson = "{}",
            CreatedAt = DateTime.UtcNow,
            LastMessageAt = DateTime.UtcNow,
        });
        await db.SaveChangesAsync();
    }
}
