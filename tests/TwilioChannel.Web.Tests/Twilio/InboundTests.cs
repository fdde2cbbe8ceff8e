using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

public sealed class InboundTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task AConcurrentDuplicateStormStoresExactlyOneMessageAndAcksEveryCopy()
    {
        var form = Fixtures.Form("whatsapp-text.form");
        var client = _app.CreateClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => _app.PostInboundAsync(form, client: client)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        var stored = await _app.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages");
        Assert.Single(stored!);

        await _app.RouteAsync();
        using var pull = await _app.PullAsync();
        Assert.Single(pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
    }

    [Fact]
    public async Task TheRawFormIsKeptWithEveryField()
    {
        var form = Fixtures.Form("whatsapp-location.form");
        form["SomeFieldTwilioAddsTomorrow"] = "kept";
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);

        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
        var message = db.Messages.Single();
        var raw = JsonSerializer.Deserialize<Dictionary<string, string>>(message.RawForm)!;
        Assert.Equal(form, raw);
        Assert.Equal("whatsapp:+5511987654321", message.From);
        Assert.Equal(Fixtures.WhatsAppNumber, message.To);
    }

    [Fact]
    public async Task TheRawFormKeepsNonAsciiTextAsIsAndReadsBackExactly()
    {
        var body = "Olá 👟 مرحبا <b>\"quoted\" & 'single'</b> +1\\n\tend";
        var form = Fixtures.Sms(body);
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);

        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
        var stored = db.Messages.Single().RawForm;
        Assert.Contains("Olá", stored);
        Assert.Contains("مرحبا", stored);
        Assert.Equal(form, JsonSerializer.Deserialize<Dictionary<string, string>>(stored));
    }

    [Fact]
    public async Task AMessageForANumberNotConfiguredYetIsKeptAsUnroutedAndRoutedOnceTheNumberIsAdded()
    {
        var form = Fixtures.Sms("Hello from a new number", to: "+14155550199");
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);
        await _app.RouteAsync();

        var admin = _app.Admin();
        var unrouted = await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/messages?state=unrouted");
        Assert.Equal(form["MessageSid"], Assert.Single(unrouted!).GetProperty("messageSid").GetString());
        using (var before = await _app.PullAsync())
            Assert.Empty(before.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());

        var added = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550199", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        await _app.RouteAsync();

        Assert.Empty((await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/messages?state=unrouted"))!);
        using var after = await _app.PullAsync();
        var thread = Assert.Single(after.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
        Assert.Equal(form["MessageSid"], thread.GetProperty("extId").GetString());
        Assert.Equal("Hello from a new number", thread.GetProperty("content").GetString());
    }

    [Fact]
    public async Task AMessageFromAnotherTwilioAccountIsNotRoutedIntoTheOrgOfANumberConfiguredUnderAnotherAccount()
    {
        // Both accounts are configured (two tenants of one deployment): the second signs a message "to" the first one's
        // number. Before, it landed in the first org's tickets.
        const string otherAccount = "AC22222222222222222222222222222222", otherToken = "other-tenant-auth-token";
        var admin = _app.Admin();
        (await admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = otherAccount, authToken = otherToken })).EnsureSuccessStatusCode();
        var form = Fixtures.Sms("Injected into another org", to: Fixtures.SmsNumber);
        form["AccountSid"] = otherAccount;

        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form, token: otherToken)).StatusCode);
        await _app.RouteAsync();

        var unrouted = await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/messages?state=unrouted");
        Assert.Equal(form["MessageSid"], Assert.Single(unrouted!).GetProperty("messageSid").GetString());
        using (var pulled = await _app.PullAsync())
            Assert.Empty(pulled.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
        Assert.Contains(_app.Logs.Lines, l => l.Contains($"came from Twilio account {otherAccount}, but the number is configured under {Fixtures.AccountSid}", StringComparison.Ordinal));

        // The same message from the number's own account routes as usual.
        var own = Fixtures.Sms("From the right account", to: Fixtures.SmsNumber);
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(own)).StatusCode);
        await _app.RouteAsync();
        using var after = await _app.PullAsync();
        Assert.Equal(own["MessageSid"], Assert.Single(after.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray()).GetProperty("extId").GetString());
    }

    [Fact]
    public async Task AMessageToAnUnconfiguredPoolNumberIsRoutedByItsMessagingService()
    {
        var admin = _app.Admin();
        const string service = "MG22222222222222222222222222222222";
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550111", accountSid = Fixtures.AccountSid, orgId = "org-pool", messagingServiceSid = service })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/installations", new { orgId = "org-pool", securityContext = "pool-context" })).EnsureSuccessStatusCode();

        var form = Fixtures.Form("sms-opt-out-stop.form");
        form["To"] = "+14155550112"; // another number of the pool
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);
        await _app.RouteAsync();

        using var pull = await _app.PullAsync(orgId: "org-pool", securityContext: "pool-context");
        Assert.Single(pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
    }

    [Fact]
    public async Task TheSameCustomerOnSmsAndWhatsAppGetsTwoTicketsButOneContactPhone()
    {
        await _app.PostInboundAsync(Fixtures.Sms("via sms", from: "+5511987654321"));
        await _app.PostInboundAsync(Fixtures.WhatsApp("via whatsapp", from: "whatsapp:+5511987654321"));
        await _app.RouteAsync();

        using var pull = await _app.PullAsync();
        var tickets = pull.RootElement.GetProperty("data").GetProperty("tickets").EnumerateArray().ToList();
        Assert.Equal(["+5511987654321", "whatsapp:+5511987654321"], tickets.Select(t => t.GetProperty("extId").GetString()).Order());
        Assert.All(tickets, t => Assert.Equal("+5511987654321", t.GetProperty("actor").GetProperty("phone").GetString()));
    }
}
