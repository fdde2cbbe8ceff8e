using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using TwilioChannel.Web.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class ReplyAttachmentTests : IAsyncLifetime
{
    private const string Ana = "whatsapp:+5511987654321";
    private const string Bob = "+14155550123";
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];
    private static readonly byte[] Pdf = "%PDF-1.4 fake"u8.ToArray();
    private static readonly byte[] Gif = "GIF89a inline 1"u8.ToArray();
    private static readonly byte[] Gif2 = "GIF89a inline 2"u8.ToArray();
    private const string Inline = "https://desk.zoho.com/api/v1/threads/1/inlineImages";

    private readonly FakeTwilio _twilio = new();
    private readonly WireMockServer _desk = FakeServer.Start();
    private readonly ChannelApp _app;

    public ReplyAttachmentTests()
    {
        _app = new ChannelApp(settings: new()
        {
            ["Twilio:ApiBaseUrl"] = _twilio.Url,
            ["Desk:ApiBaseUrl"] = _desk.Url,
            ["Desk:AccountsBaseUrl"] = _desk.Url,
        });
        _twilio.AcceptMessages();
        _desk.Given(Request.Create().WithPath("/oauth/v2/token").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"zoho-access-1","expires_in":3600,"api_domain":"https://www.zohoapis.com","token_type":"Bearer"}"""));
        File("/api/v1/threads/1/attachments/1/content", "image/png", Png);
        File("/api/v1/threads/1/attachments/2/content", "application/pdf", Pdf);
        File("/api/v1/threads/1/attachments/3/content", "application/x-msdownload", [1, 2, 3]);
        File("/api/v1/threads/1/attachments/4/content", "image/jpeg", new byte[6 * 1024 * 1024]);
        File("/api/v1/threads/1/attachments/5/content", "video/mp4", new byte[6 * 1024 * 1024]);
        File("/api/v1/threads/1/inlineImages/steps.gif", "image/gif", Gif);
        File("/api/v1/threads/1/inlineImages/result.gif", "image/gif", Gif2);
    }

    private void File(string path, string type, byte[] content) =>
        _desk.Given(Request.Create().WithPath(path).UsingGet().WithHeader("Authorization", "Zoho-oauthtoken zoho-access-1"))
            .RespondWith(Response.Create().WithHeader("Content-Type", type).WithBody(content));

    private static JsonArray Attachments(params int[] ids) =>
        new(ids.Select(id => (JsonNode)new JsonObject { ["id"] = id.ToString(), ["name"] = $"file{id}", ["size"] = "10", ["href"] = $"https://desk.zoho.com/api/v1/threads/1/attachments/{id}/content" }).ToArray());

    public async Task InitializeAsync()
    {
        await _app.SeedAsync();
        var admin = _app.Admin();
        var installations = await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/installations");
        var id = installations![0].GetProperty("id").GetInt64();
        var put = await admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { zohoClientId = "1000.CLIENT", zohoClientSecret = "client-secret-xyz", zohoRefreshToken = "1000.refresh-abc" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var text = await put.Content.ReadAsStringAsync();
        Assert.Contains("\"hasZohoOAuth\":true", text);
        Assert.DoesNotContain("client-secret-xyz", text);
        Assert.DoesNotContain("1000.refresh-abc", text);
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
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
    public async Task OnWhatsAppEachAttachmentGoesAsItsOwnMessageAfterTheTextFromASignedUrlOfOurs()
    {
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Here are the photo and the invoice", attachments: Attachments(1, 2)));

        Assert.Equal(200, status);
        var sent = _twilio.Sent;
        Assert.Equal(3, sent.Count);
        Assert.Equal("Here are the photo and the invoice", sent[0]["Body"]);
        Assert.False(sent[0].ContainsKey("MediaUrl"));
        Assert.All(sent.Skip(1), m => Assert.False(m.ContainsKey("Body")));
        var urls = sent.Skip(1).Select(m => m["MediaUrl"]).ToList();
        Assert.All(urls, u => Assert.StartsWith(ChannelApp.PublicBaseUrl + "/media/out/", u));

        // Twilio fetches them from us: the same bytes Desk had.
        var client = _app.CreateClient();
        Assert.Equal(Png, await client.GetByteArrayAsync(new Uri(urls[0]).PathAndQuery));
        Assert.Equal(Pdf, await client.GetByteArrayAsync(new Uri(urls[1]).PathAndQuery));
        Assert.Equal(3, body["extra"]!["value"]!["sids"]!.AsArray().Count);

        // The OAuth token went to the Desk host only, with the org header.
        var download = _desk.LogEntries.First(e => e.RequestMessage.Path.EndsWith("/1/content"));
        Assert.Equal(Fixtures.OrgId, download.RequestMessage.Headers!["orgId"].Single());
    }

    [Fact]
    public async Task OnSmsTheAttachmentRidesOnTheMessageAsMms()
    {
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Your receipt", attachments: Attachments(2)));
        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("Your receipt", sent["Body"]);
        Assert.StartsWith(ChannelApp.PublicBaseUrl + "/media/out/", sent["MediaUrl"]);
    }

    [Theory]
    [InlineData(3, "can't send")]
    [InlineData(4, "5 MB")]
    [InlineData(9, "HTTP 404")]
    public async Task AnAttachmentThatCantBeSentFailsTheWholeReplyBeforeAnythingIsSent(int attachment, string reason)
    {
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Text and a bad file", attachments: Attachments(1, attachment)));
        Assert.Equal(400, status);
        Assert.Contains(reason, (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task OnWhatsAppAnImageOverFiveMegabytesFailsTheReplyBeforeAnythingIsSent()
    {
        // Twilio takes images up to 5 MB on every channel; WhatsApp's 16 MB is for other media.
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "The photo", attachments: Attachments(1, 4)));
        Assert.Equal(400, status);
        Assert.Equal("The image 'file4' is larger than the 5 MB Twilio accepts for an image.", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task OnWhatsAppTextAndTenFilesAreElevenMessagesAndTheReplyIsRefusedBeforeAnyFileIsFetched()
    {
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "All the photos", attachments: Attachments(Enumerable.Repeat(1, 10).ToArray())));

        Assert.Equal(400, status);
        Assert.Equal("This reply would go out as 11 WhatsApp messages, more than the 10 one reply may send, so nothing was sent. Send it as several shorter replies.",
            (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
        Assert.DoesNotContain(_desk.LogEntries, e => e.RequestMessage.Path.Contains("/attachments/"));
    }

    [Fact]
    public async Task OnWhatsAppAVideoOverFiveMegabytesIsSent()
    {
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Ana, "The video", attachments: Attachments(5)));
        Assert.Equal(200, status);
        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AnAttachmentOutsideTheDesksHostIsNeverFetchedWithTheToken()
    {
        var evil = new JsonArray(new JsonObject { ["id"] = "1", ["name"] = "x", ["href"] = "ftp://evil.example.com/steal" });
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "x", attachments: evil));
        Assert.Equal(400, status);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AnOutboundMediaUrlCantBeForged()
    {
        var response = await _app.CreateClient().GetAsync("/media/out/CfDJ8forged");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private static JsonObject Html(string extParentId, string html, JsonArray? attachments = null) =>
        ReplyApp.Push(extParentId, html, contentType: "text/html", attachments: attachments);

    [Fact]
    public async Task OnSmsAnInlineDeskImageRidesOnTheMmsFromASignedUrlOfOurs()
    {
        // It was dropped: the customer got "Tap the button shown:" and no picture.
        var (status, _) = await _app.PushAsync(Html(Bob, $"<div>Tap the button shown:</div><img src=\"{Inline}/steps.gif\" alt=\"steps.gif\">"));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("Tap the button shown:", sent["Body"]);
        Assert.StartsWith(ChannelApp.PublicBaseUrl + "/media/out/", sent["MediaUrl"]);
        Assert.Equal(Gif, await _app.CreateClient().GetByteArrayAsync(new Uri(sent["MediaUrl"]).PathAndQuery));
        var download = _desk.LogEntries.Single(e => e.RequestMessage.Path.EndsWith("/steps.gif"));
        Assert.Equal("Zoho-oauthtoken zoho-access-1", download.RequestMessage.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task OnWhatsAppTheTextAndTwoInlineImagesAreThreeMessagesInTheTextsOrder()
    {
        var (status, _) = await _app.PushAsync(Html(Ana,
            $"<p>First this:</p><img src=\"{Inline}/steps.gif\"><p>and you get:</p><img src=\"{Inline}/result.gif\" alt=\"The order confirmed\">"));

        Assert.Equal(200, status);
        var sent = _twilio.Sent;
        Assert.Equal(3, sent.Count);
        Assert.Equal("First this:\nand you get:\nThe order confirmed", sent[0]["Body"]);
        var client = _app.CreateClient();
        Assert.Equal(Gif, await client.GetByteArrayAsync(new Uri(sent[1]["MediaUrl"]).PathAndQuery));
        Assert.Equal(Gif2, await client.GetByteArrayAsync(new Uri(sent[2]["MediaUrl"]).PathAndQuery));
    }

    [Fact]
    public async Task AnInlineImageOnTheConfiguredDeskApiHostIsTheOrgsFileToo()
    {
        // Desk:ApiBaseUrl replaces the org's host for every call (another data centre, a proxy); an image the reply
        // shows from there was written out as a link the customer can't open.
        var (status, _) = await _app.PushAsync(Html(Bob, $"<p>See</p><img src=\"{_desk.Url}/api/v1/threads/1/inlineImages/steps.gif\">"));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("See", sent["Body"]);
        Assert.Equal(Gif, await _app.CreateClient().GetByteArrayAsync(new Uri(sent["MediaUrl"]).PathAndQuery));
    }

    [Fact]
    public async Task InlineImagesGoBeforeTheAttachments()
    {
        var (status, _) = await _app.PushAsync(Html(Ana, $"<p>See</p><img src=\"{Inline}/steps.gif\">", Attachments(2)));

        Assert.Equal(200, status);
        var sent = _twilio.Sent;
        Assert.Equal(3, sent.Count);
        var client = _app.CreateClient();
        Assert.Equal(Gif, await client.GetByteArrayAsync(new Uri(sent[1]["MediaUrl"]).PathAndQuery));
        Assert.Equal(Pdf, await client.GetByteArrayAsync(new Uri(sent[2]["MediaUrl"]).PathAndQuery));
    }

    [Fact]
    public async Task AnInlineImageThatCantBeFetchedFailsTheWholeReplyNamingIt()
    {
        var (status, body) = await _app.PushAsync(Html(Bob, $"<p>Here</p><img src=\"{Inline}/missing.png\">", Attachments(1)));

        Assert.Equal(400, status);
        Assert.Equal("The inline image 'missing.png' could not be fetched from Desk (HTTP 404).", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task OnSmsInlineImagesAndAttachmentsCountTogetherTowardsTheTenFiles()
    {
        var images = string.Concat(Enumerable.Range(0, 6).Select(_ => $"<img src=\"{Inline}/steps.gif\">"));
        var (status, body) = await _app.PushAsync(Html(Bob, "<p>Many</p>" + images, Attachments(1, 2, 1, 2, 1)));

        Assert.Equal(400, status);
        Assert.Equal("An SMS/MMS carries at most 10 files, attachments and inline images together.", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
        Assert.Empty(_desk.LogEntries);
    }

    [Fact]
    public async Task OnSmsMoreThanTenAttachmentsAreRefusedBeforeAnyCallToZohoOrTwilio()
    {
        // The count was checked only after Zoho's token call: a reply that could never go out spent a token refresh,
        // and with Zoho unreachable or the credentials revoked the agent was told about OAuth instead of the count.
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "All the photos", attachments: Attachments(Enumerable.Repeat(1, 11).ToArray())));

        Assert.Equal(400, status);
        Assert.Equal("An SMS/MMS carries at most 10 attachments.", (string?)body["message"]);
        Assert.Empty(_desk.LogEntries);
        Assert.Empty(_twilio.Server.LogEntries);
    }

    [Fact]
    public async Task WhenZohoCantIssueATokenTheReplyFailsSayingSoAndIsSentWhenPushedAgain()
    {
        // Zoho's sign-in service answering an error page (or not at all) failed the reply as "an internal error", and
        // for good: every later push of it answered the same, although nothing had been sent.
        await AssertNotSentUntilOverAsync(Request.Create().WithPath("/oauth/v2/token").UsingPost(),
            Response.Create().WithStatusCode(503).WithHeader("Content-Type", "text/html").WithBody("<html>Service unavailable</html>"),
            "Zoho's sign-in service could not give a token to fetch the attachments from Desk (HTTP 503); nothing was sent. Try again.");
    }

    [Fact]
    public async Task WhenDeskIsTooSlowToServeAFileTheReplyFailsSayingSoAndIsSentWhenPushedAgain()
    {
        // Longer than the half of the 10 s push budget the files may take.
        await AssertNotSentUntilOverAsync(Request.Create().WithPath("/api/v1/threads/1/attachments/2/content").UsingGet(),
            Response.Create().WithHeader("Content-Type", "application/pdf").WithBody(Pdf).WithDelay(TimeSpan.FromSeconds(6)),
            "The attachment 'file2' could not be fetched from Desk (Desk did not send it in time); nothing was sent. Try again.");
    }

    [Fact]
    public async Task ADeskServerErrorOnAFileIsNotFinal()
    {
        await AssertNotSentUntilOverAsync(Request.Create().WithPath("/api/v1/threads/1/attachments/2/content").UsingGet(),
            Response.Create().WithStatusCode(503),
            "The attachment 'file2' could not be fetched from Desk (HTTP 503); nothing was sent. Try again.");
    }

    /// <summary>While Zoho or Desk answers <paramref name="request"/> with <paramref name="outage"/>, a reply with two
    /// files fails with <paramref name="reason"/> (502) and sends nothing; once it is over, the same push is sent.</summary>
    private async Task AssertNotSentUntilOverAsync(WireMock.RequestBuilders.IRequestBuilder request, WireMock.ResponseBuilders.IResponseBuilder outage, string reason)
    {
        var mapping = Guid.NewGuid();
        _desk.Given(request).WithGuid(mapping).AtPriority(-1).RespondWith(outage);
        var push = ReplyApp.Push(Bob, "Your receipt", attachments: Attachments(2));

        var (status, body) = await _app.PushAsync(push);

        Assert.Equal(502, status);
        Assert.Equal(reason, (string?)body["message"]);
        Assert.Empty(_twilio.Sent);

        _desk.DeleteMapping(mapping);
        var (again, _) = await _app.PushAsync(push);
        Assert.Equal(200, again);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task AnAccessTokenDeskNoLongerHonoursIsRenewedOnce()
    {
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "First", attachments: Attachments(2)))).Status);

        // The admin replaced the Zoho client (or revoked it): the cached token is refused, the refresh gives a new one.
        _desk.Given(Request.Create().WithPath("/oauth/v2/token").UsingPost()).AtPriority(-1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"zoho-access-2","expires_in":3600}"""));
        _desk.Given(Request.Create().WithPath("/api/v1/threads/1/attachments/2/content").UsingGet().WithHeader("Authorization", "Zoho-oauthtoken zoho-access-1")).AtPriority(-1)
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json").WithBody("""{"errorCode":"INVALID_OAUTH"}"""));
        _desk.Given(Request.Create().WithPath("/api/v1/threads/1/attachments/2/content").UsingGet().WithHeader("Authorization", "Zoho-oauthtoken zoho-access-2")).AtPriority(-1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/pdf").WithBody(Pdf));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Second", attachments: Attachments(2)));

        Assert.True(status == 200, body.ToJsonString());
        Assert.Equal(2, _twilio.Sent.Count);
        Assert.Equal(Pdf, await _app.CreateClient().GetByteArrayAsync(new Uri(_twilio.Sent[1]["MediaUrl"]).PathAndQuery));
    }

    [Fact]
    public async Task AFileDeskRefusesEvenWithAFreshTokenFailsTheReply()
    {
        _desk.Given(Request.Create().WithPath("/api/v1/threads/1/attachments/2/content").UsingGet()).AtPriority(-1)
            .RespondWith(Response.Create().WithStatusCode(401));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Receipt", attachments: Attachments(2)));

        Assert.Equal(400, status);
        Assert.Equal("The attachment 'file2' could not be fetched from Desk (HTTP 401).", (string?)body["message"]);
        Assert.Equal(2, _desk.LogEntries.Count(e => e.RequestMessage.Path == "/oauth/v2/token"));
        Assert.Empty(_twilio.Sent);
    }
}
