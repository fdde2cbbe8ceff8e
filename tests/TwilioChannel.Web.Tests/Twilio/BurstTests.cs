using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// Inbound:BurstRate: while webhooks arrive faster than it, they are acknowledged from the inbox and wait there; the
/// projection moves them into the database once the burst passes, after Inbound:BurstMaxDelaySeconds at the latest,
/// or at once when the pull or the admin list needs them. The thresholds here are tiny so a test's pace is a burst.
/// </summary>
public sealed class BurstTests
{
    [Fact]
    public async Task WebhooksOfABurstWaitInTheInboxAndReachTheDatabaseOnceTheBurstPasses()
    {
        using var app = await StartAsync(burstRate: "5", maxDelaySeconds: "600");
        await PostBurstAsync(app, 80);

        // The last second ran far above 5/s: a moment later the latest webhooks are acknowledged but still not in the
        // database (without the wait the projection takes each within milliseconds).
        await Task.Delay(200);
        Assert.True(StoredCount(app) < 80, $"{StoredCount(app)} of 80 already stored during the burst");
        Assert.True(InboxRows.Count(app.DataPath) > 0);

        // Nothing else asks for them: the projection moves them once the rate falls (within about a second).
        await Eventually.UntilAsync(() => StoredCount(app) == 80, "every webhook of the burst in the database", seen: () => $"{StoredCount(app)} stored");
        await Eventually.UntilAsync(() => InboxRows.Count(app.DataPath) == 0, "the inbox emptied once the database has them");
    }

    [Fact]
    public async Task APullDuringABurstStillServesEveryAcknowledgedMessage()
    {
        using var app = await StartAsync(burstRate: "5", maxDelaySeconds: "600");
        await PostBurstAsync(app, 40);
        await Task.Delay(200);
        Assert.True(StoredCount(app) < 40, "the burst's webhooks wait in the inbox");

        // Desk's pull needs the database up to date: it ends the wait instead of missing the burst's messages.
        using var pull = await app.PullAsync();
        var threads = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()!).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 40).Select(Sid).ToHashSet(), threads);
    }

    [Fact]
    public async Task ABurstLongerThanTheLongestWaitIsMovedIntoTheDatabaseWhileItGoesOn()
    {
        using var app = await StartAsync(burstRate: "5", maxDelaySeconds: "1");
        var client = app.CreateClient();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var burst = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) await PostAsync(app, client, sent++);
        });
        try
        {
            // Webhooks keep coming far above 5/s, yet the database gets them at most about a second late.
            await Eventually.UntilAsync(() => StoredCount(app) >= 40, "messages stored while the burst goes on", seen: () => $"{StoredCount(app)} stored of {sent}");
            Assert.False(burst.IsCompleted);
        }
        finally
        {
            await stop.CancelAsync();
            await burst;
        }
    }

    [Fact]
    public async Task ABurstThatBeginsWhileTheProjectionIsMovingWebhooksWaitsToo()
    {
        using var app = await StartAsync(burstRate: "5", maxDelaySeconds: "600");
        var client = app.CreateClient();
        var gate = app.Services.GetRequiredService<WriteGate>();

        // A lone webhook: the projection starts moving it (nothing else is arriving) and is held on the write lock.
        var held = await gate.EnterAsync(CancellationToken.None);
        await PostAsync(app, client, 0);
        await Task.Delay(300);

        // The burst begins while that move is under way, and goes on after it.
        using var stop = new CancellationTokenSource();
        var sent = 1;
        var burst = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) await PostAsync(app, client, Interlocked.Increment(ref sent) - 1);
        });
        try
        {
            await Task.Delay(1000);
            held.Dispose();
            // The move under way ends with its batch (at most 256 webhooks: only the lone one unless this machine is
            // slow); the burst's webhooks wait. Before, that drain went on as long as each batch found more behind it,
            // and under a burst it always did: a moment later the database had nearly all of them.
            await Task.Delay(500);
            var early = StoredCount(app);
            await Task.Delay(700);
            var later = StoredCount(app);
            Assert.True(early <= 256 && later == early && later < Volatile.Read(ref sent),
                $"the projection went on during the burst: {early} stored, {later} 0.7 s later, of {Volatile.Read(ref sent)} sent");
        }
        finally
        {
            await stop.CancelAsync();
            await burst;
        }
        await Eventually.UntilAsync(() => StoredCount(app) == sent, "every webhook of the burst in the database once it passed", seen: () => $"{StoredCount(app)} stored of {sent}");
    }

    [Fact]
    public async Task WithBurstRateZeroEveryWebhookReachesTheDatabaseAtOnce()
    {
        using var app = await StartAsync(burstRate: "0", maxDelaySeconds: "30");
        await PostBurstAsync(app, 40);

        await Eventually.UntilAsync(() => StoredCount(app) == 40, "every webhook stored", seconds: 5, seen: () => $"{StoredCount(app)} stored");
    }

    private static async Task<ChannelApp> StartAsync(string burstRate, string maxDelaySeconds)
    {
        var app = new ChannelApp(settings: new() { ["Inbound:BurstRate"] = burstRate, ["Inbound:BurstMaxDelaySeconds"] = maxDelaySeconds });
        await app.SeedAsync();
        return app;
    }

    /// <summary>Webhooks one after the other, as fast as the test host answers: far above the tests' 5/s.</summary>
    private static async Task PostBurstAsync(ChannelApp app, int count)
    {
        var client = app.CreateClient();
        for (var i = 0; i < count; i++) await PostAsync(app, client, i);
    }

    private static string Sid(int i) => "SM" + i.ToString("x32");

    private static async Task PostAsync(ChannelApp app, HttpClient client, int i)
    {
        var form = Fixtures.Form("whatsapp-text.form");
        form["MessageSid"] = form["SmsSid"] = form["SmsMessageSid"] = Sid(i);
        using var response = await app.PostInboundAsync(form, client: client, waitStored: false);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Messages in the database file, read beside the service (not through the admin API, which waits for them).</summary>
    private static int StoredCount(ChannelApp app)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(app.DataPath, "twilio-channel.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT count(*) FROM "Messages" """;
        return Convert.ToInt32(command.ExecuteScalar());
    }
}
