using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.History;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.History;

/// <summary>The reconciliation and a backfill while a burst's webhooks wait in the inbox (Inbound:BurstRate): they
/// reached our webhook and are acknowledged, so Twilio's message list (which lacks what only a webhook carries) must not
/// store them first.</summary>
public sealed class HistoryBurstTests : IAsyncLifetime
{
    private readonly FakeTwilio _twilio = new();
    private readonly FakeTwilioHistory _history;
    private readonly ChannelApp _app;

    public HistoryBurstTests()
    {
        _history = new FakeTwilioHistory(_twilio.Server, pageSize: 50);
        _app = new ChannelApp(settings: new()
        {
            ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Twilio:ReconcileIntervalSeconds"] = "120",
            ["Inbound:BurstRate"] = "5", ["Inbound:BurstMaxDelaySeconds"] = "600",
        });
    }

    public Task InitializeAsync() => _app.SeedAsync();

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _twilio.Dispose();
    }

    [Fact]
    public async Task AWebhookWaitingInTheInboxDuringABurstKeepsWhatOnlyTheWebhookCarried()
    {
        var location = LocationInTwilioList();
        await WhileBurstingAsync(location, async () =>
            await _app.Services.GetRequiredService<ReconcileJob>().RunAsync(await _app.NumberIdAsync(Fixtures.WhatsAppNumber), CancellationToken.None));

        await AssertLocationThreadAsync(location);
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains("never reached our webhook"));
    }

    [Fact]
    public async Task ABackfillDuringABurstKeepsWhatOnlyTheWaitingWebhookCarried()
    {
        var location = LocationInTwilioList();
        await WhileBurstingAsync(location, async () =>
        {
            using var admin = _app.Admin();
            var started = await admin.PostAsJsonAsync($"/api/admin/numbers/{await _app.NumberIdAsync(Fixtures.WhatsAppNumber)}/backfill",
                new { since = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd") });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            await Eventually.UntilAsync(() => _app.Admin().GetFromJsonAsync<JsonElement>($"/api/admin/backfills/{id}").Result
                .GetProperty("state").GetString() is "completed" or "failed", "the backfill done", 60);
        });

        await AssertLocationThreadAsync(location);
    }

    /// <summary>A customer shares a location: the webhook carries it (Latitude, Longitude, Label); Twilio's message list,
    /// which the reconciliation and the backfill read, has only an empty body.</summary>
    private Dictionary<string, string> LocationInTwilioList()
    {
        var location = Fixtures.Form("whatsapp-location.form");
        _history.Add(location["MessageSid"], location["From"], location["To"], "", DateTime.UtcNow, inbound: true);
        return location;
    }

    /// <summary>Webhooks from another customer keep coming far above 5/s, so the projection waits; the location's webhook
    /// is acknowledged into that wait, then <paramref name="during"/> runs.</summary>
    private async Task WhileBurstingAsync(Dictionary<string, string> location, Func<Task> during)
    {
        var client = _app.CreateClient();
        await using (await InboundBurst.StartAsync(_app, client))
        {
            using (var response = await _app.PostInboundAsync(location, client: client, waitStored: false))
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await during();
        }
        await _app.StoredAsync();
        await _app.RouteAsync();
    }

    private async Task AssertLocationThreadAsync(Dictionary<string, string> location)
    {
        using var pull = await _app.PullAsync();
        var thread = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray()
            .Single(t => t.GetProperty("extId").GetString() == location["MessageSid"]);
        Assert.Equal("📍 MASP — Av. Paulista, 1578 - Bela Vista, São Paulo\nhttps://www.google.com/maps/search/?api=1&query=-23.561414,-46.655881",
            thread.GetProperty("content").GetString());
        Assert.Equal("Ana Souza", thread.GetProperty("actor").GetProperty("name").GetString());
    }
}
