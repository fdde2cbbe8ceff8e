using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Tests.Replies;

namespace TwilioChannel.Web.Tests.Delivery;

/// <summary>Replies' delivery status reaches Desk: the reply's thread restated, and a notice when it failed.</summary>
public sealed class ReplyStatusDeliveryTests : IAsyncLifetime
{
    private readonly FakeDesk _desk = new();
    private readonly FakeTwilio _twilio = new();
    private ChannelApp _app = null!;

    public async Task InitializeAsync()
    {
        _app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url, ["Twilio:ApiBaseUrl"] = _twilio.Url });
        await FakeDesk.SeedAsync(_app);
        _twilio.AcceptMessages();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _desk.Dispose();
        _twilio.Dispose();
    }

    private Task<HttpResponseMessage> CallbackAsync(string sid, string status, string? errorCode = null) => _app.StatusCallbackAsync(sid, status, errorCode);

    private List<JsonElement> ImportedThreads() =>
        _desk.Accepted.SelectMany(c => c.Body.GetProperty("data").GetProperty("threads").EnumerateArray()).ToList();

    [Fact]
    public async Task AnUndeliveredReplyShowsItsStatusAndANoticeInTheTicket()
    {
        var customer = Fixtures.WhatsApp("Olá");
        await _app.CustomerWritesAsync(customer);
        var (status, body) = await _app.PushAsync(ReplyApp.Push(customer["From"], "Seu pedido foi enviado.", id: "777001"));
        Assert.Equal(200, status);
        var sid = (string)body["extId"]!;

        (await CallbackAsync(sid, "sent")).EnsureSuccessStatusCode();
        (await CallbackAsync(sid, "undelivered", "63016")).EnsureSuccessStatusCode();

        await Eventually.UntilAsync(() => ImportedThreads().Any(t => t.GetProperty("extId").GetString() == sid + "-undelivered"), "the notice imported");
        var threads = ImportedThreads();
        var update = threads.Single(t => t.GetProperty("extId").GetString() == sid);
        Assert.Equal(customer["From"], update.GetProperty("extParentId").GetString());
        Assert.Equal("out", update.GetProperty("direction").GetString());
        Assert.Equal("Seu pedido foi enviado.", update.GetProperty("content").GetString());
        Assert.Equal("undelivered", update.GetProperty("extra").GetProperty("queriableValue").GetString());
        Assert.Equal(63016, update.GetProperty("extra").GetProperty("value").GetProperty("errorCode").GetInt32());

        var notice = threads.Single(t => t.GetProperty("extId").GetString() == sid + "-undelivered");
        Assert.Equal(customer["From"], notice.GetProperty("extParentId").GetString());
        Assert.StartsWith("⚠ Not delivered to the customer:", notice.GetProperty("content").GetString());
        Assert.Contains("24-hour", notice.GetProperty("content").GetString());
        Assert.False(notice.GetProperty("canReply").GetBoolean());
        // The ticket travels with them, and "sent" alone was not worth a Desk call.
        Assert.Contains(_desk.Accepted, c => c.ThreadExtIds.Contains(sid) && c.TicketExtIds.Contains(customer["From"]));
        Assert.DoesNotContain(threads, t => t.GetProperty("extId").GetString() == sid && t.GetProperty("extra").GetProperty("queriableValue").GetString() == "sent");
    }

    [Fact]
    public async Task ARepeatedCallbackDoesNotRepeatTheNoticeAndThePullServesItWhenImportIsOff()
    {
        await using var app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url }); // no connection: pull only
        await app.SeedAsync();
        var customer = Fixtures.Sms("hello", from: "+14155550177");
        await app.CustomerWritesAsync(customer);
        using var first = await app.PullAsync();
        var state = first.RootElement.GetProperty("channelState").GetString();

        var (_, body) = await app.PushAsync(ReplyApp.Push(customer["From"], "We can help.", id: "777002"));
        var sid = (string)body["extId"]!;
        foreach (var _ in Enumerable.Range(0, 3))
            (await app.StatusCallbackAsync(sid, "failed", "21610")).EnsureSuccessStatusCode();

        using var next = await app.PullAsync(state);
        var extIds = next.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()).ToList();
        Assert.Equal([sid, sid + "-undelivered"], extIds);
        Assert.Equal([customer["From"]], next.RootElement.GetProperty("data").GetProperty("tickets").EnumerateArray().Select(t => t.GetProperty("extId").GetString()));
    }

    [Fact]
    public async Task AReplyDeliveredThenReadIsInOnePullOnceWithItsLatestStatus()
    {
        // Both restatements were served in one SYNC_OBJECT, one extId twice: what Desk does with that is undocumented.
        await using var app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url }); // pull only
        await app.SeedAsync();
        var customer = Fixtures.WhatsApp("Olá");
        await app.CustomerWritesAsync(customer);
        using var first = await app.PullAsync();
        var state = first.RootElement.GetProperty("channelState").GetString()!;
        var (_, body) = await app.PushAsync(ReplyApp.Push(customer["From"], "Pronto!", id: "777003"));
        var sid = (string)body["extId"]!;
        (await app.StatusCallbackAsync(sid, "delivered")).EnsureSuccessStatusCode();
        (await app.StatusCallbackAsync(sid, "read")).EnsureSuccessStatusCode();

        // The restatements reach the feed a moment after the callbacks: re-pull from the same state until "read" is in.
        var threads = new List<JsonElement>();
        for (var tries = 0; tries < 150 && !threads.Any(t => t.GetProperty("extId").GetString() == sid && StatusIn(t) == "read"); tries++)
        {
            if (tries > 0) await Task.Delay(100);
            threads = await PulledThreadsAsync(app, state);
        }

        var reply = Assert.Single(threads, t => t.GetProperty("extId").GetString() == sid);
        Assert.Equal("read", StatusIn(reply));
    }

    /// <summary>A 3,659-character SMS reply, sent as three messages; the pull-only app, the SIDs, the pull's state.</summary>
    private async Task<(ChannelApp App, List<string> Sids, string State)> LongReplyAsync(string deskId)
    {
        var app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url }); // no connection: pull only
        await app.SeedAsync();
        var customer = Fixtures.Sms("hello", from: "+14155550178");
        await app.CustomerWritesAsync(customer);
        using var first = await app.PullAsync();
        var text = string.Join(" ", Enumerable.Range(1, 104).Select(i => $"Step {i:000} of the procedure is here.")).PadRight(3659, '.');
        Assert.Equal(3659, text.Length);
        var (status, body) = await app.PushAsync(ReplyApp.Push(customer["From"], text, id: deskId));
        Assert.Equal(200, status);
        var sids = body["extra"]!["value"]!["sids"]!.AsArray().Select(s => (string)s!).ToList();
        Assert.Equal(3, sids.Count);
        return (app, sids, first.RootElement.GetProperty("channelState").GetString()!);
    }

    private static async Task<List<JsonElement>> PulledThreadsAsync(ChannelApp app, string state)
    {
        using var next = await app.PullAsync(state);
        return next.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.Clone()).ToList();
    }

    private static string StatusIn(JsonElement thread) => thread.GetProperty("extra").GetProperty("queriableValue").GetString()!;

    [Fact]
    public async Task ALaterPartThatFailedKeepsTheReplysThreadFailedWhenTheOtherPartsAreDelivered()
    {
        var (app, sids, state) = await LongReplyAsync("777003");
        await using var _ = app;

        (await app.StatusCallbackAsync(sids[1], "failed", "30005")).EnsureSuccessStatusCode();
        (await app.StatusCallbackAsync(sids[0], "delivered")).EnsureSuccessStatusCode();
        (await app.StatusCallbackAsync(sids[2], "delivered")).EnsureSuccessStatusCode();

        var threads = await PulledThreadsAsync(app, state);
        var updates = threads.Where(t => t.GetProperty("extId").GetString() == sids[0]).ToList();
        Assert.Equal(["failed"], updates.Select(StatusIn));
        Assert.Equal(30005, updates[0].GetProperty("extra").GetProperty("value").GetProperty("errorCode").GetInt32());
        var notice = threads.Single(t => t.GetProperty("extId").GetString() == sids[1] + "-undelivered");
        Assert.StartsWith("⚠ Not delivered to the customer (part 2 of 3):", notice.GetProperty("content").GetString());
    }

    [Fact]
    public async Task ALongReplyIsDeliveredOnceEveryPartIsDelivered()
    {
        var (app, sids, state) = await LongReplyAsync("777004");
        await using var _ = app;

        (await app.StatusCallbackAsync(sids[0], "delivered")).EnsureSuccessStatusCode();
        (await app.StatusCallbackAsync(sids[1], "read")).EnsureSuccessStatusCode();
        Assert.DoesNotContain(await PulledThreadsAsync(app, state), t => t.GetProperty("extId").GetString() == sids[0]);

        (await app.StatusCallbackAsync(sids[2], "delivered")).EnsureSuccessStatusCode();
        var updates = (await PulledThreadsAsync(app, state)).Where(t => t.GetProperty("extId").GetString() == sids[0]).ToList();
        Assert.Equal(["delivered"], updates.Select(StatusIn));
    }

    [Fact]
    public async Task TheStatusOfALongReplyIsRestatedWithinDesksContentLimitWithoutLosingText()
    {
        var (app, sids, state) = await LongReplyAsync("777005");
        await using var _ = app;
        foreach (var sid in sids) (await app.StatusCallbackAsync(sid, "delivered")).EnsureSuccessStatusCode();

        var threads = (await PulledThreadsAsync(app, state)).Where(t => t.GetProperty("direction").GetString() == "out").ToList();
        Assert.All(threads, t => Assert.InRange(t.GetProperty("content").GetString()!.Length, 1, 255));
        Assert.Equal(sids[0], threads[0].GetProperty("extId").GetString());
        Assert.Equal("delivered", StatusIn(threads[0]));
        Assert.Equal(3659, threads.Sum(t => t.GetProperty("content").GetString()!.Length));
        Assert.StartsWith("Step 001 of the procedure", threads[0].GetProperty("content").GetString());
        Assert.EndsWith("Step 104 of the procedure is here.....................", threads[^1].GetProperty("content").GetString());
    }
}
