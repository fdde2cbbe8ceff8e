using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Desk;

/// <summary>Each fixture, posted as Twilio would, comes out of Desk's pull as the expected ticket and thread JSON.</summary>
public sealed class PullMappingTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    private Task<(JsonObject Ticket, JsonObject Thread)> RoundTripAsync(string fixture) => RoundTripAsync(Fixtures.Form(fixture));

    /// <summary>One signed webhook in, routed, pulled: the ticket and the thread Desk gets.</summary>
    private async Task<(JsonObject Ticket, JsonObject Thread)> RoundTripAsync(Dictionary<string, string> form)
    {
        var response = await _app.PostInboundAsync(form);
        response.EnsureSuccessStatusCode();
        await _app.RouteAsync();
        using var pull = await _app.PullAsync();
        var root = JsonNode.Parse(pull.RootElement.GetRawText())!;
        var ticket = Assert.Single(root["data"]!["tickets"]!.AsArray())!.AsObject();
        var thread = Assert.Single(root["data"]!["threads"]!.AsArray())!.AsObject();
        return (ticket, thread);
    }

    [Fact]
    public async Task SmsFixtureBecomesATicketAndAnInboundThread()
    {
        var (ticket, thread) = await RoundTripAsync("sms-inbound.form");

        Assert.Equal("+14155550123", (string?)ticket["extId"]);
        Assert.Equal("SMS · +14155550123: Hi, my order #58213 hasn't arrived yet. Can you check?", (string?)ticket["subject"]);
        Assert.Equal("+14155550123", (string?)ticket["actor"]!["phone"]);

        Assert.Equal("SM9f1c2a7e4b5d6c8e0a1b2c3d4e5f6a7b", (string?)thread["extId"]);
        Assert.Equal("+14155550123", (string?)thread["extParentId"]);
        Assert.Equal("in", (string?)thread["direction"]);
        Assert.Equal("+14155550123", (string?)thread["from"]);
        Assert.Equal("+14155550100", (string?)thread["to"]![0]);
        Assert.Equal("Hi, my order #58213 hasn't arrived yet. Can you check?", (string?)thread["content"]);
        Assert.True((bool)thread["canReply"]!);
        Assert.Equal("text/plain", (string?)thread["contentType"]);
        var created = DateTime.Parse((string)thread["createdTime"]!, null, System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.Equal(DateTimeKind.Utc, created.Kind);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)thread["createdTime"]!);
        Assert.Null(thread["attachmentUrls"]);
    }

    [Fact]
    public async Task WhatsAppTextKeepsEmojiAndTheProfileName()
    {
        var (ticket, thread) = await RoundTripAsync("whatsapp-text.form");
        Assert.Equal("whatsapp:+5511987654321", (string?)ticket["extId"]);
        Assert.Equal("Olá! Preciso trocar o tamanho do pedido 👟", (string?)thread["content"]);
        Assert.Equal("Ana Souza", (string?)thread["actor"]!["name"]);
        Assert.Equal("whatsapp:+5511987654321", (string?)thread["actor"]!["extId"]);
        Assert.Equal("+5511987654321", (string?)thread["actor"]!["phone"]);
    }

    [Fact]
    public async Task BidiControlsInAProfileNameReachDeskNeitherInTheSubjectNorTheContactButStayInTheMessage()
    {
        // "Ana\u202E" before "(+5511987654321)" showed the phone reversed in Desk: a customer could pass for another.
        var form = Fixtures.WhatsApp("Hi \u202Eevil\u202C there");
        form["ProfileName"] = "\u2067Ana\u202E Souza\u200F";
        var (ticket, thread) = await RoundTripAsync(form);

        Assert.StartsWith("WhatsApp · Ana Souza (+5511987654321): ", (string?)ticket["subject"]);
        Assert.Equal("Ana Souza", (string?)ticket["actor"]!["name"]);
        Assert.Equal("Ana Souza", (string?)thread["actor"]!["name"]);
        Assert.Equal("Hi \u202Eevil\u202C there", (string?)thread["content"]);
    }

    [Fact]
    public async Task WhatsAppLocationBecomesAddressAndMapLink()
    {
        var (ticket, thread) = await RoundTripAsync("whatsapp-location.form");
        Assert.Equal("📍 MASP — Av. Paulista, 1578 - Bela Vista, São Paulo\nhttps://www.google.com/maps/search/?api=1&query=-23.561414,-46.655881", (string?)thread["content"]);
        Assert.StartsWith("WhatsApp · Ana Souza (+5511987654321): 📍 MASP", (string?)ticket["subject"]);
    }

    [Fact]
    public async Task WhatsAppButtonReplyShowsTheButtonText()
    {
        var (_, thread) = await RoundTripAsync("whatsapp-button-reply.form");
        Assert.Equal("Yes, reschedule", (string?)thread["content"]);
    }

    [Fact]
    public async Task AClickToWhatsAppAdReferralShowsTheAgentWhichAdItCameFrom()
    {
        // Before, only "I saw your ad" reached Desk; the ad stayed in the stored raw form.
        var form = Fixtures.WhatsApp("I saw your ad");
        form["ReferralHeadline"] = "Black Friday: 40% off sneakers";
        form["ReferralSourceUrl"] = "https://fb.me/3xAmPlE";
        form["ReferralSourceType"] = "ad";
        form["ReferralSourceId"] = "120210000000000001";
        form["ReferralCtwaClid"] = "ARAkLkA8rmlFeiCktEJQ";
        form["ReferralNumMedia"] = "0";
        var (ticket, thread) = await RoundTripAsync(form);

        Assert.Equal("I saw your ad\n📣 From an ad: Black Friday: 40% off sneakers — https://fb.me/3xAmPlE (ad 120210000000000001)",
            (string?)thread["content"]);
        Assert.Equal("WhatsApp · Ana Souza (+5511987654321): I saw your ad", (string?)ticket["subject"]);
    }

    [Fact]
    public async Task WhatsAppImageCarriesASignedMediaUrlOfOurs()
    {
        var (_, thread) = await RoundTripAsync("whatsapp-image.form");
        Assert.Equal("Foto do produto danificado", (string?)thread["content"]);
        var url = (string?)Assert.Single(thread["attachmentUrls"]!.AsArray());
        Assert.StartsWith(ChannelApp.PublicBaseUrl + "/media/", url);
        Assert.DoesNotContain("api.twilio.com", url);
    }

    [Fact]
    public async Task ALongMessageArrivesAsOrderedContinuationThreadsThatReassembleExactly()
    {
        var body = string.Concat(Enumerable.Range(0, 40).Select(i => $"Parte {i}: a encomenda chegou danificada 📦, العربية. "));
        Assert.True(body.Length > 1600);
        var form = Fixtures.WhatsApp(body);
        (await _app.PostInboundAsync(form)).EnsureSuccessStatusCode();
        await _app.RouteAsync();

        using var pull = await _app.PullAsync();
        var threads = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().ToList();
        Assert.True(threads.Count >= 8);
        Assert.Equal(body, string.Concat(threads.Select(t => t.GetProperty("content").GetString())));
        Assert.All(threads, t => Assert.InRange(t.GetProperty("content").GetString()!.Length, 1, 255));
        Assert.Equal(form["MessageSid"], threads[0].GetProperty("extId").GetString());
        for (var i = 1; i < threads.Count; i++)
        {
            Assert.Equal($"{form["MessageSid"]}#{i + 1}", threads[i].GetProperty("extId").GetString());
            Assert.True(threads[i].GetProperty("createdTime").GetDateTime() > threads[i - 1].GetProperty("createdTime").GetDateTime());
        }
    }

    [Fact]
    public async Task AMessageArrivingWhileAnotherMessagesPartsRunComesAfterTheLastPartInDesksTimeOrder()
    {
        // Desk orders a ticket's threads by createdTime; parts are 1 ms apart. A short message received 2 ms after a
        // 7-part one used to get a time between the parts (found by a black-box review).
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = new ChannelApp { ConfigureServices = s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)) };
        await app.SeedAsync();
        var longForm = Fixtures.Sms(new string('a', 1600), from: "+14155553001");
        (await app.PostInboundAsync(longForm)).EnsureSuccessStatusCode();
        time.Advance(TimeSpan.FromMilliseconds(2));
        var shortForm = Fixtures.Sms("short", from: "+14155553001");
        (await app.PostInboundAsync(shortForm)).EnsureSuccessStatusCode();
        await app.RouteAsync();

        using var pull = await app.PullAsync();
        var threads = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray()
            .Select(t => (ExtId: t.GetProperty("extId").GetString()!, Created: t.GetProperty("createdTime").GetDateTime())).ToList();
        Assert.Equal(8, threads.Count);
        Assert.Equal(shortForm["MessageSid"], threads[^1].ExtId);
        Assert.Equal(threads.Select(t => t.ExtId), threads.OrderBy(t => t.Created).Select(t => t.ExtId));
        for (var i = 1; i < threads.Count; i++) Assert.True(threads[i].Created > threads[i - 1].Created, $"{threads[i].ExtId} is not after {threads[i - 1].ExtId}");
    }
}
