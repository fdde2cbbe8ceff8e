using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.History;
using TwilioChannel.Web.Tests.Delivery;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Tests.Replies;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace TwilioChannel.Web.Tests.History;

public sealed class ReconcileTests : IAsyncLifetime
{
    private const string Carla = "+14155550191";
    private readonly FakeTwilio _twilio = new();
    private readonly FakeTwilioHistory _history;
    private readonly ChannelApp _app;

    public ReconcileTests()
    {
        _history = new FakeTwilioHistory(_twilio.Server, pageSize: 2);
        _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Twilio:ReconcileIntervalSeconds"] = "120" });
    }

    public Task InitializeAsync() => _app.SeedAsync();

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _twilio.Dispose();
    }

    [Fact]
    public async Task MessagesThatNeverReachedOurWebhookAreRecoveredOnceInOrder()
    {
        var now = DateTime.UtcNow;
        // Twilio received four messages; only the second reached our webhook (we were down for the others).
        string Sid(int i) => $"SMrec{i:0000000000000000000000000000}";
        for (var i = 0; i < 4; i++) _history.Add(Sid(i), Carla, Fixtures.SmsNumber, $"Carla {i}", now.AddMinutes(-4 + i), inbound: true);
        _history.Add("SMoutbound00000000000000000000000", Fixtures.SmsNumber, Carla, "not ours to recover", now.AddMinutes(-1), inbound: false);
        (await _app.PostInboundAsync(Fixtures.Sms("Carla 1", from: Carla, sid: Sid(1)))).EnsureSuccessStatusCode();
        await _app.RouteAsync();

        var job = _app.Services.GetRequiredService<ReconcileJob>();
        await job.RunAsync(await _app.NumberIdAsync(), CancellationToken.None);
        await _app.RouteAsync();

        using var pull = await _app.PullAsync();
        var ids = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()).ToList();
        // The live one first (it was routed first), then the recovered ones oldest first; each once; no outbound.
        Assert.Equal([Sid(1), Sid(0), Sid(2), Sid(3)], ids);

        // Running again finds nothing new.
        await job.RunAsync(await _app.NumberIdAsync(), CancellationToken.None);
        await _app.RouteAsync();
        await using var scope = _app.Services.CreateAsyncScope();
        Assert.Equal(4, await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Messages.CountAsync());
        Assert.NotNull((await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Numbers.SingleAsync(n => n.Address == Fixtures.SmsNumber)).ReconciledThrough);
    }

    [Fact]
    public async Task AReconciliationThatCouldNotCheckItsWindowLeavesTheWatermarkForTheNextRun()
    {
        var now = DateTime.UtcNow;
        var number = await _app.NumberIdAsync();
        // Twilio has two messages: one never reached our webhook; the other did, and is acknowledged in the inbox but not
        // in the database yet (the test holds the database's write lock, as a long write would).
        const string Missing = "SMmissing00000000000000000000000001";
        _history.Add(Missing, Carla, Fixtures.SmsNumber, "never reached the webhook", now.AddMinutes(-2), inbound: true);
        var waiting = Fixtures.Sms("acknowledged, not in the database yet", from: Carla);
        _history.Add(waiting["MessageSid"], Carla, Fixtures.SmsNumber, "acknowledged, not in the database yet", now.AddMinutes(-1), inbound: true);
        var job = _app.Services.GetRequiredService<ReconcileJob>();
        job.CatchUpBound = TimeSpan.Zero; // it can't wait for the inbox: it skips recovering this time
        using (await _app.Services.GetRequiredService<Data.WriteGate>().EnterAsync(CancellationToken.None))
        {
            (await _app.PostInboundAsync(waiting, waitStored: false)).EnsureSuccessStatusCode();
            // A run that wrote anything (a recovered message, the watermark) would wait for the lock held here.
            await job.RunAsync(number, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        }

        Assert.Contains(_app.Logs.Lines, l => l.Contains("skipped recovering messages"));
        // Its window was not checked: the watermark stays, so the next run covers it again whatever the interval.
        Assert.Null(await ReconciledThroughAsync(number));

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(number, CancellationToken.None);
        Assert.NotNull(await ReconciledThroughAsync(number));
        // Both reach Desk, each once: the webhook's copy and the one recovered from Twilio's list.
        Assert.Equal(new[] { waiting["MessageSid"], Missing }.Order(StringComparer.Ordinal), (await PulledThreadIdsAsync()).Order(StringComparer.Ordinal));
    }

    private const string NotFound = "answers 404 (not found) to the message list";

    [Fact]
    public async Task AListTwilioDoesNotFindIsWarnedAboutOnceOverTwoRunsAndAgainOnlyAfterItListedInBetween()
    {
        // Twilio answering 404 to a number's message list (a number released at Twilio): said once, not every run.
        var number = await _app.NumberIdAsync();
        _twilio.Server.ResetMappings();
        _twilio.RefuseList(404);

        var job = _app.Services.GetRequiredService<ReconcileJob>();
        await job.RunAsync(number, CancellationToken.None);
        await job.RunAsync(number, CancellationToken.None);

        Assert.Equal(2, _twilio.Server.LogEntries.Count(e => e.RequestMessage.Method == "GET" && e.RequestMessage.Path == FakeTwilio.MessagesPath));
        Assert.Single(Lines("Warning", NotFound));
        // Not checked: the window stays for when Twilio lists the number again.
        Assert.Null(await ReconciledThroughAsync(number));

        _twilio.Server.ResetMappings();
        _twilio.ListMessages();
        await job.RunAsync(number, CancellationToken.None);
        Assert.Single(Lines("Information", "Twilio lists its messages again"));
        Assert.NotNull(await ReconciledThroughAsync(number));

        _twilio.Server.ResetMappings();
        _twilio.RefuseList(404);
        await job.RunAsync(number, CancellationToken.None);
        Assert.Equal(2, Lines("Warning", NotFound).Count);
    }

    [Fact]
    public async Task AListNotFoundAnsweredWithAPageInsteadOfTwiliosJsonIsStillANotFound()
    {
        // The SDK read a 404 without Twilio's JSON error body as status 0: the run failed instead of saying "not found".
        var number = await _app.NumberIdAsync();
        _twilio.Server.ResetMappings();
        _twilio.RefuseListWithPage(404);

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(number, CancellationToken.None);

        Assert.Single(Lines("Warning", NotFound));
        Assert.Null(await ReconciledThroughAsync(number));
    }

    private List<string> Lines(string level, string text) =>
        _app.Logs.Lines.Where(l => l.StartsWith(level + " ", StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal)).ToList();

    private async Task<DateTime?> ReconciledThroughAsync(long number)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Numbers.FindAsync(number))!.ReconciledThrough;
    }

    [Fact]
    public async Task AWindowLongerThanTheReadLimitRecoversTheNewestAndNamesTheSpanLeftToBackfill()
    {
        var now = DateTime.UtcNow;
        // 102 messages at two a page: 51 pages, one more than a run reads.
        string Sid(int i) => $"SMcap{i:0000000000000000000000000000}";
        for (var i = 0; i < 102; i++) _history.Add(Sid(i), Carla, Fixtures.SmsNumber, $"Carla {i}", now.AddMinutes(-10).AddSeconds(i), inbound: true);

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(await _app.NumberIdAsync(), CancellationToken.None);
        await _app.RouteAsync();

        await using var scope = _app.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Messages.Select(m => m.MessageSid).ToListAsync();
        Assert.Equal(Enumerable.Range(2, 100).Select(Sid).Order(), stored.Order());
        var warning = Assert.Single(_app.Logs.Lines, l => l.Contains("were not checked"));
        Assert.Contains(Fixtures.SmsNumber, warning);
        Assert.Contains("Start a backfill", warning);
    }

    private const string Pool = "MG" + "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    private const string PoolNumber = "+14155550150", PoolOther = "+14155550151", PoolWhatsApp = "whatsapp:+14155550152";

    /// <summary>A configured number in a Messaging Service whose pool Twilio lists as <paramref name="phones"/> and
    /// <paramref name="senders"/> (null: the listing fails); returns the number's id.</summary>
    private async Task<long> PoolNumberAsync(string[]? phones, string[]? senders)
    {
        using (var admin = _app.Admin())
            (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = PoolNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, messagingServiceSid = Pool }))
                .EnsureSuccessStatusCode();
        void List(string resource, string key, IEnumerable<string>? items, Func<string, object> item)
        {
            var path = $"/v1/Services/{Pool}/{resource}";
            var response = items is null
                ? Response.Create().WithStatusCode(403).WithHeader("Content-Type", "application/json").WithBody("""{"code":20003,"message":"Authenticate","status":403}""")
                : Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["meta"] = new { page = 0, page_size = 50, first_page_url = "https://messaging.twilio.com" + path + "?PageSize=50&Page=0", previous_page_url = (string?)null,
                        url = "https://messaging.twilio.com" + path + "?PageSize=50&Page=0", next_page_url = (string?)null, key },
                    [key] = items.Select(item).ToArray(),
                }));
            _twilio.Server.Given(Request.Create().WithPath(path).UsingGet()).RespondWith(response);
        }
        List("PhoneNumbers", "phone_numbers", phones, p => new { sid = "PN" + Guid.NewGuid().ToString("N"), account_sid = Fixtures.AccountSid, service_sid = Pool, phone_number = p, country_code = "US" });
        List("ChannelSenders", "senders", senders, s => new { sid = "XE" + Guid.NewGuid().ToString("N"), account_sid = Fixtures.AccountSid, messaging_service_sid = Pool, sender = s, sender_type = "WhatsApp" });
        return await _app.NumberIdAsync(PoolNumber);
    }

    private async Task<List<string?>> PulledThreadIdsAsync()
    {
        await _app.RouteAsync();
        using var pull = await _app.PullAsync();
        return pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()).ToList();
    }

    [Fact]
    public async Task ANumberInAMessagingServiceAlsoRecoversMessagesToThePoolsOtherSenders()
    {
        var now = DateTime.UtcNow;
        var id = await PoolNumberAsync([PoolNumber, PoolOther, Fixtures.SmsNumber], [PoolWhatsApp]);
        _history.Add("SMpool000000000000000000000000001", Carla, PoolOther, "to a pool number", now.AddMinutes(-3), inbound: true, messagingServiceSid: Pool);
        _history.Add("SMpool000000000000000000000000002", "whatsapp:" + Carla, PoolWhatsApp, "to the pool's WhatsApp sender", now.AddMinutes(-2), inbound: true, messagingServiceSid: Pool);
        // Fixtures.SmsNumber is in the pool but configured: its own job recovers its messages, not this one.
        _history.Add("SMpool000000000000000000000000003", Carla, Fixtures.SmsNumber, "the configured number's own", now.AddMinutes(-1), inbound: true);

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(id, CancellationToken.None);

        Assert.Equal(["SMpool000000000000000000000000001", "SMpool000000000000000000000000002"], await PulledThreadIdsAsync());
    }

    [Fact]
    public async Task APoolTwilioWontListLeavesTheNumberItselfReconciled()
    {
        var now = DateTime.UtcNow;
        var id = await PoolNumberAsync(phones: null, senders: null);
        _history.Add("SMpool000000000000000000000000004", Carla, PoolNumber, "to the configured pool number", now.AddMinutes(-2), inbound: true, messagingServiceSid: Pool);
        _history.Add("SMpool000000000000000000000000005", Carla, PoolOther, "to a pool number", now.AddMinutes(-1), inbound: true, messagingServiceSid: Pool);

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(id, CancellationToken.None);

        Assert.Equal(["SMpool000000000000000000000000004"], await PulledThreadIdsAsync());
        Assert.Contains(_app.Logs.Lines, l => l.Contains($"Listing the senders of Messaging Service {Pool} failed"));
    }

    [Fact]
    public async Task MoreThanAHundredRepliesStuckAtSentDoNotKeepANewerOneFromItsStatus()
    {
        var sid = await ReplyToCarlaAsync();
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
            // Its callback never came: no status row, finished ten minutes ago.
            var reply = await db.Replies.SingleAsync(r => r.FirstSid == sid);
            reply.CompletedAt = DateTime.UtcNow.AddMinutes(-10);
            // Earlier replies SMS carriers never confirmed: "sent" for good, and Twilio says so each time it is asked.
            for (var i = 0; i < 120; i++)
                db.OutboundStatuses.Add(new Data.OutboundStatus
                {
                    MessageSid = $"SMsent{i:000000000000000000000000000}", ReplyId = reply.Id, OrgId = reply.OrgId, AccountSid = reply.AccountSid,
                    Status = "sent", Rank = Domain.Replies.DeliveryStatus.Rank("sent"), To = reply.To, From = reply.From, UpdatedAt = DateTime.UtcNow.AddHours(-3).AddSeconds(i),
                });
            await db.SaveChangesAsync();
        }
        var stillSent = FakeTwilio.Message("SMsent000000000000000000000000000", Carla, Fixtures.SmsNumber, "Earlier", "sent");
        _twilio.Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher($"^/2010-04-01/Accounts/{Fixtures.AccountSid}/Messages/SMsent[0-9]+\\.json$")).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(stillSent.ToJsonString()));
        var fetched = FakeTwilio.Message(sid, Carla, Fixtures.SmsNumber, "Hi Carla", "delivered");
        _twilio.Server.Given(Request.Create().WithPath($"/2010-04-01/Accounts/{Fixtures.AccountSid}/Messages/{sid}.json").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(fetched.ToJsonString()));

        var job = _app.Services.GetRequiredService<ReconcileJob>();
        await job.RunAsync(await _app.NumberIdAsync(), CancellationToken.None);
        await job.RunAsync(await _app.NumberIdAsync(), CancellationToken.None);

        await using var check = _app.Services.CreateAsyncScope();
        Assert.Equal("delivered", (await check.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses.SingleAsync(s => s.MessageSid == sid)).Status);
        Assert.Equal(120, _twilio.Server.LogEntries.Count(e => e.RequestMessage.Path.Contains("/Messages/SMsent", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AReplyWhoseCallbackNeverCameGetsItsStatusFromTwilio()
    {
        // The outcome of a reply writes no status row (its callbacks do): one whose callbacks never came has none.
        var sid = await ReplyToCarlaAsync();
        long replyId;
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
            Assert.False(await db.OutboundStatuses.AnyAsync(s => s.MessageSid == sid));
            replyId = await db.Replies.Where(r => r.FirstSid == sid).Select(r => r.Id).SingleAsync();
            await db.Replies.Where(r => r.Id == replyId).ExecuteUpdateAsync(s => s.SetProperty(x => x.CompletedAt, DateTime.UtcNow.AddMinutes(-10)));
        }
        var fetched = FakeTwilio.Message(sid, Carla, Fixtures.SmsNumber, "Hi Carla", "undelivered");
        fetched["error_code"] = 30003;
        _twilio.Server.Given(Request.Create().WithPath($"/2010-04-01/Accounts/{Fixtures.AccountSid}/Messages/{sid}.json").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(fetched.ToJsonString()));

        await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(await _app.NumberIdAsync(), CancellationToken.None);

        await using var check = _app.Services.CreateAsyncScope();
        var row = await check.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses.SingleAsync(s => s.MessageSid == sid);
        Assert.Equal(("undelivered", (int?)30003, (long?)replyId, Fixtures.OrgId, Fixtures.AccountSid), (row.Status, row.ErrorCode, row.ReplyId, row.OrgId, row.AccountSid));
        // Listed among the failed replies, with the Desk reply it belongs to.
        var failed = Assert.Single(await _app.Admin().GetFromJsonAsync<System.Text.Json.JsonElement[]>("/api/admin/messages?status=failed") ?? []);
        Assert.Equal(sid, failed.GetProperty("messageSid").GetString());
        Assert.NotNull(failed.GetProperty("deskThreadId").GetString());
    }

    [Fact]
    public async Task EveryNumberHasItsRecurringReconciliationAndLosesItWhenRemoved()
    {
        var storage = _app.Services.GetRequiredService<JobStorage>();
        string[] Recurring()
        {
            using var connection = storage.GetConnection();
            return connection.GetRecurringJobs().Select(j => j.Id).Where(id => id.StartsWith("reconcile-number-")).Order().ToArray();
        }
        var id = await _app.NumberIdAsync();
        await Eventually.UntilAsync(() => Recurring().Length == 2, "two recurring reconciliations");
        Assert.Contains($"reconcile-number-{id}", Recurring());
        using (var connection = storage.GetConnection())
            Assert.Equal("*/2 * * * *", connection.GetRecurringJobs().Single(j => j.Id == $"reconcile-number-{id}").Cron);

        using var admin = _app.Admin();
        (await admin.DeleteAsync($"/api/admin/numbers/{id}")).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => !Recurring().Contains($"reconcile-number-{id}"), "the removed number's reconciliation to go");
        Assert.Equal([$"reconcile-number-{await _app.NumberIdAsync(Fixtures.WhatsAppNumber)}"], Recurring());
    }

    [Theory]
    [InlineData(60, "* * * * *")]
    [InlineData(300, "*/5 * * * *")]
    [InlineData(3540, "*/59 * * * *")]
    [InlineData(3541, "0 */1 * * *")]
    [InlineData(3600, "0 */1 * * *")]
    [InlineData(7200, "0 */2 * * *")]
    [InlineData(86_400, "0 0 * * *")]
    public void AReconcileIntervalBecomesACronHangfireAccepts(int seconds, string cron)
    {
        Assert.Equal(cron, Web.History.ReconcileSchedule.CronFor(seconds));
        // Hangfire refuses an invalid expression when a recurring job is added; "*/60 * * * *" was one.
        var storage = new Hangfire.InMemory.InMemoryStorage();
        new RecurringJobManager(storage).AddOrUpdate("probe", () => Console.WriteLine("probe"), Web.History.ReconcileSchedule.CronFor(seconds));
        using var connection = storage.GetConnection();
        Assert.Equal(cron, connection.GetRecurringJobs().Single().Cron);
    }

    /// <summary>Carla writes, an agent answers "Hi Carla": the reply's SID.</summary>
    private async Task<string> ReplyToCarlaAsync()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Sms("hello", from: Carla));
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Carla, "Hi Carla"));
        Assert.Equal(200, status);
        return (string)body["extId"]!;
    }
}
