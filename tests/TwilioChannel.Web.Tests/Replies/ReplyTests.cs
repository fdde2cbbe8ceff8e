using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class ReplyTests : IAsyncLifetime
{
    private const string Ana = "whatsapp:+5511987654321";
    private const string Bob = "+14155550123";
    private const string OptOutService = "MG22222222222222222222222222222222"; // sms-opt-out-stop.form's
    private readonly FakeTwilio _twilio = new();
    private readonly ChannelApp _app;

    public ReplyTests() => _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:PushTimeoutSeconds"] = "10" });

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AnHtmlWhatsAppReplyGoesOutWithWhatsAppMarkupAndAnswersTheSid()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));

        var (status, body) = await _app.PushAsync(System.Text.Json.Nodes.JsonNode.Parse(Fixtures.Text("desk-push-reply.json"))!.AsObject());

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal(Ana, sent["To"]);
        Assert.Equal(Fixtures.WhatsAppNumber, sent["From"]);
        Assert.Equal("Hi Ana! We've changed your order to *size 39*.", sent["Body"]);
        Assert.Equal(ChannelApp.PublicBaseUrl + "/twilio/status", sent["StatusCallback"]);
        Assert.StartsWith("SM", (string?)body["extId"]);
        Assert.True((bool)body["canReply"]!);
        Assert.Equal(Fixtures.WhatsAppNumber, (string?)body["from"]);
        Assert.Equal(Ana, (string?)body["to"]);
        Assert.Equal("twilio_reply_{{thread.id}}", (string?)body["extra"]!["key"]);
        Assert.Equal(Ana, (string?)body["extra"]!["queriableValue"]);
    }

    [Theory]
    [InlineData(Ana, "whatsapp-text.form", "Try:\n```pre\n  block```")]
    [InlineData(Bob, "sms-inbound.form", "Try:\npre\n  block")]
    public async Task AnHtmlReplyWithPreKeepsItsLineBreaksAndIndentation(string customer, string fixture, string expected)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form(fixture));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(customer, "<div>Try:</div><pre>pre\n  block</pre>", contentType: "text/html"));

        Assert.Equal(200, status);
        Assert.Equal(expected, Assert.Single(_twilio.Sent)["Body"]);
    }

    [Fact]
    public async Task AReplyAtTheDefaultLogLevelsWritesNoLinePerTwilioCall()
    {
        // IHttpClientFactory logs four Information lines per call; at the shipped levels every reply wrote them
        // (measured: 17 % fewer replies per second, docs/benchmarks.md, session 8). Failures are still logged by us.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Your order ships today."));

        Assert.Equal(200, status);
        Assert.Single(_twilio.Sent);
        var lines = _app.Logs.Lines.ToList();
        Assert.Contains(lines, line => line.StartsWith("Information ", StringComparison.Ordinal)); // the shipped levels: Information
        Assert.DoesNotContain(lines, line => line.Contains(" System.Net.Http.HttpClient.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APlainSmsReplyPassesUnchanged()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        const string text = "Your order #58213 ships today. Tracking: https://example.com/t/1?a=b&c=d <3";

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, text));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal(text, sent["Body"]);
        Assert.Equal(Fixtures.SmsNumber, sent["From"]);
        Assert.Equal(Bob, sent["To"]);
    }

    [Fact]
    public async Task AReplyToACustomerNeverSeenGoesFromTheOrgsDefaultNumberOfThatChannel()
    {
        _twilio.AcceptMessages();
        var (status, _) = await _app.PushAsync(ReplyApp.Push("+14155550999", "Hello, following up on your call."));
        Assert.Equal(200, status);
        Assert.Equal(Fixtures.SmsNumber, Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task ALongReplyGoesOutAsSeveralMessagesInOrderWithTheFirstSidAsExtId()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var text = string.Join(" ", Enumerable.Range(1, 120).Select(i => $"Sentence {i} explains a step."));
        Assert.True(text.Length > 3200);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, text));

        Assert.Equal(200, status);
        var parts = _twilio.Sent.Select(f => f["Body"]).ToList();
        Assert.Equal(3, parts.Count);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 1600));
        Assert.All(parts, p => Assert.EndsWith(".", p));
        Assert.Equal(text, string.Join(" ", parts));
        var sids = body["extra"]!["value"]!["sids"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.Equal(3, sids.Count);
        Assert.Equal(sids[0], (string?)body["extId"]);
    }

    [Fact]
    public async Task ARepeatedPushOfOneReplyAnswersTheStoredResultAndSendsNothing()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Only once, please.");

        var first = await _app.PushAsync(push);
        var second = await _app.PushAsync(push);

        Assert.Equal(200, first.Status);
        Assert.Equal(200, second.Status);
        Assert.Equal((string?)first.Body["extId"], (string?)second.Body["extId"]);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task ConcurrentPushesOfOneReplySendItOnceAndAllAnswerTheSameSid()
    {
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
                .WithBody(FakeTwilio.Message("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Bob, Fixtures.SmsNumber, "x", "queued").ToJsonString())
                .WithDelay(TimeSpan.FromMilliseconds(700)));
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Sent once even when Desk pushes twice at the same time.");

        var client = _app.CreateClient();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _app.PushAsync(push, client: client)));

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers, a => Assert.Equal("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", (string?)a.Body["extId"]));
        Assert.Single(_twilio.Sent);
    }

    [Theory]
    [InlineData(21610, "opted out")]
    [InlineData(21211, "invalid phone number")]
    [InlineData(21614, "not a mobile number")]
    [InlineData(63016, "24-hour window closed")]
    [InlineData(63003, "not on WhatsApp")]
    [InlineData(21408, "not enabled")]
    public async Task EachTwilioErrorCodeFailsTheReplyWithWordsTheAgentCanActOn(int code, string words)
    {
        _twilio.RefuseMessages(400, code, "Twilio's own message");
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Hello"));

        Assert.Equal(400, status);
        Assert.Contains(words, (string?)body["message"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains(code.ToString(), (string?)body["message"]);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task ARateLimitIsRetriedWithBackoffAndThenSucceeds()
    {
        _twilio.RefuseMessages(429, 20429, "Too Many Requests", "rate", null, "second");
        _twilio.AcceptMessages("rate", "second", null);
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "After a rate limit"));

        Assert.Equal(200, status);
        Assert.StartsWith("SM", (string?)body["extId"]);
        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AServerErrorIsNotResentWhenTheMessageTurnsOutToExist()
    {
        _twilio.RefuseMessages(500, 20500, "Internal Server Error");
        _twilio.ListMessages(FakeTwilio.Message("SMfound0000000000000000000000000001", Bob, Fixtures.SmsNumber, "Did it go out?"));
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Did it go out?"));

        Assert.Equal(200, status);
        Assert.Equal("SMfound0000000000000000000000000001", (string?)body["extId"]);
        Assert.Single(_twilio.Sent);
    }

    /// <summary>A claim as a process killed mid-send leaves it: "sending", long past the push budget.</summary>
    private async Task AbandonedClaimAsync(string deskThreadId, string extParentId)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Web.Data.ChannelDbContext>();
        db.Replies.Add(new Web.Data.Reply
        {
            OrgId = Fixtures.OrgId, DeskThreadId = deskThreadId, ExtParentId = extParentId,
            State = Web.Data.ReplyState.Sending, CreatedAt = DateTime.UtcNow.AddMinutes(-5),
        });
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task AReplyLeftSendingByAStoppedProcessIsAnsweredWithTheMessageFoundAtTwilioAndNotSentAgain()
    {
        // Before, every retry of such a reply got 503 "still being sent" for good (found by a black-box review: kill -9
        // during a burst of pushes).
        _twilio.AcceptMessages();
        _twilio.ListMessages(FakeTwilio.Message("SMfound0000000000000000000000000002", Bob, Fixtures.SmsNumber, "Sent just before the crash"));
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        await AbandonedClaimAsync("77000001", Bob);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Sent just before the crash", id: "77000001"));

        Assert.Equal(200, status);
        Assert.Equal("SMfound0000000000000000000000000002", (string?)body["extId"]);
        Assert.Empty(_twilio.Sent);
        Assert.Contains(_app.Logs.Lines, l => l.Contains("Desk reply 77000001 was left sending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReplyLeftSendingByAStoppedProcessIsSentOnceWhenTwilioDoesNotHaveIt()
    {
        _twilio.AcceptMessages();
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        await AbandonedClaimAsync("77000002", Bob);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Never left before the crash", id: "77000002"));
        var (again, repeated) = await _app.PushAsync(ReplyApp.Push(Bob, "Never left before the crash", id: "77000002"));

        Assert.Equal(200, status);
        Assert.Equal("Never left before the crash", Assert.Single(_twilio.Sent)["Body"]);
        Assert.Equal(200, again);
        Assert.Equal((string?)body["extId"], (string?)repeated["extId"]);
    }

    [Fact]
    public async Task AServerErrorWithTheMessageNotFoundIsResentOnce()
    {
        _twilio.RefuseMessages(503, 20503, "Service Unavailable", "flaky", null, "recovered");
        _twilio.AcceptMessages("flaky", "recovered", null);
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Second time lucky"));

        Assert.Equal(200, status);
        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AServerErrorTwiceWithTheMessageNeverFoundFailsWithAnUnknownOutcome()
    {
        _twilio.RefuseMessages(500, 20500, "Internal Server Error");
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Lost in the void"));

        Assert.Equal(502, status);
        Assert.Contains("may or may not", (string?)body["message"]);
        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AnOptedOutSmsCustomerFailsAtOnceAndStartOptsThemBackIn()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Sms("STOP", from: Bob));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Are you there?"));
        Assert.Equal(400, status);
        Assert.Contains("opted out", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);

        await _app.CustomerWritesAsync(Fixtures.Sms("start", from: Bob));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "Welcome back"))).Status);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task AnOptOutAppliesOnlyToTheSenderItWasSentTo()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550101", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.Sms("STOP", from: Bob, to: Fixtures.SmsNumber));
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi again, on the other number", from: Bob, to: "+14155550101"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Replying from the second number"));

        Assert.Equal(200, status);
        Assert.Equal("+14155550101", Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task TheOptOutFixtureWithOptOutTypeMarksTheCustomerForItsMessagingService()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550111", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, messagingServiceSid = "MG22222222222222222222222222222222" })).EnsureSuccessStatusCode();
        var form = Fixtures.Form("sms-opt-out-stop.form");
        form["To"] = "+14155550111";
        await _app.CustomerWritesAsync(form);

        var (status, body) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Hello?"));

        Assert.Equal(400, status);
        Assert.Contains("21610", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AStopThroughAMessagingServiceBlocksRepliesFromTheNumberItArrivedOn()
    {
        // The reviewer's case: the number is configured without a Messaging Service, but Twilio delivered the STOP
        // through one (the fixture's MG2222…). Twilio blocks the number too, so the reply must not reach it.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Hello?"));

        Assert.Equal(400, status);
        Assert.Contains("opted out", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStartOnTheNumberWithOrWithoutItsMessagingServiceClearsAStopThatCameThroughTheService(bool throughService)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));
        var start = Fixtures.Sms("START", from: "+12125550188");
        if (throughService) start["MessagingServiceSid"] = OptOutService;
        await _app.CustomerWritesAsync(start);

        var (status, _) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Welcome back"));

        Assert.Equal(200, status);
        Assert.Equal(Fixtures.SmsNumber, Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task AStopThroughAServiceOnAnotherNumberDoesNotBlockANumberOutsideThatService()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550101", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi again, on the other number", from: "+12125550188", to: "+14155550101"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Replying from the second number"));

        Assert.Equal(200, status);
        Assert.Equal("+14155550101", Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task AReplyWithAttachmentsButNoZohoOAuthFailsWithAClearReasonAndSendsNothing()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var attachments = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["id"] = "1", ["name"] = "invoice.pdf", ["size"] = "1024", ["href"] = "https://desk.zoho.com/api/v1/threads/1/attachments/1/content" });

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "See the invoice", attachments: attachments));

        Assert.Equal(400, status);
        Assert.Contains("OAuth", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AMalformedPushIsABadRequestAndSendsNothing()
    {
        var client = _app.CreateClient();
        var url = $"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";
        foreach (var body in new[] { "not json", "{}", "{\"resource\":{\"content\":\"no id\"}}", "{\"resource\":{\"id\":\"1\",\"extParentId\":\"+1\",\"content\":\"\"}}" })
        {
            var response = await client.PostAsync(url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("\"message\"", await response.Content.ReadAsStringAsync());
        }
        Assert.Empty(_twilio.Sent);
    }

    [Theory]
    [InlineData("content", "\"a\\ud800b\"")]        // the reviewer's case: a lone high surrogate
    [InlineData("content", "\"a\\udc00\\ud800b\"")] // a pair in the wrong order
    [InlineData("x\\udfff", "1")]                      // in a property name nobody reads
    public async Task APushWithALoneSurrogateEscapeIsABadRequestAndSendsNothing(string property, string value)
    {
        _twilio.AcceptMessages();
        var json = $$$"""{"resource":{"id":"ls","extParentId":"{{{Bob}}}","{{{property}}}":{{{value}}},"content":"x","contentType":"text/plain"}}""";
        if (property == "content") json = json.Replace(",\"content\":\"x\"", "");

        var (status, body) = await PostRawPushAsync(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal(400, status);
        Assert.Contains("message", body);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithBytesThatAreNotUtf8IsABadRequestAndSendsNothing()
    {
        _twilio.AcceptMessages();
        var json = System.Text.Encoding.UTF8.GetBytes($$$"""{"resource":{"id":"bad-utf8","extParentId":"{{{Bob}}}","content":"a#b","contentType":"text/plain"}}""");
        json[Array.IndexOf(json, (byte)'#')] = 0xFF;

        var (status, body) = await PostRawPushAsync(json);

        Assert.Equal(400, status);
        Assert.Contains("message", body);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithAnEscapedSurrogatePairAndABomIsSentAsText()
    {
        _twilio.AcceptMessages();
        var json = System.Text.Encoding.UTF8.GetBytes($$$"""{"resource":{"id":"pair","extParentId":"{{{Bob}}}","content":"ok \ud83d\ude00","contentType":"text/plain"}}""");

        var (status, _) = await PostRawPushAsync([0xEF, 0xBB, 0xBF, .. json]);

        Assert.Equal(200, status);
        Assert.Equal("ok \U0001F600", Assert.Single(_twilio.Sent)["Body"]);
    }

    private async Task<(int Status, string Body)> PostRawPushAsync(byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new("application/json");
        var response = await _app.CreateClient().PostAsync($"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("not a phone")]
    [InlineData(" +14155550123")]
    [InlineData("+1 415 555 0123")]
    [InlineData("+14155550123#1")]
    public async Task APushWhoseParentIsNotOneOfOurTicketsIsABadRequestAndSendsNothing(string extParentId)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(extParentId, "Hello"));

        Assert.Equal(400, status);
        Assert.Contains("extParentId", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithAWrongSecurityContextIsForbiddenAndSendsNothing()
    {
        _twilio.AcceptMessages();
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Hello"), securityContext: "forged");
        Assert.Equal(403, status);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AFailedAttemptIsKeptAndListedWithItsReason()
    {
        _twilio.RefuseMessages(400, 21211, "Invalid 'To' Phone Number");
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        await _app.PushAsync(ReplyApp.Push(Bob, "Hello", id: "777"));

        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
        var reply = db.Replies.Single(r => r.DeskThreadId == "777");
        Assert.Equal(Data.ReplyState.Failed, reply.State);
        Assert.Equal(21211, reply.ErrorCode);
        Assert.Contains("invalid phone number", reply.FailureReason, StringComparison.OrdinalIgnoreCase);
    }
}
