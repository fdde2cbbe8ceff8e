using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>
/// The real service through the real ASP.NET pipeline, on its own SQLite file in a temp folder (kept across
/// instances with the same folder, to test restarts). Public URL https://channel.example.com, as behind a proxy.
/// </summary>
public sealed class ChannelApp : WebApplicationFactory<Program>
{
    public const string PublicBaseUrl = "https://channel.example.com";
    public const string AdminKey = "test-admin-key-0123456789abcdef";
    public const string ExtensionSecret = "extension-secret-for-tests";

    private readonly Dictionary<string, string?> _settings;

    public ChannelApp(string? dataPath = null, Dictionary<string, string?>? settings = null)
    {
        DataPath = dataPath ?? Path.Combine(Path.GetTempPath(), "twilio-channel-tests", Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>
        {
            ["DataPath"] = DataPath,
            ["PublicBaseUrl"] = PublicBaseUrl,
            ["Admin:ApiKey"] = AdminKey,
            ["Desk:ExtensionSecret"] = ExtensionSecret,
            // Hangfire.InMemory, as ../shared/STACK.md advises for tests: job pickup in < 1 ms instead of a storage poll,
            // and no SQLite file per test host. The embedded SQLite job storage is exercised by Jobs/DashboardTests.
            ["Jobs:Storage"] = "InMemory",
        };
        foreach (var (key, value) in settings ?? []) _settings[key] = value;
    }

    public string DataPath { get; }

    public TestLogs Logs { get; } = new();

    /// <summary>Replace services (e.g. a FakeTimeProvider) before the host starts.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureTestServices(services => ConfigureServices?.Invoke(services));
    }

    public HttpClient Admin()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    /// <summary>Configures the fixtures' Twilio account, Desk org and both numbers.</summary>
    public async Task SeedAsync(bool numbers = true)
    {
        using var admin = Admin();
        (await admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/installations", new { orgId = Fixtures.OrgId, securityContext = Fixtures.SecurityContext })).EnsureSuccessStatusCode();
        if (!numbers) return;
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Fixtures.SmsNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Fixtures.WhatsAppNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
    }

    /// <summary>The admin API id of a configured number.</summary>
    public async Task<long> NumberIdAsync(string address = Fixtures.SmsNumber)
    {
        using var admin = Admin();
        var numbers = await admin.GetFromJsonAsync<JsonElement>("/api/admin/numbers");
        return numbers.EnumerateArray().Single(n => n.GetProperty("address").GetString() == address).GetProperty("id").GetInt64();
    }

    /// <summary>Posts a webhook signed for the public URL, as Twilio would. An acknowledged message is in the inbox;
    /// unless <paramref name="waitStored"/> is false this also waits until the projector has moved it into the
    /// database, so a test can read it there.</summary>
    public async Task<HttpResponseMessage> PostInboundAsync(IDictionary<string, string> form, string? token = Fixtures.AuthToken, string path = "/twilio/messages",
        HttpClient? client = null, bool waitStored = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (token is not null) request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign(PublicBaseUrl + path, form, token));
        var response = await (client ?? CreateClient()).SendAsync(request);
        if (waitStored && response.IsSuccessStatusCode && path == "/twilio/messages") await StoredAsync();
        return response;
    }

    /// <summary>Waits until every acknowledged webhook is in the database (Twilio/InboundProjector).</summary>
    public async Task StoredAsync()
    {
        if (!await Services.GetRequiredService<InboundProjector>().CaughtUpAsync(TimeSpan.FromSeconds(30), CancellationToken.None))
            throw new TimeoutException("Acknowledged webhooks were not moved into the database within 30 s.");
    }

    /// <summary>Runs the router until nothing is left, instead of waiting for its background pass.</summary>
    public async Task RouteAsync()
    {
        var router = Server.Services.GetRequiredService<MessageRouter>();
        while (await router.RouteBatchAsync(CancellationToken.None) > 0) { }
    }

    public async Task<JsonDocument> PullAsync(string? channelState = null, string orgId = Fixtures.OrgId, string securityContext = Fixtures.SecurityContext)
    {
        using var response = await PullRawAsync(new { channelState = channelState ?? "" }, orgId, securityContext);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    public Task<HttpResponseMessage> PullRawAsync(object body, string orgId = Fixtures.OrgId, string securityContext = Fixtures.SecurityContext) =>
        CreateClient().PostAsJsonAsync($"/desk/pull?orgId={Uri.EscapeDataString(orgId)}&securityContext={Uri.EscapeDataString(securityContext)}", body);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
    }
}

/// <summary>Captures every log line the service writes, to check what must never be logged.</summary>
public sealed class TestLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose() { }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
