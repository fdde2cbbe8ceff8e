using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using TwilioChannel.Web.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>An admin replacing an installation's Zoho OAuth client (a revoked refresh token, another Zoho account):
/// the next reply with a file uses the new client, not an access token cached from the old one.</summary>
public sealed class ZohoOAuthChangeTests : IAsyncLifetime
{
    private const string Bob = "+14155550123";
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    private readonly FakeTwilio _twilio = new();
    private readonly WireMockServer _desk = FakeServer.Start();
    private readonly ChannelApp _app;

    public ZohoOAuthChangeTests()
    {
        _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:ApiBaseUrl"] = _desk.Url, ["Desk:AccountsBaseUrl"] = _desk.Url });
        _twilio.AcceptMessages();
        Token("refresh-old", "zoho-access-old");
        Token("refresh-new", "zoho-access-new");
        // The old client's token no longer opens the org's files (revoked, or another Zoho account's).
        _desk.Given(Request.Create().WithPath("/api/v1/threads/1/attachments/1/content").UsingGet().WithHeader("Authorization", "Zoho-oauthtoken zoho-access-new"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "image/png").WithBody(Png));
        _desk.Given(Request.Create().WithPath("/api/v1/threads/1/attachments/1/content").UsingGet().WithHeader("Authorization", "Zoho-oauthtoken zoho-access-old"))
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("""{"errorCode":"INVALID_OAUTH"}"""));
    }

    private void Token(string refreshToken, string accessToken) =>
        _desk.Given(Request.Create().WithPath("/oauth/v2/token").UsingPost().WithBody(body => body is not null && body.Contains(refreshToken, StringComparison.Ordinal)))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody($$"""{"access_token":"{{accessToken}}","expires_in":3600}"""));

    public async Task InitializeAsync()
    {
        await _app.SeedAsync();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        _desk.Stop();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ARepliesFileIsFetchedWithTheNewClientRightAfterTheAdminReplacesIt()
    {
        await SetClientAsync("1000.refresh-old");
        var (before, _) = await _app.PushAsync(ReplyApp.Push(Bob, "The photo", id: "7001", attachments: Photo()));
        Assert.NotEqual(200, before);

        await SetClientAsync("1000.refresh-new");
        var (after, body) = await _app.PushAsync(ReplyApp.Push(Bob, "The photo again", id: "7002", attachments: Photo()));

        Assert.True(after == 200, body.ToJsonString());
        Assert.Single(_twilio.Sent);
    }

    private async Task SetClientAsync(string refreshToken)
    {
        using var admin = _app.Admin();
        var id = (await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/installations"))![0].GetProperty("id").GetInt64();
        using var put = await admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { zohoClientId = "1000.CLIENT", zohoClientSecret = "client-secret", zohoRefreshToken = refreshToken });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    private static JsonArray Photo() =>
        [new JsonObject { ["id"] = "1", ["name"] = "photo.png", ["size"] = "11", ["href"] = "https://desk.zoho.com/api/v1/threads/1/attachments/1/content" }];
}
