using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Database;

/// <summary>
/// The group commit on the real host and SQLite file: pieces queued together commit together, and a piece that fails
/// midway takes back only its own writes while the others commit and get their results.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync()
    {
        _ = _app.Server; // starts the host: migrations applied
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private GroupCommit Commits => _app.Services.GetRequiredService<GroupCommit>();

    /// <summary>A row with this id (the table's key) and address: a second row with one id is a constraint violation.</summary>
    private static async Task<int> AddAsync(DbConnection connection, DbTransaction tx, long id, string address)
    {
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "RetiredNumbers" ("Id", "OrgId", "Address", "DeletedAt") VALUES (@p0, 'org-1', @p1, '2026-11-26 00:00:00')
            """, 2, CancellationToken.None);
        return await insert.ExecuteAsync(CancellationToken.None, id, address);
    }

    private async Task<List<string>> StoredAsync()
    {
        var stored = new List<string>();
        await _app.Services.GetRequiredService<ReadConnections>().UseAsync(async connection =>
        {
            await using var read = connection.CreateCommand();
            read.CommandText = """SELECT "Address" FROM "RetiredNumbers" ORDER BY "Address" """;
            await using var rows = await read.ExecuteReaderAsync();
            while (await rows.ReadAsync()) stored.Add(rows.GetString(0));
            return 0;
        });
        return stored;
    }

    [Fact]
    public async Task APieceThatFailsMidwayTakesBackOnlyItsOwnWritesAndTheOthersCommit()
    {
        // Many concurrent pieces so that they share batches; every third writes a row, then fails.
        var pieces = Enumerable.Range(0, 60).Select(i => Commits.RunAsync(async (connection, tx) =>
        {
            var added = await AddAsync(connection, tx, i, $"+1415555{i:0000}");
            if (i % 3 == 0) throw new InvalidOperationException($"piece {i} breaks after its insert");
            return added + i;
        })).ToList();

        for (var i = 0; i < pieces.Count; i++)
        {
            if (i % 3 == 0)
                Assert.Equal($"piece {i} breaks after its insert", (await Assert.ThrowsAsync<InvalidOperationException>(() => pieces[i])).Message);
            else
                Assert.Equal(1 + i, await pieces[i]);
        }
        var expected = Enumerable.Range(0, 60).Where(i => i % 3 != 0).Select(i => $"+1415555{i:0000}").ToList();
        Assert.Equal(expected, await StoredAsync());
    }

    [Fact]
    public async Task AConstraintViolationFailsItsPieceAlone()
    {
        await Commits.RunAsync((connection, tx) => AddAsync(connection, tx, 1, "+14155550001"));

        // Writes a row, then one whose id is taken.
        var duplicate = Commits.RunAsync(async (connection, tx) => await AddAsync(connection, tx, 2, "+14155550002") + await AddAsync(connection, tx, 1, "+14155550099"));
        var fine = Commits.RunAsync((connection, tx) => AddAsync(connection, tx, 3, "+14155550003"));

        await Assert.ThrowsAnyAsync<DbException>(() => duplicate);
        Assert.Equal(1, await fine);
        Assert.Equal(["+14155550001", "+14155550003"], await StoredAsync());
    }
}
