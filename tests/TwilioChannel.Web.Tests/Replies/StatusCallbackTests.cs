using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class StatusCallbackTests : IAsyncLifetime
{
    private readonly FakeTwilio _twilio = new();
    private readonly ChannelApp _app;

    public StatusCallbackTests() => _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url });

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }

    private Task<HttpResponseMessage> CallbackAsync(string sid, string status, string? errorCode = null) => _app.StatusCallbackAsync(sid, status, errorCode);

    private async Task<string> StatusOfAsync(string sid)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses.Single(s => s.MessageSid == sid).Status;
    }

    /// <summary>Ana writes on WhatsApp and an agent answers her (Desk thread <paramref name="deskThreadId"/>); Twilio
    /// creates the fixture's message SID.</summary>
    private async Task<(int Status, System.Text.Json.Nodes.JsonObject Body)> ReplyToAnaAsync(string deskThreadId)
    {
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
                .WithBody(Fixtures.Text("twilio-message-created.json")));
        (await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))).EnsureSuccessStatusCode();
        await _app.RouteAsync();
        return await _app.PushAsync(ReplyApp.Push("whatsapp:+5511987654321", "Hi Ana!", id: deskThreadId));
    }

    [Fact]
    public async Task TheFixturesAreAcceptedWith204()
    {
        foreach (var fixture in new[] { "status-delivered.form", "status-failed-63016.form", "status-read-whatsapp.form" })
        {
            var response = await _app.PostInboundAsync(Fixtures.Form(fixture), path: "/twilio/status");
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }
        Assert.Equal("read", await StatusOfAsync("SM9c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a"));
    }

    [Fact]
    public async Task AnUnsignedCallbackIsRejectedAndChangesNothing()
    {
        var response = await _app.PostInboundAsync(Fixtures.Form("status-delivered.form"), token: null, path: "/twilio/status");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        await using var scope = _app.Services.CreateAsyncScope();
        Assert.Empty(scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses);
    }

    [Fact]
    public async Task ALateSentAfterDeliveredChangesNothing()
    {
        const string sid = "SM10000000000000000000000000000001";
        await CallbackAsync(sid, "sent");
        await CallbackAsync(sid, "delivered");
        await CallbackAsync(sid, "sent");
        await CallbackAsync(sid, "queued");
        Assert.Equal("delivered", await StatusOfAsync(sid));
        await CallbackAsync(sid, "read");
        Assert.Equal("read", await StatusOfAsync(sid));
    }

    [Fact]
    public async Task FailureIsFinalAndKeepsItsErrorCode()
    {
        const string sid = "SM10000000000000000000000000000002";
        await CallbackAsync(sid, "failed", "30006");
        await CallbackAsync(sid, "delivered");
        await CallbackAsync(sid, "sent");
        Assert.Equal("failed", await StatusOfAsync(sid));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ACallbackBeforeTheSendStoredItsSidIsKeptAndTheLateFailureIsListed(bool namesTheReply)
    {
        // Twilio's callback for the SID arrives before the create call returned to us: at the URL naming the reply, as
        // Twilio calls it, or at the bare route, as a caller playing Twilio might.
        const string sid = "SMbe6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c";
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
        var (status, body) = await _app.PushWithEarlyCallbacksAsync(_twilio, ReplyApp.Push("whatsapp:+5511987654321", "Hi Ana!", id: "4242"),
            Fixtures.Text("twilio-message-created.json"), async reply =>
            {
                Assert.Equal(System.Net.HttpStatusCode.NoContent, (await _app.StatusCallbackAsync(sid, "undelivered", "63016", namesTheReply ? reply : null)).StatusCode);
                Assert.Equal("undelivered", await StatusOfAsync(sid));
            });
        Assert.Equal(200, status);
        Assert.Equal(sid, (string?)body["extId"]);
        Assert.Equal("undelivered", await StatusOfAsync(sid));

        var failed = await _app.FailedAsync();
        var row = Assert.Single(failed);
        Assert.Equal(sid, row.GetProperty("messageSid").GetString());
        Assert.Equal(63016, row.GetProperty("errorCode").GetInt32());
        Assert.Contains("24-hour window", row.GetProperty("errorReason").GetString());
        Assert.Equal("4242", row.GetProperty("deskThreadId").GetString());
    }

    [Fact]
    public async Task ALateFailurePostedToTheBareRouteIsStillTheReplysAndListed()
    {
        // Twilio calls the URL our send gave it, which names the reply; a caller that posts to /twilio/status itself
        // (a script, a test harness playing Twilio) must still reach the reply the SID belongs to.
        var (status, body) = await ReplyToAnaAsync("4646");
        Assert.Equal(200, status);
        var sid = (string)body["extId"]!;
        var form = ReplyApp.StatusForm(sid, "undelivered", "30005");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await _app.PostInboundAsync(form, path: ReplyApp.StatusPath(null))).StatusCode);

        var row = Assert.Single(await _app.FailedAsync());
        Assert.Equal((sid, "4646", 30005), (row.GetProperty("messageSid").GetString(), row.GetProperty("deskThreadId").GetString(), row.GetProperty("errorCode").GetInt32()));
    }

    [Fact]
    public async Task AFailedMessageOfALongReplyIsListedWithWhichPartOfItItWas()
    {
        // The admin telling the agent what to resend could not see which of the reply's messages failed.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var text = string.Join(" ", Enumerable.Range(1, 120).Select(i => $"Sentence {i} explains a step."));
        var (status, body) = await _app.PushAsync(ReplyApp.Push("+14155550123", text, id: "4848"));
        Assert.Equal(200, status);
        var sids = body["extra"]!["value"]!["sids"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.Equal(3, sids.Count);

        await CallbackAsync(sids[1], "undelivered", "30005");

        var row = Assert.Single(await _app.FailedAsync());
        Assert.Equal((sids[1], 2, 3), (row.GetProperty("messageSid").GetString(), row.GetProperty("part").GetInt32(), row.GetProperty("parts").GetInt32()));
    }

    [Theory]
    [InlineData("MessageSid", "MessageSid")]
    [InlineData("MessageStatus", "MessageStatus")]
    public async Task ASignedCallbackLackingItsSidOrStatusIsRefusedSayingWhichAndStoresNothing(string removed, string named)
    {
        // It was a bare "Bad Request": whoever played Twilio could not tell what was wrong.
        var form = ReplyApp.StatusForm("SMad5f00000000000000000000000000bb", "delivered");
        form.Remove(removed);
        form.Remove(removed.Replace("Message", "Sms"));

        using var response = await _app.PostInboundAsync(form, path: ReplyApp.StatusPath(null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        await using var scope = _app.Services.CreateAsyncScope();
        Assert.Empty(scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses);
    }

    [Fact]
    public async Task AFailureForASidNoReplyOfOursSentIsNotListedAmongFailedReplies()
    {
        // Listed with no org, no Desk reply and no ticket beside the agents' real failures, it read as a lost reply.
        await CallbackAsync("SMad5f00000000000000000000000000aa", "failed", "30008");
        var (status, body) = await ReplyToAnaAsync("4545");
        Assert.Equal(200, status);
        await CallbackAsync((string)body["extId"]!, "failed", "30008");

        var row = Assert.Single(await _app.FailedAsync());
        Assert.Equal((string?)body["extId"], row.GetProperty("messageSid").GetString());
    }

    [Fact]
    public async Task ALateFailureIsListedWithWhatHappenedNotAsARefusal()
    {
        // Listed as "Twilio refused the message (Twilio error 30034)": the agent looked for a fault in the reply,
        // where the sending number's missing US registration was the cause.
        var (status, body) = await ReplyToAnaAsync("4343");
        Assert.Equal(200, status);
        var sid = (string)body["extId"]!;
        await CallbackAsync(sid, "undelivered", "30034");

        var row = Assert.Single(await _app.FailedAsync());
        Assert.Equal("The sending number isn't registered for US A2P 10DLC messaging, so carriers block its messages (Twilio error 30034).",
            row.GetProperty("errorReason").GetString());
    }

    [Fact]
    public async Task ConcurrentCallbacksForOneSidLeaveTheHighestStatus()
    {
        const string sid = "SM10000000000000000000000000000003";
        var statuses = new[] { "queued", "sending", "sent", "delivered", "read", "sent", "queued", "delivered" };
        var responses = await Task.WhenAll(statuses.Select(s => CallbackAsync(sid, s)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
        Assert.Equal("read", await StatusOfAsync(sid));
    }

    [Fact]
    public async Task StatusesNoReplyClaimedForAWeekAreDroppedAndClaimedOnesKept()
    {
        // A reply's own status, from its callback (at the URL naming the reply).
        var claimed = JsonDocument.Parse(Fixtures.Text("twilio-message-created.json")).RootElement.GetProperty("sid").GetString()!;
        var (status, _) = await ReplyToAnaAsync("4243");
        Assert.Equal(200, status);
        await CallbackAsync(claimed, "delivered");

        // Another sender's messages (our URL on a Messaging Service others send through): nothing ever claims them.
        const string foreignOld = "SM10000000000000000000000000000091", foreignRecent = "SM10000000000000000000000000000092";
        await CallbackAsync(foreignOld, "delivered");
        await CallbackAsync(foreignRecent, "delivered");
        var eightDaysAgo = DateTime.UtcNow.AddDays(-8);
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
            Assert.NotNull((await db.OutboundStatuses.SingleAsync(s => s.MessageSid == claimed)).ReplyId);
            await db.OutboundStatuses.Where(s => s.MessageSid == claimed || s.MessageSid == foreignOld)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.UpdatedAt, eightDaysAgo));
        }

        Assert.Equal(1, await _app.Services.GetRequiredService<Web.Replies.UnclaimedStatusCleanup>().RunAsync(CancellationToken.None));

        await using var check = _app.Services.CreateAsyncScope();
        var left = await check.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses.Select(s => s.MessageSid).ToListAsync();
        Assert.Equal(new[] { claimed, foreignRecent }.Order(), left.Order());
    }

    [Fact]
    public async Task TheCleanupGoesOnPastOneChunkAndIsScheduledDaily()
    {
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
            var old = DateTime.UtcNow.AddDays(-30);
            db.OutboundStatuses.AddRange(Enumerable.Range(0, 2_500).Select(i => new Data.OutboundStatus
            {
                MessageSid = $"SM{i:D32}", Status = "delivered", Rank = 5, UpdatedAt = old,
            }));
            await db.SaveChangesAsync();
        }

        Assert.Equal(2_500, await _app.Services.GetRequiredService<Web.Replies.UnclaimedStatusCleanup>().RunAsync(CancellationToken.None));
        await using (var scope = _app.Services.CreateAsyncScope())
            Assert.Empty(scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses);

        var storage = _app.Services.GetRequiredService<JobStorage>();
        string? Cron()
        {
            using var connection = storage.GetConnection();
            return connection.GetRecurringJobs().SingleOrDefault(j => j.Id == Web.Replies.UnclaimedStatusCleanup.JobId)?.Cron;
        }
        await Eventually.UntilAsync(() => Cron() is not null, "the daily cleanup to be registered");
        Assert.Equal("0 0 * * *", Cron());
    }
}
