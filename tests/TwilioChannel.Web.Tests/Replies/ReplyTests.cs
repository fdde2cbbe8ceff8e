using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class ReplyTests : ReplyTestsBase
{
    [Fact]
    public async Task AReplyOnATicketGenerationWeHaveNoRecordOfGoesFromTheNumberTheCustomerLastWroteTo()
    {
        // Desk may hold a ticket "…#3" we have no row for (a database restored from a backup): the customer is still
        // the one we know. Their last number and window were ignored, and the reply went from the org's default number.
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550101", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi, on the other number", from: Bob, to: "+14155550101"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob + "#3", "We're on it."));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("+14155550101", sent["From"]);
        Assert.Equal(Bob, sent["To"]);
        Assert.Equal("+14155550101", (string?)body["from"]);
    }

    [Fact]
    public async Task AnHtmlWhatsAppReplyGoesOutWithWhatsAppMarkupAndAnswersTheSid()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));

        var push = System.Text.Json.Nodes.JsonNode.Parse(Fixtures.Text("desk-push-reply.json"))!.AsObject();
        var (status, body) = await _app.PushAsync(push);

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal(Ana, sent["To"]);
        Assert.Equal(Fixtures.WhatsAppNumber, sent["From"]);
        Assert.Equal("Hi Ana! We've changed your order to *size 39*.", sent["Body"]);
        // The callback URL names the reply, so its statuses find the reply without a lookup by SID.
        var replyId = await _app.ClaimedReplyIdAsync((string)push["resource"]!["id"]!);
        Assert.Equal($"{ChannelApp.PublicBaseUrl}/twilio/status?reply={replyId}", sent["StatusCallback"]);
        Assert.StartsWith("SM", (string?)body["extId"]);
        Assert.True((bool)body["canReply"]!);
        Assert.Equal(Fixtures.WhatsAppNumber, (string?)body["from"]);
        Assert.Equal(Ana, (string?)body["to"]);
        Assert.Equal("twilio_reply_{{thread.id}}", (string?)body["extra"]!["key"]);
        Assert.Equal(Ana, (string?)body["extra"]!["queriableValue"]);
    }

    [Fact]
    public async Task AReplyAfterTheAccountsAuthTokenWasRotatedIsSentWithTheNewToken()
    {
        // The SDK client is kept per account between pushes (Twilio/TwilioApiClients): a rotated token must reach the
        // very next send, as Twilio refuses the old one the moment the secondary token is promoted.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "Before the rotation"))).Status);
        var admin = _app.Admin();
        var id = (await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/admin/twilio-accounts")).EnumerateArray().Single().GetProperty("id").GetInt64();
        const string rotated = "rotated-auth-token-0123456789";
        (await admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { authToken = rotated })).EnsureSuccessStatusCode();

        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "After the rotation"))).Status);

        var creates = _twilio.Server.LogEntries.Where(e => e.RequestMessage.Path == FakeTwilio.MessagesPath && e.RequestMessage.Method == "POST").ToList();
        Assert.Equal(2, creates.Count);
        string Basic(string token) => "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Fixtures.AccountSid}:{token}"));
        Assert.Equal(Basic(Fixtures.AuthToken), creates[0].RequestMessage.Headers!["Authorization"].Single());
        Assert.Equal(Basic(rotated), creates[1].RequestMessage.Headers!["Authorization"].Single());
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
    public async Task AReplyThroughAMessagingServiceAnswersDeskWithTheNumberAsItsSenderNotTheServiceSid()
    {
        // Desk shows "from" as the thread's sender (and our status updates put it in the actor's phone): the MG SID
        // meant nothing there. The send itself still goes through the service (Twilio's sticky sender).
        _twilio.AcceptMessages();
        const string pooled = "+14155550107", service = "MG77777777777777777777777777777777";
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = pooled, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, messagingServiceSid = service })).EnsureSuccessStatusCode();
        var hello = Fixtures.Sms("Hi, through the pool", from: "+12125550177", to: pooled);
        hello["MessagingServiceSid"] = service;
        await _app.CustomerWritesAsync(hello);

        var (status, body) = await _app.PushAsync(ReplyApp.Push("+12125550177", "Hello from the team"));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal(service, sent["MessagingServiceSid"]);
        Assert.False(sent.ContainsKey("From"));
        Assert.Equal(pooled, (string?)body["from"]);
    }

    [Theory]
    [InlineData("div", 10_001)]
    [InlineData("blockquote", 12_000)]
    public async Task AReplyWithMoreHtmlElementsThanAnyMessageNeedsIsRefusedBeforeParsing(string tag, int depth)
    {
        // Nested this deep, parsing alone held a core for seconds (50,000 <div>: ≈4.5 s) on every push of it.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var html = string.Concat(Enumerable.Repeat($"<{tag}>", depth)) + "Hi" + string.Concat(Enumerable.Repeat($"</{tag}>", depth));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, html, contentType: "text/html"));

        Assert.Equal(400, status);
        Assert.Equal("This reply's formatting has more than 10,000 HTML elements, more than a message can carry, so nothing was sent. Send it with less formatting (or as plain text).", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AReplyWithTenThousandElementsStillGoesOut()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        // 10,000 start tags: 5,000 <b>, each with a <br>, and a < that starts no tag.
        var html = "1 < 2 " + string.Concat(Enumerable.Repeat("<b>x</b><br>", 5_000));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, html, contentType: "text/html"));

        Assert.Equal(200, status);
        Assert.StartsWith("1 < 2 x\nx\n", string.Concat(_twilio.Sent.Select(m => m["Body"])));
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
        // The resilience pipeline's telemetry logs every attempt, also a successful one, at Information.
        Assert.DoesNotContain(lines, line => line.Contains(" Polly", StringComparison.Ordinal));
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

    /// <summary>Ana (WhatsApp) wrote; an agent's HTML reply goes out as two messages within Twilio's limit: their bodies.</summary>
    private async Task<List<string>> TwoWhatsAppPartsAsync(string html)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Ana, html, contentType: "text/html"));
        Assert.Equal(200, status);
        var parts = _twilio.Sent.Select(f => f["Body"]).ToList();
        Assert.Equal(2, parts.Count);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 1600));
        return parts;
    }

    [Fact]
    public async Task OnWhatsAppALongPreCutBetweenMessagesIsAMonospaceBlockInEach()
    {
        // WhatsApp pairs ``` fences within one message: the first part opened a block it never closed and the second
        // closed one it never opened, so both showed the fences as text and lost the monospace.
        var log = string.Join("\n", Enumerable.Range(1, 80).Select(i => $"2026-11-26 10:{i:00} job {i} finished"));

        var parts = await TwoWhatsAppPartsAsync($"<p>The log:</p><pre>{log}</pre><p>Thanks</p>");

        Assert.StartsWith("The log:\n```2026-11-26 10:01", parts[0]);
        Assert.EndsWith("finished```", parts[0]);
        Assert.StartsWith("```2026-11-26", parts[1]);
        Assert.EndsWith("10:80 job 80 finished```\nThanks", parts[1]);
        Assert.Equal(log, string.Join("\n", parts.Select(p => p.Replace("The log:\n", "").Replace("\nThanks", "").Trim('`'))));
    }

    [Fact]
    public async Task OnWhatsAppALongBoldParagraphCutBetweenMessagesIsBoldInEach()
    {
        // The cut fell inside "*…*": the first part's run was never closed and the second's never opened, so the
        // customer saw two stray asterisks and no bold (acceptance-style run).
        var terms = string.Join(" ", Enumerable.Repeat("the warranty covers parts and labour for two years", 40));

        var parts = await TwoWhatsAppPartsAsync($"<p>Hello,</p><p><b>{terms}</b></p>");

        Assert.StartsWith("Hello,\n*the warranty", parts[0]);
        Assert.Matches(@"\w\*$", parts[0]);
        Assert.Matches(@"^\*\w", parts[1]);
        Assert.EndsWith("two years*", parts[1]);
        Assert.Equal(terms, string.Join(" ", parts).Replace("Hello,\n", "").Replace("* *", " ").Trim('*'));
    }

    [Fact]
    public async Task AReplyThatWouldGoOutAsMoreThanTenMessagesIsRefusedWholeAndNothingIsSent()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var text = string.Join(" ", Enumerable.Range(1, 560).Select(i => $"Sentence {i} explains a step."));
        Assert.True(text.Length > 16_000);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, text));

        Assert.Equal(400, status);
        Assert.Equal("This reply would go out as 11 SMS messages, more than the 10 one reply may send, so nothing was sent. Send it as several shorter replies.",
            (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AReplyOfTenMessagesGoesOutWhole()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var text = string.Join(" ", Enumerable.Range(1, 500).Select(i => $"Sentence {i} explains a step."));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, text));

        Assert.Equal(200, status);
        Assert.Equal(10, _twilio.Sent.Count);
        Assert.Equal(text, string.Join(" ", _twilio.Sent.Select(f => f["Body"])));
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
    public async Task AnSmsReplyWithMoreThanTenAttachmentsAndNoZohoOAuthIsRefusedForItsCount()
    {
        // Told to ask an admin for Zoho OAuth, the agent would have had it configured only to be refused for the count.
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var attachments = new System.Text.Json.Nodes.JsonArray(Enumerable.Range(1, 11).Select(i => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            { ["id"] = i.ToString(), ["name"] = $"photo{i}.jpg", ["href"] = $"https://desk.zoho.com/api/v1/threads/1/attachments/{i}/content" }).ToArray());

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "All the photos", attachments: attachments));

        Assert.Equal(400, status);
        Assert.Equal("An SMS/MMS carries at most 10 attachments.", (string?)body["message"]);
        Assert.Empty(_twilio.Server.LogEntries);
    }

    [Theory]
    [InlineData("private")]
    [InlineData("Private")]
    public async Task APrivateReplyIsRefusedAndNeverReachesTheCustomer(string visibility)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Internal: customer is a reseller, check discount");
        push["resource"]!["visibility"] = visibility;

        var (status, body) = await _app.PushAsync(push);

        Assert.Equal(400, status);
        Assert.Contains("private", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
        // The fixture's own "public" goes out as before.
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "Hello Bob"))).Status);
        Assert.Single(_twilio.Sent);
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
