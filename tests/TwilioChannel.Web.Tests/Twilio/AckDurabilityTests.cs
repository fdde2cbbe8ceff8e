using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// The ack path's writer commits without waiting for the disk and leaves the WAL's fsync to WalDurability. Here the
/// real fsync runs behind a gate the test can close, to show what waits for it: the webhook's answer and the pull.
/// </summary>
public sealed class AckDurabilityTests : IAsyncLifetime
{
    private readonly ManualResetEventSlim _diskOpen = new(true);
    private volatile bool _diskFails;
    private int _flushes;
    private readonly WalDurability _durability;
    private readonly ChannelApp _app;

    public AckDurabilityTests()
    {
        _durability = new WalDurability(path =>
        {
            _diskOpen.Wait(TimeSpan.FromSeconds(30));
            if (_diskFails) throw new IOException("EIO");
            Interlocked.Increment(ref _flushes);
            WalDurability.FlushToDisk(path);
        });
        _app = new ChannelApp { ConfigureServices = services => services.AddSingleton(_durability) };
    }

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _diskOpen.Set();
        _app.Dispose();
        _durability.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AWebhookIsAcknowledgedOnlyOnceItsCommitIsOnDisk()
    {
        _diskOpen.Reset();
        var post = _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"));

        // Committed (readers see it, the writer has moved on) but not answered while its fsync hasn't returned.
        await Eventually.UntilAsync(() => CountMessages() == 1, "the message committed");
        await Task.Delay(300);
        Assert.False(post.IsCompleted, "acknowledged before the WAL was flushed");

        _diskOpen.Set();
        using var response = await post.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(_flushes > 0);
    }

    [Fact]
    public async Task ThePullHandsOutNothingBeforeItIsOnDisk()
    {
        using (var stored = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))) Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        _diskOpen.Reset();
        var pull = _app.PullAsync();
        await Task.Delay(300);
        Assert.False(pull.IsCompleted, "the pull answered before what it read was known to be on disk");

        _diskOpen.Set();
        using var doc = await pull.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(doc.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
    }

    [Fact]
    public async Task AFailedFsyncIsNeverAcknowledgedAndMakesTheServiceUnready()
    {
        _diskFails = true;

        using var response = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"));
        Assert.False(response.IsSuccessStatusCode); // Twilio retries what we don't acknowledge

        using var ready = await _app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
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

    private int CountMessages()
    {
        using var scope = _app.Services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Messages.Count();
    }
}
