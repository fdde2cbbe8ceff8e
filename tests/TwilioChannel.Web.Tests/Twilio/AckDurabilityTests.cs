using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// A webhook is answered once it is on the disk in the inbox, and an inbox entry is dropped only once the database has
/// its message on the disk. Both logs' fsyncs run here behind gates the test can close (Data/WalDurability), to show
/// what waits for them: the webhook's answer, the inbox's purge and the pull.
/// </summary>
public sealed class AckDurabilityTests : IAsyncLifetime
{
    private readonly GatedDisk _database = new(), _inbox = new();
    private readonly ChannelApp _app;

    public AckDurabilityTests()
    {
        _app = new ChannelApp
        {
            ConfigureServices = services =>
            {
                services.AddSingleton(_database.Durability);
                services.AddKeyedSingleton(InboundInbox.Log, _inbox.Durability);
            },
        };
    }

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _database.Dispose();
        _inbox.Dispose();
        _app.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AWebhookIsAcknowledgedOnlyOnceItIsOnDiskInTheInbox()
    {
        _inbox.Open.Reset();
        var post = _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), waitStored: false);

        // Committed to the inbox (the writer has moved on) but not answered while its fsync hasn't returned.
        await Eventually.UntilAsync(() => CountInbox() == 1, "the webhook committed to the inbox");
        await Task.Delay(300);
        Assert.False(post.IsCompleted, "acknowledged before the inbox's log was flushed");

        _inbox.Open.Set();
        using var response = await post.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(_inbox.Flushes > 0);
    }

    [Fact]
    public async Task AnInboxEntryIsDroppedOnlyOnceTheDatabaseHasItsMessageOnDisk()
    {
        _database.Open.Reset();
        using (var stored = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), waitStored: false)) Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        await Eventually.UntilAsync(() => CountMessages() == 1, "the message committed to the database");
        await Task.Delay(300);
        Assert.Equal(1, CountInbox()); // a power cut now would lose the database's commit: the inbox still has it

        _database.Open.Set();
        await Eventually.UntilAsync(() => CountInbox() == 0, "the inbox entry dropped");
        Assert.Equal(1, CountMessages());
    }

    [Fact]
    public async Task ThePullHandsOutNothingBeforeItIsOnDisk()
    {
        using (var stored = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))) Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        _database.Open.Reset();
        var pull = _app.PullAsync();
        await Task.Delay(300);
        Assert.False(pull.IsCompleted, "the pull answered before what it read was known to be on disk");

        _database.Open.Set();
        using var doc = await pull.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(doc.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
    }

    [Fact]
    public async Task AFailedInboxFsyncIsNeverAcknowledgedAndMakesTheServiceUnready()
    {
        _inbox.Fails = true;

        using var response = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"));
        Assert.False(response.IsSuccessStatusCode); // Twilio retries what we don't acknowledge

        using var ready = await _app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public async Task AFailedDatabaseFsyncLeavesTheMessageInTheInboxAndMakesTheServiceUnready()
    {
        _database.Fails = true;

        using (var response = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), waitStored: false)) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Eventually.UntilAsync(() => CountMessages() == 1, "the message committed to the database");

        // The fsync that follows the commit fails: unready from then on.
        using var client = _app.CreateClient();
        await Eventually.UntilAsync(() => client.GetAsync("/health/ready").Result.StatusCode == HttpStatusCode.ServiceUnavailable, "unready");
        await Task.Delay(300);
        Assert.Equal(1, CountInbox()); // kept: after the restart it is stored again (or found stored already)
    }

    [Fact]
    public async Task TheWritersNoFsyncSettingNeverReachesOtherConnections()
    {
        using (var stored = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))) Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        _app.Dispose(); // the writers' connections go back to the (process-wide) pool

        // Whoever gets those physical connections next must commit with its own fsync (synchronous=FULL = 2).
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_app.DataPath, "twilio-channel.db"), DefaultTimeout = 30, Pooling = true,
        }.ToString();
        var connections = new List<SqliteConnection>();
        try
        {
            for (var i = 0; i < 16; i++)
            {
                var connection = new SqliteConnection(connectionString);
                await connection.OpenAsync();
                connections.Add(connection);
            }
            foreach (var connection in connections)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA synchronous";
                Assert.Equal(2L, await command.ExecuteScalarAsync());
            }
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task ServiceConnectionsCheckpointTheLogEvery5000PagesInsteadOfSQLitesDefault1000()
    {
        using (var stored = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))) Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA wal_autocheckpoint";
        Assert.Equal(5000L, await command.ExecuteScalarAsync());
    }

    private int CountInbox() => InboxRows.Count(_app.DataPath);

    private int CountMessages()
    {
        using var scope = _app.Services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Messages.Count();
    }
}

/// <summary>A real fsync behind a gate the test can close, or make fail.</summary>
internal sealed class GatedDisk : IDisposable
{
    private int _flushes;

    public GatedDisk() => Durability = new WalDurability(path =>
    {
        Open.Wait(TimeSpan.FromSeconds(30));
        if (Fails) throw new IOException("EIO");
        Interlocked.Increment(ref _flushes);
        WalDurability.FlushToDisk(path);
    });

    public WalDurability Durability { get; }

    public ManualResetEventSlim Open { get; } = new(true);

    public volatile bool Fails;

    public int Flushes => Volatile.Read(ref _flushes);

    public void Dispose()
    {
        Open.Set();
        Durability.Dispose();
    }
}
