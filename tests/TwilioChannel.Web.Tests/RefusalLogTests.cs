using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests;

/// <summary>Refused requests are logged so an operator sees them, but a flood of them can't flood the log.</summary>
public sealed class RefusalLogTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ChannelApp _app;

    public RefusalLogTests() => _app = new ChannelApp
    {
        ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
    };

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task AFloodOfForgedWebhooksIsLoggedOnceAndCountedWhenTheWindowCloses()
    {
        const int forged = 40;
        for (var i = 0; i < forged; i++)
        {
            var form = Fixtures.Form("sms-inbound.form");
            form["MessageSid"] = $"SM{i:D32}";
            using var response = await _app.PostInboundAsync(form, token: "not-the-auth-token-of-this-account");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Single(Refusals(), line => line.Contains("Refused a Twilio webhook: bad signature (/twilio/messages)", StringComparison.Ordinal));

        _time.Advance(RefusalLog.Window);

        Assert.Contains(Refusals(), line => line.Contains($"Refused {forged - 1} more: a Twilio webhook: bad signature, in the last 10 s.", StringComparison.Ordinal));
        Assert.Equal(2, Refusals().Count);
        Assert.Equal(0, InboxRows.Count(_app.DataPath)); // and nothing stored
        await using var scope = _app.Services.CreateAsyncScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Messages.CountAsync());
    }

    [Fact]
    public async Task ARefusedDeskCallCannotWriteALineOfItsOwnIntoTheLog()
    {
        using var client = _app.CreateClient();
        var orgId = Uri.EscapeDataString("123\nwarn: Admin key rotated by support");

        using var response = await client.PostAsync($"/desk/pull?orgId={orgId}&securityContext=x", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var line = Assert.Single(Refusals());
        Assert.Contains("(org 123?warn: Admin key rotated by support)", line, StringComparison.Ordinal);
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains("\nwarn: Admin key", StringComparison.Ordinal));
    }

    private List<string> Refusals() => _app.Logs.Lines.Where(l => l.Contains("Refused", StringComparison.Ordinal)).ToList();
}
