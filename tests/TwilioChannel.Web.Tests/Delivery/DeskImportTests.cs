using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Delivery;

/// <summary>Real-time delivery through Desk's Invoke API, against a fake Desk on 127.0.0.1.</summary>
public sealed class DeskImportTests : IAsyncLifetime
{
    private readonly FakeDesk _desk = new();
    private ChannelApp _app = null!;

    public async Task InitializeAsync()
    {
        _app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url });
        await FakeDesk.SeedAsync(_app);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _desk.Dispose();
    }

    private async Task<JsonElement> DeliveryAsync()
    {
        using var admin = _app.Admin();
        return (await admin.GetFromJsonAsync<JsonElement>("/api/admin/deliveries")).EnumerateArray().Single(d => d.GetProperty("orgId").GetString() == Fixtures.OrgId);
    }

    [Fact]
    public async Task ACustomerMessageIsImportedRightAwaySignedWithItsTicket()
    {
        var form = Fixtures.WhatsApp("Olá! Meu pedido não chegou.");
        (await _app.PostInboundAsync(form)).EnsureSuccessStatusCode();
        var acked = DateTime.UtcNow;

        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "an import call");
        // Woken by the commit itself, not by the 5 s sweep (a lone message must not wait for other traffic).
        Assert.True(DateTime.UtcNow - acked < TimeSpan.FromSeconds(3), $"imported {(DateTime.UtcNow - acked).TotalMilliseconds:0} ms after the ack");
        var call = _desk.Accepted.Single();

        Assert.Equal(Fixtures.OrgId, call.OrgId);
        Assert.Equal(call.ExpectedHash(ChannelApp.ExtensionSecret), call.Hash);
        Assert.Equal(Fixtures.SecurityContext, call.Form["securityContext"]);
        Assert.Equal(FakeDesk.ConnectionLinkName, call.Form["connectionLinkName"]);
        Assert.Equal("POST", call.Form["requestType"]);
        Assert.Equal($"{_desk.Url}/api/v1/channels/{{{{installationId}}}}/import", call.Form["requestURL"]);
        var headers = JsonDocument.Parse(call.Form["headers"]).RootElement;
        Assert.Equal(Fixtures.OrgId, headers.GetProperty("orgId").GetString());
        Assert.Equal("application/json", headers.GetProperty("Content-Type").GetString());

        Assert.Equal([form["From"]], call.TicketExtIds);
        var thread = call.Body.GetProperty("data").GetProperty("threads").EnumerateArray().Single();
        Assert.Equal(form["MessageSid"], thread.GetProperty("extId").GetString());
        Assert.Equal(form["From"], thread.GetProperty("extParentId").GetString());
        Assert.Equal("Olá! Meu pedido não chegou.", thread.GetProperty("content").GetString());
        // The import carries our cursor too, so Desk's next pull starts after it.
        Assert.Contains("\"after\":", call.Body.GetProperty("channelState").GetString());
    }

    [Fact]
    public async Task WithoutPublicBaseUrlImportedAttachmentsUseTheHostTwilioCalled()
    {
        // PublicBaseUrl is optional when no proxy sits in front (README). The import's attachment URLs then come from
        // the last request seen, but only Desk's pulls and pushes counted, not Twilio's webhooks: after a start, every
        // attachment imported before Desk's first pull pointed at http://localhost:5080, which Desk can't fetch.
        await using var app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url, ["PublicBaseUrl"] = "" });
        await FakeDesk.SeedAsync(app);
        var form = Fixtures.Form("whatsapp-image.form");
        var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign("http://localhost/twilio/messages", form, Fixtures.AuthToken));
        (await app.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();

        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "an import call");
        var thread = _desk.Accepted[0].Body.GetProperty("data").GetProperty("threads").EnumerateArray().Single();
        var url = Assert.Single(thread.GetProperty("attachmentUrls").EnumerateArray()).GetString()!;
        Assert.StartsWith("http://localhost/media/", url);
    }

    [Fact]
    public async Task WhatImportDeliveredIsNotServedAgainByThePull()
    {
        (await _app.PostInboundAsync(Fixtures.Sms("first"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "an import call");
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("backlog").GetInt64() == 0, "the cursor to move");

        using var pull = await _app.PullAsync();
        Assert.Empty(pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());

        (await _app.PostInboundAsync(Fixtures.Sms("second"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 2, "the second import");
        Assert.Equal(["second"], _desk.Accepted[1].Body.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task UnderLoadBatchesGrowStayWithinLimitsAndKeepTheOrderOfEveryTicket()
    {
        // A slow Desk: while one call is in flight, what arrives waits for the next call.
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", TimeSpan.FromMilliseconds(300));
        var customers = new[] { "+14155550121", "+14155550122", "+14155550123" };
        var sent = new List<(string Customer, string Sid)>();
        using var client = _app.CreateClient();
        for (var i = 0; i < 1500; i += 50)
        {
            var chunk = Enumerable.Range(i, 50).Select(n => Fixtures.Sms($"message {n}", from: customers[n % 3])).ToList();
            var responses = await Task.WhenAll(chunk.Select(f => _app.PostInboundAsync(f, client: client)));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            // Within a chunk the order of commits is not the order of posting: record it per customer as stored.
            sent.AddRange(chunk.Select(f => (f["From"], f["MessageSid"])));
        }

        await Eventually.UntilAsync(() => _desk.Accepted.Sum(c => c.ThreadExtIds.Count) >= 1500, "all 1500 threads imported", 60);
        var calls = _desk.Accepted;
        Assert.All(calls, c => Assert.InRange(c.ThreadExtIds.Count, 1, 1000));
        Assert.True(calls.Count < 100, $"batches should grow with load, got {calls.Count} calls for 1500 messages");
        // Every thread's ticket travels in the same call.
        foreach (var call in calls)
        {
            var parents = call.Body.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extParentId").GetString()!).ToHashSet();
            Assert.Subset(parents, call.TicketExtIds.ToHashSet());
        }
        // Exactly once each.
        var delivered = calls.SelectMany(c => c.ThreadExtIds).ToList();
        Assert.Equal(1500, delivered.Count);
        Assert.Equal(sent.Select(s => s.Sid).Order(), delivered.Order());
        // Per ticket, in stored order (the feed's order is the order of the admin messages list).
        using var admin = _app.Admin();
        var stored = new List<string>();
        long after = 0;
        while (true)
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/messages?after={after}&limit=1000");
            if (page.GetArrayLength() == 0) break;
            stored.AddRange(page.EnumerateArray().Select(m => m.GetProperty("messageSid").GetString()!));
            after = page.EnumerateArray().Last().GetProperty("id").GetInt64();
        }
        var customerOf = sent.ToDictionary(s => s.Sid, s => s.Customer);
        foreach (var customer in customers)
            Assert.Equal(stored.Where(s => customerOf[s] == customer), delivered.Where(s => customerOf[s] == customer));
    }

    [Fact]
    public async Task WhenDeskIsDownEverythingArrivesOnceInOrderAfterItComesBack()
    {
        _desk.Answer(503, """{"errorCode":"INTERNAL_SERVER_ERROR"}""");
        var forms = Enumerable.Range(1, 3).Select(i => Fixtures.Sms($"while down {i}")).ToList();
        foreach (var f in forms) (await _app.PostInboundAsync(f)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Calls.Count(c => c.Status == 503) >= 2, "two failed attempts");

        var state = await DeliveryAsync();
        Assert.True(state.GetProperty("failures").GetInt32() >= 1);
        Assert.Contains("503", state.GetProperty("lastError").GetString());
        Assert.Equal(3, state.GetProperty("backlog").GetInt64());

        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        await Eventually.UntilAsync(() => _desk.Accepted.Sum(c => c.ThreadExtIds.Count) >= 3, "delivery after recovery", 30);
        await Task.Delay(300);
        Assert.Equal(forms.Select(f => f["MessageSid"]), _desk.Accepted.SelectMany(c => c.ThreadExtIds));
        state = await DeliveryAsync();
        Assert.Equal(0, state.GetProperty("failures").GetInt32());
        Assert.Equal(0, state.GetProperty("backlog").GetInt64());
    }

    [Theory]
    [InlineData("<html><body>Please sign in to continue</body></html>", "sign in")]
    [InlineData("", "body was empty")]
    public async Task AnOkThatIsNotDesksAnswerIsRetriedNotCountedAsDelivered(string body, string shown)
    {
        // A proxy or captive portal answering 200 moved the cursor past the batch, and the pull serves only after it:
        // the messages never reached Desk. Such an answer now fails like a 5xx, backs off and keeps the batch.
        _desk.Answer(200, body);
        var form = Fixtures.Sms("behind a captive portal");
        (await _app.PostInboundAsync(form)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("failures").GetInt32() >= 1, "a failed attempt");

        var state = await DeliveryAsync();
        Assert.Equal(1, state.GetProperty("backlog").GetInt64());
        Assert.Contains("Not the Invoke API's answer", state.GetProperty("lastError").GetString());
        Assert.Contains(shown, state.GetProperty("lastError").GetString());

        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        await Eventually.UntilAsync(() => _desk.Calls.Count(c => c.ThreadExtIds.Contains(form["MessageSid"])) >= 2 && DeliveryAsync().Result.GetProperty("backlog").GetInt64() == 0,
            "the batch sent again and delivered", 30);
        Assert.Equal(0, (await DeliveryAsync()).GetProperty("failures").GetInt32());
    }

    [Fact]
    public async Task ABackoffShowsAsAScheduledJobThatRetriesAtOnceWhenRun()
    {
        _desk.Answer(503);
        (await _app.PostInboundAsync(Fixtures.Sms("retry me"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("failures").GetInt32() >= 1, "a failed attempt");
        var monitoring = _app.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        await Eventually.UntilAsync(() => monitoring.ScheduledJobs(0, 50).Any(j => j.Value.Job.Type.Name == "DeliveryRetryJob")
                                    || monitoring.SucceededJobs(0, 50).Any(j => j.Value.Job?.Type.Name == "DeliveryRetryJob"), "the visible retry job",
            // Failed once in a loaded CI run (session 6) and never alone: say where the jobs were if it happens again.
            seen: () => $"scheduled {monitoring.ScheduledCount()}, enqueued {monitoring.EnqueuedCount("default")}, processing {monitoring.ProcessingCount()}, "
                        + $"succeeded {monitoring.SucceededListCount()}, failed {monitoring.FailedCount()}, delivery {DeliveryAsync().Result}");

        // Running the job for a stale attempt does nothing; for the current one it ends the wait.
        var state = await DeliveryAsync();
        var attempt = state.GetProperty("failures").GetInt32();
        var job = _app.Services.GetRequiredService<TwilioChannel.Web.Delivery.DeliveryRetryJob>();
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        await job.RunAsync(Fixtures.OrgId, attempt + 5);
        await job.RunAsync(Fixtures.OrgId, (await DeliveryAsync()).GetProperty("failures").GetInt32());
        await Eventually.UntilAsync(() => _desk.Accepted.Count == 1, "the retry");
    }

    [Fact]
    public async Task RateLimitingBacksOffBeforeTryingAgain()
    {
        _desk.Answer(429, """{"errorCode":"THROTTLES_LIMIT_EXCEEDED","message":"Too many requests"}""");
        (await _app.PostInboundAsync(Fixtures.Sms("slow down"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Calls.Count >= 1, "the first attempt");
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the retry", 30);

        var calls = _desk.Calls;
        Assert.Equal(429, calls[0].Status);
        // Rate limits wait at least 2 s (less 20 % jitter) before the same batch goes again.
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromSeconds(1.5), $"retried after {(calls[1].At - calls[0].At).TotalMilliseconds} ms");
        Assert.Equal(calls[0].ThreadExtIds, calls[1].ThreadExtIds);
    }

    [Fact]
    public async Task ARateLimitWithRetryAfterWaitsAsLongAsDeskAsked()
    {
        // The backoff alone would try again after about 2 s: each early try spends a call of the day on another 429.
        _desk.Answer(429, """{"errorCode":"THROTTLES_LIMIT_EXCEEDED","message":"Too many requests"}""", retryAfter: "120");
        (await _app.PostInboundAsync(Fixtures.Sms("come back later"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("failures").GetInt32() >= 1, "the first attempt");

        var state = await DeliveryAsync();
        var wait = state.GetProperty("nextAttemptAt").GetDateTime() - DateTime.UtcNow;
        Assert.True(wait > TimeSpan.FromSeconds(100), $"next attempt in {wait.TotalSeconds} s");
        await Task.Delay(4000);
        Assert.Single(_desk.Calls);
    }

    [Fact]
    public async Task AThreadDeskRefusesIsSetAsideWhileTheRestFlowsAndCanBeReplayed()
    {
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", TimeSpan.FromMilliseconds(400));
        _desk.AnswerWhenContains("SMpoison", 422, """{"errorCode":"INVALID_DATA","message":"content is not valid"}""");
        var forms = Enumerable.Range(1, 6).Select(i => Fixtures.Sms($"message {i}", sid: i == 4 ? "SMpoison" + Guid.NewGuid().ToString("N")[..24] : null)).ToList();
        (await _app.PostInboundAsync(Fixtures.Sms("warm-up"))).EnsureSuccessStatusCode(); // keeps Desk busy so the six share a batch
        foreach (var f in forms) (await _app.PostInboundAsync(f)).EnsureSuccessStatusCode();

        var good = forms.Where((_, i) => i != 3).Select(f => f["MessageSid"]).ToList();
        await Eventually.UntilAsync(() => good.All(s => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(s))), "the valid threads", 30);
        var poison = forms[3]["MessageSid"];
        Assert.DoesNotContain(_desk.Accepted, c => c.ThreadExtIds.Contains(poison));
        Assert.Equal(good, _desk.Accepted.SelectMany(c => c.ThreadExtIds).Where(good.Contains));

        using var admin = _app.Admin();
        var letters = await admin.GetFromJsonAsync<JsonElement>("/api/admin/dead-letters");
        var letter = letters.EnumerateArray().Single();
        Assert.Equal(poison, letter.GetProperty("extId").GetString());
        Assert.Equal(422, letter.GetProperty("statusCode").GetInt32());
        Assert.Contains("content is not valid", letter.GetProperty("reason").GetString());

        // Desk fixed (here: accepts it now) → replay delivers it, once; a second replay is refused.
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        var replay = await admin.PostAsync($"/api/admin/dead-letters/{letter.GetProperty("id").GetInt64()}/replay", null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await Eventually.UntilAsync(() => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(poison)), "the replayed thread");
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/admin/dead-letters/{letter.GetProperty("id").GetInt64()}/replay", null)).StatusCode);
    }

    [Fact]
    public async Task EveryCallSpentFindingARefusedThreadCountsIntoTheDailyBudget()
    {
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", TimeSpan.FromMilliseconds(400));
        _desk.AnswerWhenContains("SMpoison", 422, """{"errorCode":"INVALID_DATA","message":"content is not valid"}""");
        var forms = Enumerable.Range(1, 6).Select(i => Fixtures.Sms($"message {i}", sid: i == 4 ? "SMpoison" + Guid.NewGuid().ToString("N")[..24] : null)).ToList();
        (await _app.PostInboundAsync(Fixtures.Sms("warm-up"))).EnsureSuccessStatusCode(); // keeps Desk busy so the six share a batch
        foreach (var f in forms) (await _app.PostInboundAsync(f)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("deadLetters").GetInt32() == 1 && DeliveryAsync().Result.GetProperty("backlog").GetInt64() == 0,
            "the refused thread set aside and the rest delivered", 30);
        await Task.Delay(300);

        Assert.Contains(_desk.Calls, c => c.Status == 422 && c.ThreadExtIds.Count > 1); // a batch was halved
        Assert.Equal(_desk.Calls.Count, (await DeliveryAsync()).GetProperty("callsToday").GetInt32());
    }

    [Fact]
    public async Task EveryDeadLetterOfAnOrgIsReplayedInOneCallInTheirOriginalOrder()
    {
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        _desk.AnswerWhenContains("SMpoison", 422, """{"errorCode":"INVALID_DATA","message":"content is not valid"}""");
        var poison = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var form = Fixtures.Sms($"refused {i}", sid: "SMpoison" + Guid.NewGuid().ToString("N")[..24]);
            poison.Add(form["MessageSid"]);
            (await _app.PostInboundAsync(form)).EnsureSuccessStatusCode();
        }
        using var admin = _app.Admin();
        await Eventually.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>("/api/admin/dead-letters").Result.GetArrayLength() == 3, "three dead letters", 30);

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync($"/api/admin/dead-letters/replay?orgId={new string('9', 65)}", null)).StatusCode);
        var otherOrg = await (await admin.PostAsync("/api/admin/dead-letters/replay?orgId=99999", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, otherOrg.GetProperty("replayed").GetInt32());
        Assert.Equal(0, otherOrg.GetProperty("remaining").GetInt32());

        // Desk fixed (here: accepts them now) → one call replays all three, oldest first.
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        var replay = await admin.PostAsync($"/api/admin/dead-letters/replay?orgId={Fixtures.OrgId}", null);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var answer = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, answer.GetProperty("replayed").GetInt32());
        Assert.Equal(0, answer.GetProperty("remaining").GetInt32());
        await Eventually.UntilAsync(() => poison.All(p => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(p))), "the replayed threads", 30);
        Assert.Equal(poison, _desk.Accepted.SelectMany(c => c.ThreadExtIds).Where(poison.Contains));

        var again = await (await admin.PostAsync("/api/admin/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, again.GetProperty("replayed").GetInt32());
        Assert.All((await admin.GetFromJsonAsync<JsonElement>("/api/admin/dead-letters")).EnumerateArray(),
            l => Assert.Equal(JsonValueKind.String, l.GetProperty("replayedAt").ValueKind));
    }

    [Fact]
    public async Task ARevokedInstallationParksImportAndThePullServesInstead()
    {
        _desk.Answer(401, """{"errorCode":"INVALID_OAUTH","message":"The OAuth token is invalid"}""");
        var first = Fixtures.Sms("before revoke noticed");
        (await _app.PostInboundAsync(first)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("parkedReason").ValueKind == JsonValueKind.String, "the org parked");
        var callsWhenParked = _desk.Calls.Count;

        var second = Fixtures.Sms("after revoke");
        (await _app.PostInboundAsync(second)).EnsureSuccessStatusCode();
        await Task.Delay(1500);
        Assert.Equal(callsWhenParked, _desk.Calls.Count); // no retrying forever
        var state = await DeliveryAsync();
        Assert.Contains("401", state.GetProperty("parkedReason").GetString());

        using (var pull = await _app.PullAsync())
            Assert.Equal([first["MessageSid"], second["MessageSid"]],
                pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()));

        // Reinstalled: an admin resumes, and import continues after what the pull has served... once Desk confirms it.
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        using var admin = _app.Admin();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/admin/deliveries/{Fixtures.OrgId}/resume", null)).StatusCode);
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "import resumed");
        Assert.Equal(JsonValueKind.Null, (await DeliveryAsync()).GetProperty("parkedReason").ValueKind);
    }

    [Fact]
    public async Task DeskRenewingTheSecurityContextOfAParkedOrgResumesImportWithoutAnAdmin()
    {
        // Parked on Desk's 401 (the installation revoked); Desk's onZohoAuthorise then brought a new securityContext and
        // was answered "ok", but import stayed parked, real-time delivery off, until an admin noticed (acceptance-style run).
        _desk.Answer(401, """{"errorCode":"INVALID_OAUTH","message":"revoked"}""");
        (await _app.PostInboundAsync(Fixtures.Sms("before the renewal"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("parkedReason").ValueKind == JsonValueKind.String, "the org parked");
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");

        // The same securityContext again changes nothing: no sign that what Desk refused was fixed.
        Assert.Equal(HttpStatusCode.OK, (await _app.PostEventAsync(DeskEventPosts.Event("onZohoAuthorise", Fixtures.OrgId, Fixtures.SecurityContext))).StatusCode);
        await Task.Delay(1000);
        Assert.Equal(JsonValueKind.String, (await DeliveryAsync()).GetProperty("parkedReason").ValueKind);

        Assert.Equal(HttpStatusCode.OK, (await _app.PostEventAsync(DeskEventPosts.Event("onZohoAuthorise", Fixtures.OrgId, "a-renewed-security-context"))).StatusCode);

        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "import resumed");
        Assert.Equal(JsonValueKind.Null, (await DeliveryAsync()).GetProperty("parkedReason").ValueKind);
    }

    [Fact]
    public async Task ACallDeskDidNotAnswerInTimeIsRetriedAndShownWithoutAnHttpStatusItNeverHad()
    {
        // It read "Retry: HTTP 0 Desk did not answer in time." (acceptance-style run).
        await _app.DisposeAsync();
        _app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url, ["Desk:ImportTimeoutSeconds"] = "1" });
        await FakeDesk.SeedAsync(_app);
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", delay: TimeSpan.FromSeconds(3));

        (await _app.PostInboundAsync(Fixtures.Sms("to a slow Desk"))).EnsureSuccessStatusCode();

        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("lastError").ValueKind == JsonValueKind.String, "the timed-out call recorded");
        Assert.Equal("Retry: Desk did not answer in time.", (await DeliveryAsync()).GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task AResumedOrgNoLongerShowsTheParkAsItsLastError()
    {
        // Parked on a 401; meanwhile Desk's pull took everything and confirmed it, so after the resume there is
        // nothing to import. The park's text ("… Import is parked …") stayed as lastError beside parkedReason null, and
        // an admin reading the deliveries could not tell whether import was parked or not.
        _desk.Answer(401, """{"errorCode":"INVALID_OAUTH","message":"revoked"}""");
        (await _app.PostInboundAsync(Fixtures.Sms("before revoke noticed"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => DeliveryAsync().Result.GetProperty("parkedReason").ValueKind == JsonValueKind.String, "the org parked");
        string state;
        using (var pull = await _app.PullAsync()) state = pull.RootElement.GetProperty("channelState").GetString()!;
        using (var confirm = await _app.PullAsync(state)) Assert.Empty(confirm.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());

        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");
        using var admin = _app.Admin();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/admin/deliveries/{Fixtures.OrgId}/resume", null)).StatusCode);

        var delivery = await DeliveryAsync();
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("parkedReason").ValueKind);
        Assert.Equal(0, delivery.GetProperty("backlog").GetInt64());
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("lastError").ValueKind);
    }

    [Fact]
    public async Task WhatThePullConfirmedIsNotImportedAgain()
    {
        await using var app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url });
        await FakeDesk.SeedAsync(app, connection: null); // no connection yet: pull only
        var old = Fixtures.Sms("pulled before import was on");
        (await app.PostInboundAsync(old)).EnsureSuccessStatusCode();
        await app.RouteAsync();
        string state;
        using (var pull = await app.PullAsync())
            state = pull.RootElement.GetProperty("channelState").GetString()!;
        using (var confirm = await app.PullAsync(state)) Assert.Empty(confirm.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());

        await FakeDesk.ConnectAsync(app);
        var fresh = Fixtures.Sms("after import was turned on");
        (await app.PostInboundAsync(fresh)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the import");
        await Task.Delay(300);
        Assert.Equal([fresh["MessageSid"]], _desk.Accepted.SelectMany(c => c.ThreadExtIds));
    }

    [Fact]
    public async Task ASpentBudgetIsWarnedAboutOnceNotOnEverySweepUntilMidnight()
    {
        await using var app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url, ["Desk:DailyApiCallBudget"] = "1" });
        await FakeDesk.SeedAsync(app);
        (await app.PostInboundAsync(Fixtures.Sms("within budget"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the first import");
        (await app.PostInboundAsync(Fixtures.Sms("over budget"))).EnsureSuccessStatusCode();

        await Task.Delay(TimeSpan.FromSeconds(12)); // two sweeps and more
        var warnings = app.Logs.Lines.Count(l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Desk API calls for today", StringComparison.Ordinal));
        Assert.Equal(1, warnings);
        Assert.Single(_desk.Calls);
    }

    [Fact]
    public async Task WhenTheDailyBudgetIsSpentThePullTakesOverAndDeliveriesSayWhy()
    {
        await using var app = new ChannelApp(settings: new() { ["Desk:ApiBaseUrl"] = _desk.Url, ["Desk:DailyApiCallBudget"] = "1" });
        await FakeDesk.SeedAsync(app);
        var first = Fixtures.Sms("within budget");
        (await app.PostInboundAsync(first)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the first import");
        var second = Fixtures.Sms("over budget");
        (await app.PostInboundAsync(second)).EnsureSuccessStatusCode();
        await Task.Delay(1000);

        Assert.Single(_desk.Calls);
        using var pull = await app.PullAsync();
        Assert.Equal([second["MessageSid"]], pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()));
        using var admin = app.Admin();
        var delivery = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/deliveries")).EnumerateArray().Single();
        Assert.Equal(1, delivery.GetProperty("callsToday").GetInt32());
        Assert.Equal(1, delivery.GetProperty("dailyApiCallBudget").GetInt32());
        // Not an error and import is still on (those fields keep their meaning): the waiting reason says what holds it back.
        Assert.True(delivery.GetProperty("importEnabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("lastError").ValueKind);
        Assert.Contains("daily budget of 1 Desk API calls", delivery.GetProperty("waitingReason").GetString());
        Assert.Contains("midnight UTC", delivery.GetProperty("waitingReason").GetString());
    }

}
