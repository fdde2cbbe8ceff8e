using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests;

/// <summary>Health probes and internet-facing hygiene: no secrets in logs, bounded bodies, no stack traces.</summary>
public sealed class HealthAndHygieneTests : IAsyncLifetime
{
    private const string WrongContext = "1000.0badc0de0badc0de0badc0de0badc0de.0badc0de0badc0de0badc0de0badc0de";

    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task HealthProbesAnswerHealthy(string path)
    {
        using var response = await _app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HealthProbesNeedNoAdminKey()
    {
        using var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Theory]
    [InlineData("defaults")]
    [InlineData("trace")]
    [InlineData("trace including hosting diagnostics")]
    public async Task APullNeverPutsItsSecurityContextIntoTheLogs(string logging)
    {
        var settings = logging switch
        {
            "trace" => new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            },
            // An operator chasing a problem turns on the very category that logs request URLs.
            "trace including hosting diagnostics" => new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
            },
            _ => null,
        };
        using var app = new ChannelApp(settings: settings);
        await app.SeedAsync(numbers: false);
        using var client = app.CreateClient();
        var query = $"orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";

        using (var ok = await app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using (var wrong = await app.PullRawAsync(new { channelState = "" }, securityContext: WrongContext))
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        using (var unknownOrg = await app.PullRawAsync(new { channelState = "" }, orgId: "99999"))
            Assert.Equal(HttpStatusCode.Forbidden, unknownOrg.StatusCode);
        using (var badBody = await client.PostAsync($"/desk/pull?{query}", new StringContent("{not json", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        using (var wrongMethod = await client.GetAsync($"/desk/pull?{query}"))
            Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        using (var unknownRoute = await client.PostAsync($"/desk/push-nowhere?{query}", new StringContent("{}", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.NotFound, unknownRoute.StatusCode);

        var lines = app.Logs.Lines.ToList();
        Assert.NotEmpty(lines);
        if (settings is not null)
            Assert.Contains(lines, line => line.StartsWith("Trace Microsoft.AspNetCore", StringComparison.Ordinal) || line.StartsWith("Debug Microsoft.AspNetCore", StringComparison.Ordinal));
        foreach (var secret in new[] { Fixtures.SecurityContext, Uri.EscapeDataString(Fixtures.SecurityContext), WrongContext })
            Assert.DoesNotContain(lines, line => line.Contains(secret, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOversizedPullBodyIsRefusedWith413AndTheServiceKeepsAnswering(bool chunked)
    {
        using var client = _app.CreateClient();
        var path = $"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";

        using (var response = await client.SendAsync(Oversized(path, 2 * 1024 * 1024, chunked)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("   at ", text);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        using var pull = await _app.PullAsync();
        Assert.True(pull.RootElement.TryGetProperty("data", out _));
    }

    [Theory]
    [InlineData("/desk/events", false)]
    [InlineData("/desk/events", true)]
    [InlineData("/api/admin/twilio-accounts", false)]
    [InlineData("/api/admin/twilio-accounts", true)]
    public async Task AnOversizedBodyIsRefusedWith413Anywhere(string path, bool chunked)
    {
        using var client = _app.Admin();
        using var response = await client.SendAsync(Oversized(path, 2 * 1024 * 1024, chunked));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOversizedDeskPushGetsA413WithAMessageDeskCanShow(bool chunked)
    {
        // Desk marks a reply failed with the {"message"} of a non-2xx answer; Problem Details alone had none.
        var path = $"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";
        using var response = await _app.CreateClient().SendAsync(Oversized(path, 2 * 1024 * 1024, chunked));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(body.RootElement.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task AChunkedOversizedWebhookIsRefusedWith413AndSaysWhy()
    {
        // Signed-looking and a form, so the signature filter reads it: Kestrel's limit surfaces there (it was a bare 400).
        // Fields under the form's own bounds (64 KB each, 200 fields), together over the 1 MB body limit.
        var form = "AccountSid=" + Fixtures.AccountSid + string.Concat(Enumerable.Range(0, 20).Select(i => $"&F{i}=" + new string('a', 60_000)));
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(form)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add("X-Twilio-Signature", "c2lnbmF0dXJl");
        using var response = await _app.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("could not be read", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AWebhookWithAFieldOverTheFormLimitIsABadRequestThatSaysWhy()
    {
        var form = Fixtures.Sms(new string('a', 100_000));
        using var response = await _app.PostInboundAsync(form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("exceeds this endpoint's limits", text);
        Assert.DoesNotContain("   at ", text);
    }

    [Fact]
    public async Task ABodyJustUnderTheLimitIsStillAccepted()
    {
        using var client = _app.CreateClient();
        var path = $"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";
        var json = "{\"other\":\"" + new string('a', 900 * 1024) + "\",\"channelState\":\"\"}";
        using var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/no/such/route")]
    [InlineData("POST", "/desk/nothing-here")]
    [InlineData("GET", "/api/admin/../../etc/passwd")]
    public async Task AnUnknownRouteIsNotFoundWithoutAStackTrace(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await _app.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain(".cs:line", text);
    }

    /// <summary>A POST of a JSON object padded to <paramref name="size"/> bytes. Chunked: no Content-Length, so the
    /// server can only find out by reading.</summary>
    private static HttpRequestMessage Oversized(string path, int size, bool chunked)
    {
        var bytes = Encoding.UTF8.GetBytes("{\"channelState\":\"\",\"padding\":\"" + new string('a', size) + "\"}");
        HttpContent content = chunked ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (chunked) request.Headers.TransferEncodingChunked = true;
        return request;
    }
}
