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
}
