using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace TwilioChannel.Web.Tests.Twilio;

public sealed class MediaTests : IAsyncLifetime
{
    private const string MediaPath = "/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages/MM3c8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a/Media/ME4d9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";
    private static readonly byte[] Jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 0xFF, 0xD9];

    private readonly WireMockServer _twilio = FakeServer.Start();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ChannelApp _app;

    public MediaTests()
    {
        _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url })
        {
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
        };
        // Twilio answers the authenticated media URL with a redirect to a pre-signed CDN URL.
        _twilio.Given(Request.Create().WithPath(MediaPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(307).WithHeader("Location", _twilio.Url + "/cdn/photo.jpg?Expires=1&Signature=abc"));
        _twilio.Given(Request.Create().WithPath("/cdn/photo.jpg").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "image/jpeg").WithBody(Jpeg));
    }

    public async Task InitializeAsync()
    {
        await _app.SeedAsync();
        (await _app.PostInboundAsync(Fixtures.Form("whatsapp-image.form"))).EnsureSuccessStatusCode();
        await _app.RouteAsync();
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Stop();
        return Task.CompletedTask;
    }

    private async Task<string> MediaPathFromPullAsync()
    {
        using var pull = await _app.PullAsync();
        var url = pull.RootElement.GetProperty("data").GetProperty("threads")[0].GetProperty("attachmentUrls")[0].GetString()!;
        return new Uri(url).PathAndQuery;
    }

    [Fact]
    public async Task TheAttachmentIsStreamedFromTwilioWithCredentialsOnlyToTheApiHost()
    {
        var response = await _app.CreateClient().GetAsync(await MediaPathFromPullAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Jpeg, await response.Content.ReadAsByteArrayAsync());

        var apiCall = Assert.Single(_twilio.LogEntries, e => e.RequestMessage.Path == MediaPath);
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Fixtures.AccountSid}:{Fixtures.AuthToken}"));
        Assert.Equal(expected, apiCall.RequestMessage.Headers!["Authorization"].Single());

        var cdnCall = Assert.Single(_twilio.LogEntries, e => e.RequestMessage.Path == "/cdn/photo.jpg");
        Assert.False(cdnCall.RequestMessage.Headers!.ContainsKey("Authorization"), "credentials must not follow the redirect");
    }

    [Fact]
    public async Task AnExpiredMediaUrlIsRefused()
    {
        var path = await MediaPathFromPullAsync();
        _time.Advance(TimeSpan.FromDays(2));
        var response = await _app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("expired", await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(_twilio.LogEntries, e => e.RequestMessage.Path == MediaPath);
    }

    [Fact]
    public async Task AForgedOrAlteredMediaTokenIsRefused()
    {
        var path = await MediaPathFromPullAsync();
        var token = path["/media/".Length..];
        var altered = token[..^3] + (token[^3] == 'A' ? "B" : "A") + token[^2..];
        foreach (var candidate in new[] { "/media/" + altered, "/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/media/" + new string('x', 5000) })
        {
            var response = await _app.CreateClient().GetAsync(candidate);
            Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{candidate[..20]}… answered {response.StatusCode}");
        }
        Assert.Empty(_twilio.LogEntries);
    }

    [Theory]
    [InlineData(MediaPath)]
    [InlineData("/cdn/photo.jpg")]
    public async Task ASlowTwilioOrCdnIsAGatewayTimeoutLoggedOnceAsAWarning(string slowPath)
    {
        var path = await MediaPathFromPullAsync();
        _twilio.Given(Request.Create().WithPath(slowPath).UsingGet()).AtPriority(0)
            .RespondWith(Response.Create().WithStatusCode(slowPath == MediaPath ? 307 : 200).WithDelay(TimeSpan.FromSeconds(5))
                .WithHeader("Location", _twilio.Url + "/cdn/photo.jpg").WithBody(Jpeg));
        using var quick = _app.WithWebHostBuilder(b => b.UseSetting("Twilio:MediaTimeoutSeconds", "1"));
        using var client = quick.CreateClient();

        var started = DateTime.UtcNow;
        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4), "the configured timeout bounds the wait");
        AssertOneWarningAndNoError("no answer within 1 s");
    }

    [Fact]
    public async Task AnUnreachableCdnIsABadGatewayLoggedOnceAsAWarning()
    {
        var path = await MediaPathFromPullAsync();
        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        _twilio.Given(Request.Create().WithPath(MediaPath).UsingGet()).AtPriority(0)
            .RespondWith(Response.Create().WithStatusCode(307).WithHeader("Location", $"http://127.0.0.1:{port}/cdn/photo.jpg"));

        var response = await _app.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        AssertOneWarningAndNoError("failed");
    }

    /// <summary>The CDN answers with a body of <paramref name="size"/> bytes and no Content-Length (chunked), the way a
    /// file of unknown length comes; the service runs with Twilio:MaxMediaBytes at <paramref name="limit"/>.</summary>
    private async Task<WebApplicationFactory<Program>> UnknownLengthFileAsync(int size, long limit)
    {
        var file = new byte[size];
        Random.Shared.NextBytes(file);
        CdnServes(file);
        using (var direct = new HttpClient())
        using (var upstream = await direct.GetAsync(_twilio.Url + "/cdn/photo.jpg", HttpCompletionOption.ResponseHeadersRead))
            Assert.Null(upstream.Content.Headers.ContentLength); // the case under test: no length known up front
        return _app.WithWebHostBuilder(b => b.UseSetting("Twilio:MaxMediaBytes", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static readonly Guid CdnFile = Guid.NewGuid();

    /// <summary>Replaces the CDN's file (one mapping, by its guid).</summary>
    private void CdnServes(byte[] file) =>
        _twilio.Given(Request.Create().WithPath("/cdn/photo.jpg").UsingGet()).WithGuid(CdnFile).AtPriority(0)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "image/jpeg").WithBody(file));

    /// <summary>After a refused or cut-off file, the service serves the next one whole; a small file of unknown length
    /// is held back until it ended, so it gets its Content-Length.</summary>
    private async Task AssertServesTheNextFileAsync(HttpClient client, string path)
    {
        CdnServes(Jpeg);
        var next = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(Jpeg.Length, next.Content.Headers.ContentLength);
        Assert.Equal(Jpeg, await next.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AFileOfUnknownLengthOverTheLimitBeforeAnythingIsSentIsABadGateway()
    {
        var path = await MediaPathFromPullAsync();
        using var host = await UnknownLengthFileAsync(size: 4096, limit: 1024);
        using var client = host.CreateClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Twilio:MaxMediaBytes", await response.Content.ReadAsStringAsync());
        Assert.Null(response.Content.Headers.ContentDisposition);
        AssertOneWarningAndNoError("larger than Twilio:MaxMediaBytes");
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains(path["/media/".Length..], StringComparison.Ordinal) || l.Contains(Fixtures.AuthToken, StringComparison.Ordinal));
        await AssertServesTheNextFileAsync(client, path);
    }

    [Fact]
    public async Task AFileOfUnknownLengthThatOutgrowsTheLimitWhileStreamingIsCutOffNotPassedOnAsComplete()
    {
        var path = await MediaPathFromPullAsync();
        using var host = await UnknownLengthFileAsync(size: 300_000, limit: 200_000);
        using var client = host.CreateClient();

        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

        // The first part of the file is out before the limit is passed: all HTTP has left is to cut the transfer.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength);
        var cut = await Record.ExceptionAsync(() => response.Content.ReadAsByteArrayAsync());
        Assert.True(cut is IOException or HttpRequestException, $"the download must fail, not end short: {cut?.GetType().Name ?? "it ended"}");
        AssertOneWarningAndNoError("cut off");
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains(path["/media/".Length..], StringComparison.Ordinal) || l.Contains(Fixtures.AuthToken, StringComparison.Ordinal));

        await AssertServesTheNextFileAsync(client, path);
    }

    private void AssertOneWarningAndNoError(string reason)
    {
        var lines = _app.Logs.Lines.ToList();
        var warning = Assert.Single(lines, l => l.StartsWith("Warning ", StringComparison.Ordinal) && l.Contains("Twilio media", StringComparison.Ordinal));
        Assert.Contains(reason, warning);
        Assert.DoesNotContain("   at ", warning);
        // Not the exception handler's error with a stack trace (background services of the host may log their own).
        Assert.DoesNotContain(lines, l => l.StartsWith("Error Microsoft.AspNetCore", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal) && l.Contains("Http", StringComparison.Ordinal));
    }

    private void CdnAnswers(string contentType, string? disposition = null)
    {
        var response = Response.Create().WithStatusCode(200).WithHeader("Content-Type", contentType).WithBody("<script>alert(document.cookie)</script>");
        if (disposition is not null) response = response.WithHeader("Content-Disposition", disposition);
        _twilio.Given(Request.Create().WithPath("/cdn/photo.jpg").UsingGet()).AtPriority(0).RespondWith(response);
    }

    [Theory]
    [InlineData("text/html; charset=utf-8")]
    [InlineData("application/xhtml+xml")]
    [InlineData("image/svg+xml")]
    [InlineData("text/xml")]
    [InlineData("application/xml")]
    [InlineData("application/javascript")]
    [InlineData("application/x-unknown")]
    public async Task ActiveContentFromTheCdnIsADownloadInASandboxNeverAPageOfOurOrigin(string contentType)
    {
        CdnAnswers(contentType);
        var response = await _app.CreateClient().GetAsync(await MediaPathFromPullAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("sandbox", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task ASafeTypeIsShownInlineWithNosniffAndNoSandbox()
    {
        var response = await _app.CreateClient().GetAsync(await MediaPathFromPullAsync());

        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
        // Twilio gave the photo no name: Desk gets one with an extension, not only our URL's token.
        Assert.Equal("inline", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("media-1.jpg", response.Content.Headers.ContentDisposition?.FileNameStar);
    }

    [Theory]
    [InlineData("attachment; filename=\"photo.jpg\"", "photo.jpg")]
    [InlineData("inline; filename*=UTF-8''Caf%C3%A9%20%D8%B5%D9%88%D8%B1%D8%A9.jpg", "Café صورة.jpg")]
    [InlineData("attachment; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%22.jpg", "aSet-Cookie: x=1.jpg")]
    [InlineData("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.jpg", "passwd.jpg")]
    public async Task TheUpstreamFileNameIsPassedOnSanitised(string upstream, string expected)
    {
        CdnAnswers("image/jpeg", upstream);
        var response = await _app.CreateClient().GetAsync(await MediaPathFromPullAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var disposition = response.Content.Headers.ContentDisposition;
        Assert.Equal("inline", disposition?.DispositionType);
        Assert.Equal(expected, disposition?.FileNameStar);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.All(disposition!.FileName!, c => Assert.True(c < 128, "filename= stays ASCII"));
    }

    [Theory]
    [InlineData("image/png", "logo.png", false)]
    [InlineData("image/svg+xml", "logo\r\n\".svg", true)]
    public async Task AReplyAttachmentIsADownloadWithItsSanitisedNameAndSandboxedWhenActive(string contentType, string name, bool sandboxed)
    {
        long id;
        using (var scope = _app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Web.Data.ChannelDbContext>();
            var file = new Web.Data.OutboundMedia { OrgId = Fixtures.OrgId, ReplyId = 1, FileName = name, ContentType = contentType, Content = [1, 2, 3], CreatedAt = DateTime.UtcNow };
            db.OutboundMedia.Add(file);
            await db.SaveChangesAsync();
            id = file.Id;
        }
        var token = _app.Services.GetRequiredService<Web.Twilio.MediaTokens>().CreateOutbound(id);

        var response = await _app.CreateClient().GetAsync("/media/out/" + token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(name.Replace("\r\n\"", ""), response.Content.Headers.ContentDisposition?.FileNameStar);
        Assert.Equal(sandboxed, response.Headers.Contains("Content-Security-Policy"));
        Assert.Equal([1, 2, 3], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadAnswersTheHeadersOfGetWithoutTheBody()
    {
        var path = await MediaPathFromPullAsync();
        var response = await _app.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(response.Headers.CacheControl?.Private);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        // The CDN URL is signed for GET: upstream it stays a GET.
        Assert.Equal("GET", Assert.Single(_twilio.LogEntries, e => e.RequestMessage.Path == "/cdn/photo.jpg").RequestMessage.Method);
    }

    [Fact]
    public void OnlyTheMessagesOwnAccountMediaPathsAreEverFetched()
    {
        var options = new Configuration.TwilioApiOptions { ApiBaseUrl = "http://127.0.0.1:9999" };
        Assert.Equal(new Uri("http://127.0.0.1:9999" + MediaPath), MediaEndpointProbe(options, "https://api.twilio.com" + MediaPath));
        Assert.Null(MediaEndpointProbe(options, "https://evil.example.com/2010-04-01/Accounts/AC22222222222222222222222222222222/Media/ME1"));
        Assert.Null(MediaEndpointProbe(options, "not a url"));
    }

    private static Uri? MediaEndpointProbe(Configuration.TwilioApiOptions options, string url) =>
        Web.Twilio.MediaEndpoint.TwilioRequest(url, Fixtures.AccountSid, options);
}
