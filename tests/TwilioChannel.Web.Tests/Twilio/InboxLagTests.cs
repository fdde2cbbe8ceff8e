using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>/health/ready says Degraded while an acknowledged webhook is stuck in the inbox (Health/InboxLag).</summary>
public sealed class InboxLagTests
{
    [Fact]
    public async Task ReadinessIsDegradedOnceAnAcknowledgedWebhookWaitsLongerThanABurstsWait()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = new ChannelApp(settings: new() { ["Inbound:BurstMaxDelaySeconds"] = "30" })
        {
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)),
        };
        await app.SeedAsync();
        var client = app.CreateClient();

        // Webhooks that reached the database don't count, however old.
        await app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));

        // An entry the projector can't move (as a damaged file could hold): it stops there, the entry stays.
        InboxRows.Append(app.DataPath, new() { ["AccountSid"] = Fixtures.AccountSid, ["Body"] = "no SID, no From, no To" },
            receivedAt: time.GetUtcNow().UtcDateTime);
        time.Advance(TimeSpan.FromSeconds(55));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready")); // within 30 s + the 30 s margin

        time.Advance(TimeSpan.FromSeconds(10));
        using var response = await client.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode); // still acknowledging webhooks
        Assert.Equal("Degraded", await response.Content.ReadAsStringAsync());
    }
}
