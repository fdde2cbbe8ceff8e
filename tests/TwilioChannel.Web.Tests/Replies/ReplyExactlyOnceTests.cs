using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>Exactly once per Desk reply id: repeated and concurrent pushes, Twilio errors with unknown outcomes, and a send a stopped process left unfinished.</summary>
public sealed class ReplyExactlyOnceTests : ReplyTestsBase
{
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
    public async Task ARateLimitOutlastingTheClientsRetriesIsTriedAgainWhileThePushBudgetLasts()
    {
        // Six 429s: the client's own retries (four tries in ≈1–2 s) gave up, and the agent got "Try again" with most of
        // the 10 s budget unused (acceptance-style run).
        for (var i = 0; i < 6; i++) _twilio.RefuseMessages(429, 20429, "Too Many Requests", "limited", i == 0 ? null : $"{i}", $"{i + 1}");
        _twilio.AcceptMessages("limited", "6", null);
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "After a long rate limit"));

        Assert.Equal(200, status);
        Assert.StartsWith("SM", (string?)body["extId"]);
        Assert.Equal(7, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AReplyTwilioCertainlyDidNotGetIsSentWhenDeskPushesItAgain()
    {
        // "Nothing was sent. Try again." used to be the stored answer to every later push of that reply: it never went out.
        _twilio.RefuseMessages(429, 20429, "Too Many Requests");
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Sent once Twilio takes it");

        var first = await _app.PushAsync(push);
        _twilio.Server.ResetMappings();
        _twilio.AcceptMessages();
        var second = await _app.PushAsync(push);
        var third = await _app.PushAsync(push);

        Assert.Equal(502, first.Status);
        Assert.Contains("nothing was sent", (string?)first.Body["message"]);
        Assert.Equal(200, second.Status);
        Assert.Equal((string?)second.Body["extId"], (string?)third.Body["extId"]);
        Assert.Equal(1, _twilio.Server.LogEntries.Count(e => e.ResponseMessage.StatusCode is 201));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PushesRepeatedTogetherAfterAFailureNothingWentOutForAllAnswerTheOneSendsOutcome(bool optedOut)
    {
        // Only one of them takes the reply back and sends it; the others read the failure before that and answered it
        // ("Try again", "opted out"), so Desk marked a reply failed that reached the customer (acceptance-style run).
        if (optedOut) _twilio.RefuseMessages(400, 21610, "Attempt to send to unsubscribed recipient");
        else _twilio.RefuseMessages(429, 20429, "Too Many Requests");
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Sent once Twilio takes it");
        Assert.Equal(optedOut ? 400 : 502, (await _app.PushAsync(push)).Status);
        if (optedOut) await _app.CustomerWritesAsync(Fixtures.Sms("START", from: Bob));
        _twilio.Server.ResetMappings();
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
                .WithBody(FakeTwilio.Message("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Bob, Fixtures.SmsNumber, "x", "queued").ToJsonString())
                .WithDelay(TimeSpan.FromMilliseconds(500)));

        var client = _app.CreateClient();
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => _app.PushAsync(push, client: client)));

        Assert.All(answers, a => Assert.Equal((200, "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), (a.Status, (string?)a.Body["extId"])));
        Assert.Equal(1, _twilio.Server.LogEntries.Count(e => e.ResponseMessage.StatusCode is 201));
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

    [Fact]
    public async Task AServerErrorIsResentWhenTheOnlyMessageWithTheSameWordsIsAnEarlierReplys()
    {
        // Two replies with the same words to one customer within a minute: the lookup after the second's 500 found the
        // first's message, took it for its own, and the second reply never went out while Desk showed it sent.
        _twilio.AcceptMessages("same words", null, "failing");
        _twilio.RefuseMessages(500, 20500, "Internal Server Error", "same words", "failing", "recovered");
        _twilio.AcceptMessages("same words", "recovered", null);
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var (_, first) = await _app.PushAsync(ReplyApp.Push(Bob, "OK, thanks!", id: "90001"));
        var earlier = (string)first["extId"]!;
        _twilio.ListMessages(FakeTwilio.Message(earlier, Bob, Fixtures.SmsNumber, "OK, thanks!"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "OK, thanks!", id: "90002"));

        Assert.Equal(200, status);
        Assert.NotEqual(earlier, (string?)body["extId"]);
        Assert.Equal(3, _twilio.Sent.Count);
    }

    [Theory]
    // Created, but still in the sender's queue: no date_sent yet, so a DateSent filter hid it and it went out twice.
    [InlineData("queued", "Did it go out?", "Did it go out?")]
    // Smart Encoding: Twilio stores the SMS with its typographic quotes and dashes replaced.
    [InlineData("sent", "It\u2019s \u201cdone\u201d \u2014 thanks\u2026", "It's \"done\" - thanks...")]
    public async Task AServerErrorIsNotResentWhenTheMessageExistsQueuedOrReencoded(string status, string written, string stored)
    {
        _twilio.RefuseMessages(500, 20500, "Internal Server Error");
        _twilio.ListMessages(FakeTwilio.Message("SMfound0000000000000000000000000003", Bob, Fixtures.SmsNumber, stored, status));
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (code, body) = await _app.PushAsync(ReplyApp.Push(Bob, written));

        Assert.Equal(200, code);
        Assert.Equal("SMfound0000000000000000000000000003", (string?)body["extId"]);
        Assert.Single(_twilio.Sent);
    }

    /// <summary>Create calls answer <paramref name="answer"/>(n) for the n-th call (from 1): a status, a Retry-After
    /// (seconds, or null) and how long Twilio takes; 201s carry a fresh SID.</summary>
    private void CreatesAnswer(Func<int, (int Status, string? RetryAfter, TimeSpan Takes)> answer)
    {
        var calls = 0;
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithCallback(_ =>
            {
                var (status, retryAfter, takes) = answer(Interlocked.Increment(ref calls));
                Thread.Sleep(takes);
                var headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") };
                if (retryAfter is not null) headers["Retry-After"] = new(retryAfter);
                return new WireMock.ResponseMessage
                {
                    StatusCode = status,
                    Headers = headers,
                    BodyData = new WireMock.Util.BodyData
                    {
                        BodyAsString = status == 201
                            ? FakeTwilio.Message("SM" + Guid.NewGuid().ToString("N"), Bob, Fixtures.SmsNumber, "x", "queued").ToJsonString()
                            : $$"""{"code": {{(status == 429 ? 20429 : 20500)}}, "message": "Refused", "status": {{status}}}""",
                        DetectedBodyType = WireMock.Types.BodyType.String,
                    },
                };
            }));
    }

    private int Created => _twilio.Server.LogEntries.Count(e => e.RequestMessage.Method == "POST" && e.ResponseMessage.StatusCode is 201);

    [Fact]
    public async Task ACreateGivenUpOnIsCancelledAndCannotGoOutAfterTheResend()
    {
        // The first create met a 429 whose Retry-After (8 s) outlasts our wait (≈6 s of the 10 s budget): the SDK call
        // went on in the background after the unknown outcome, the lookup found nothing, the reply was sent again, and
        // at 8 s the abandoned call's retry created the message a second time (found by a code review).
        CreatesAnswer(n => n == 1 ? (429, "8", TimeSpan.Zero) : (201, null, TimeSpan.Zero));
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Hello once"));
        await Task.Delay(TimeSpan.FromSeconds(10) - clock.Elapsed);

        Assert.Equal(200, status);
        Assert.Equal(1, Created);
    }

    [Fact]
    public async Task AResendRefusedAfterAnUnknownOutcomeIsNoProofThatNothingWentOut()
    {
        // Twilio took 6.5 s to create the first try (our wait gave up: unknown, and its list didn't show it yet); the
        // resend met a rate limit. Stored as "nothing was sent. Try again.", Desk's next push sent it afresh without a
        // lookup, and the customer got it twice (found by a code review).
        CreatesAnswer(n => n == 1 ? (201, null, TimeSpan.FromSeconds(6.5)) : (429, "0", TimeSpan.Zero));
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        var push = ReplyApp.Push(Bob, "Hello once");

        var (status, body) = await _app.PushAsync(push);
        await Eventually.UntilAsync(() => Created == 1, "the slow first create answered");
        _twilio.Server.ResetMappings();
        _twilio.AcceptMessages();
        var (again, _) = await _app.PushAsync(push);

        Assert.Equal(502, status);
        Assert.Contains("may or may not have reached the customer", (string?)body["message"]);
        Assert.Equal(502, again);
        Assert.Equal(1, Created);
    }

    /// <summary>A claim as a process killed mid-send leaves it: "sending", long past the push budget (or made
    /// <paramref name="age"/> ago).</summary>
    private async Task AbandonedClaimAsync(string deskThreadId, string extParentId, TimeSpan? age = null)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Web.Data.ChannelDbContext>();
        db.Replies.Add(new Web.Data.Reply
        {
            OrgId = Fixtures.OrgId, DeskThreadId = deskThreadId, ExtParentId = extParentId,
            State = Web.Data.ReplyState.Sending, CreatedAt = DateTime.UtcNow - (age ?? TimeSpan.FromMinutes(5)),
        });
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task AClaimAbandonedWhileAPushWaitsIsResumedWithinWhatIsLeftOfThatPushsBudget()
    {
        // The push waits 6 s for the earlier attempt, which then counts as abandoned (10 s budget + 20 s). The resumed
        // send got a whole budget of its own: Twilio slow to answer, the push answered after ≈15 s where Desk's wait
        // is bounded by 10.
        _twilio.ListMessages();
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
                .WithBody(FakeTwilio.Message("SMcccccccccccccccccccccccccccccccc", Bob, Fixtures.SmsNumber, "x", "queued").ToJsonString())
                .WithDelay(TimeSpan.FromSeconds(9)));
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        await AbandonedClaimAsync("77000009", Bob, age: TimeSpan.FromSeconds(10 + 20 - 6));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Slow to send", id: "77000009"));

        Assert.Equal(502, status);
        Assert.Contains("may or may not have reached the customer", (string?)body["message"]);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(11.5));
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
    public async Task AnErrorPageFromTwiliosEdgeIsAServerErrorWithItsStatusNamed()
    {
        // A 502 page that isn't Twilio's JSON error reached the SDK as "status 0": the agent read "Twilio answered HTTP 0".
        _twilio.RefuseMessagesWithPage(502);
        _twilio.ListMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Through a flaky edge"));

        Assert.Equal(502, status);
        var message = (string?)body["message"];
        Assert.Contains("Twilio answered HTTP 502", message);
        Assert.Contains("may or may not", message);
        Assert.DoesNotContain("<html>", message);
        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task AClientErrorPageIsARefusalAndIsNotResent()
    {
        // A 4xx is certainly not sent, JSON or not: no lookup, no second try, and the agent hears the status.
        _twilio.RefuseMessagesWithPage(403);
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Stopped by a gateway"));

        Assert.Equal(400, status);
        var message = (string?)body["message"];
        Assert.Contains("HTTP 403", message);
        Assert.DoesNotContain("<html>", message);
        Assert.Single(_twilio.Sent);
        Assert.DoesNotContain(_twilio.Server.LogEntries, e => e.RequestMessage.Method == "GET");
    }

    [Fact]
    public async Task AServerErrorIsNotResentWhenTwilioCannotSayWhetherTheMessageExists()
    {
        // An unreadable list used to count as "not found", and the reply was sent a second time.
        _twilio.RefuseMessages(500, 20500, "Internal Server Error");
        _twilio.RefuseList();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Maybe out, maybe not"));

        Assert.Equal(502, status);
        Assert.Contains("can't be read", (string?)body["message"]);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task AnAbandonedReplyIsNotResentWhileTwilioCannotSayWhetherItWentOut()
    {
        _twilio.AcceptMessages();
        _twilio.RefuseList();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));
        await AbandonedClaimAsync("77000003", Bob);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Out before the crash, or not", id: "77000003"));

        Assert.NotEqual(200, status);
        Assert.Contains("can't be read", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }
}
