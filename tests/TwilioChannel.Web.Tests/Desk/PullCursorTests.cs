using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Desk;

public sealed class PullCursorTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    private static List<JsonElement> Threads(JsonDocument pull) => pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().ToList();

    private static List<JsonElement> Tickets(JsonDocument pull) => pull.RootElement.GetProperty("data").GetProperty("tickets").EnumerateArray().ToList();

    private static string State(JsonDocument pull) => pull.RootElement.GetProperty("channelState").GetString()!;

    private async Task PostManyAsync(int count, Func<int, Dictionary<string, string>> form, int parallelism = 8)
    {
        var client = _app.CreateClient();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, _) =>
            Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form(i), client: client)).StatusCode));
    }

    [Fact]
    public async Task AnEmptyFeedAnswersNoItemsAndAStateThatStartsFromTheBeginning()
    {
        using var pull = await _app.PullAsync();
        Assert.Empty(Threads(pull));
        Assert.Empty(Tickets(pull));
        Assert.Equal("{\"v\":1,\"after\":0}", State(pull));
    }

    [Fact]
    public async Task EachItemIsServedOnceAndAnOldChannelStateServesItAgain()
    {
        await PostManyAsync(3, i => Fixtures.Sms($"message {i}", from: $"+1415555{i:0000}"), parallelism: 1);
        await _app.RouteAsync();

        using var first = await _app.PullAsync();
        Assert.Equal(3, Threads(first).Count);
        using var next = await _app.PullAsync(State(first));
        Assert.Empty(Threads(next));
        Assert.Equal(State(first), State(next));

        using var again = await _app.PullAsync("");
        Assert.Equal(Threads(first).Select(t => t.GetProperty("extId").GetString()), Threads(again).Select(t => t.GetProperty("extId").GetString()));
    }

    [Fact]
    public async Task APullServesAtMost1000ThreadsAnd1000TicketsAndEachThreadsTicketComesWithIt()
    {
        await PostManyAsync(1100, i => Fixtures.Sms($"hello {i}", from: $"+1212555{i:0000}"));
        await _app.RouteAsync();

        using var first = await _app.PullAsync();
        Assert.Equal(1000, Threads(first).Count);
        Assert.Equal(1000, Tickets(first).Count);
        var ticketIds = Tickets(first).Select(t => t.GetProperty("extId").GetString()).ToHashSet();
        Assert.All(Threads(first), t => Assert.Contains(t.GetProperty("extParentId").GetString(), ticketIds));

        using var second = await _app.PullAsync(State(first));
        Assert.Equal(100, Threads(second).Count);
        Assert.Equal(100, Tickets(second).Count);
        var all = Threads(first).Concat(Threads(second)).Select(t => t.GetProperty("extId").GetString()).ToList();
        Assert.Equal(1100, all.Distinct().Count());
    }

    [Fact]
    public async Task ThreadsOfOneCustomerShareOneTicketInStoredOrder()
    {
        for (var i = 0; i < 5; i++) (await _app.PostInboundAsync(Fixtures.WhatsApp($"part {i}"))).EnsureSuccessStatusCode();
        await _app.RouteAsync();

        using var pull = await _app.PullAsync();
        Assert.Single(Tickets(pull));
        Assert.Equal(["part 0", "part 1", "part 2", "part 3", "part 4"], Threads(pull).Select(t => t.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task AChannelStateBeyondTheOrgsFeedIsNotOursAndServesFromTheStart()
    {
        // Desk keeps channelState across our database's life: a service re-installed on a fresh database (or a cursor
        // another feed gave out) sends back "after N" beyond anything this org's feed has. Serving after N answered
        // nothing and returned N again, so a pull-only org got none of its messages until the feed passed N.
        await PostManyAsync(2, i => Fixtures.Sms($"after restore {i}"), parallelism: 1);
        await _app.RouteAsync();

        using var pull = await _app.PullAsync("{\"v\":1,\"after\":1000000}");
        Assert.Equal(["after restore 0", "after restore 1"], Threads(pull).Select(t => t.GetProperty("content").GetString()));
        using var next = await _app.PullAsync(State(pull));
        Assert.Empty(Threads(next));
        Assert.Equal(State(pull), State(next));
    }

    [Fact]
    public async Task AnotherOrgsChannelStateSkipsNoneOfOurThreads()
    {
        // Feed positions are shared by all orgs: another org's cursor (or a forged one) lies inside our feed's range. It
        // used to be taken as ours, so our threads below it were never served, and confirmed as delivered.
        using (var admin = _app.Admin())
        {
            (await admin.PostAsJsonAsync("/api/admin/installations", new { orgId = "other-org", securityContext = "other-context" })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550177", accountSid = Fixtures.AccountSid, orgId = "other-org" })).EnsureSuccessStatusCode();
        }
        foreach (var (body, to) in new[] { ("ours 1", Fixtures.SmsNumber), ("theirs", "+14155550177"), ("ours 2", Fixtures.SmsNumber) })
            (await _app.PostInboundAsync(Fixtures.Sms(body, to: to))).EnsureSuccessStatusCode();
        await _app.RouteAsync();
        using var theirs = await _app.PullAsync(orgId: "other-org", securityContext: "other-context");
        Assert.Single(Threads(theirs));

        using var pull = await _app.PullAsync(State(theirs));
        Assert.Equal(["ours 1", "ours 2"], Threads(pull).Select(t => t.GetProperty("content").GetString()));
        using var next = await _app.PullAsync(State(pull));
        Assert.Empty(Threads(next));
    }

    [Fact]
    public async Task ConfigParamsAsANameValueArrayAreReadToo()
    {
        await PostManyAsync(2, i => Fixtures.Sms($"m{i}"), parallelism: 1);
        await _app.RouteAsync();
        using var first = await _app.PullAsync();

        using var response = await _app.PullRawAsync(new object[] { new { name = "channelState", value = State(first) }, new { name = "defaultNumber", value = "+14155550100" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var next = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Empty(Threads(next));
    }

    [Fact]
    public async Task AChannelStateThatDeskDecodedIntoAnObjectIsReadToo()
    {
        await PostManyAsync(2, i => Fixtures.Sms($"m{i}"), parallelism: 1);
        await _app.RouteAsync();
        using var first = await _app.PullAsync();
        var state = JsonDocument.Parse(State(first)).RootElement;

        using var response = await _app.PullRawAsync(new { channelState = state });
        using var next = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Empty(Threads(next));
    }

    [Fact]
    public async Task TheSharedPullFixtureIsAccepted()
    {
        var client = _app.CreateClient();
        var content = new StringContent(Fixtures.Text("desk-pull-request.json"), System.Text.Encoding.UTF8, "application/json");
        var response = await client.PostAsync($"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\r\n\t \n")]
    [InlineData("\uFEFF\n")]
    public async Task AnEmptyOrWhitespaceOnlyBodyIsAPullWithoutParams(string body)
    {
        // An empty body was a pull from the start and a "\n" a 400: both carry no params, so both are the same pull.
        (await _app.PostInboundAsync(Fixtures.Sms("waiting"))).EnsureSuccessStatusCode();
        await _app.RouteAsync();
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await _app.CreateClient().PostAsync($"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var pull = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Single(Threads(pull));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"channelState\":")]
    [InlineData("42")]
    public async Task AGarbageBodyIsABadRequest(string body)
    {
        var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var response = await _app.CreateClient().PostAsync($"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("message", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"channelState\":\"\xff\xfe\"}")]
    [InlineData("[{\"name\":\"channelState\",\"value\":\"\xc3\"}]")]
    [InlineData("[{\"name\":\"\xc3\",\"value\":\"x\"}]")]
    [InlineData("{\"channelState\":\"\\ud800\"}")]
    [InlineData("[{\"name\":\"channelState\",\"value\":\"\\ud800\"}]")]
    public async Task ABodyThatIsNotUtf8TextIsABadRequest(string latin1Body)
    {
        // Each char of the string is one raw byte: invalid UTF-8 inside JSON strings (it failed with a 500).
        var content = new ByteArrayContent(System.Text.Encoding.Latin1.GetBytes(latin1Body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await _app.CreateClient().PostAsync($"/desk/pull?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("UTF-8", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(Fixtures.OrgId, "wrong-context")]
    [InlineData(Fixtures.OrgId, "")]
    [InlineData("99999", Fixtures.SecurityContext)]
    public async Task AWrongSecurityContextOrUnknownOrgIsForbidden(string orgId, string securityContext)
    {
        await PostManyAsync(1, _ => Fixtures.Sms("secret stuff"), parallelism: 1);
        await _app.RouteAsync();
        using var response = await _app.PullRawAsync(new { channelState = "" }, orgId, securityContext);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("secret stuff", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnotherOrgsMessagesAreNeverServed()
    {
        var admin = _app.Admin();
        (await admin.PostAsJsonAsync("/api/admin/installations", new { orgId = "other-org", securityContext = "other-context" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550177", accountSid = Fixtures.AccountSid, orgId = "other-org" })).EnsureSuccessStatusCode();
        (await _app.PostInboundAsync(Fixtures.Sms("for the other org", to: "+14155550177"))).EnsureSuccessStatusCode();
        (await _app.PostInboundAsync(Fixtures.Sms("for ours"))).EnsureSuccessStatusCode();
        await _app.RouteAsync();

        using var ours = await _app.PullAsync();
        Assert.Equal(["for ours"], Threads(ours).Select(t => t.GetProperty("content").GetString()));
        using var theirs = await _app.PullAsync(orgId: "other-org", securityContext: "other-context");
        Assert.Equal(["for the other org"], Threads(theirs).Select(t => t.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task PullingWhileSeveralWritersCommitNeverSkipsOrRepeatsAnItem()
    {
        const int total = 600;
        var posting = PostManyAsync(total, i => Fixtures.Sms($"concurrent {i}", from: $"+1646555{i % 37:0000}"));
        // A second router next to the background one, as another instance would run.
        var routing = Task.Run(async () => { while (!posting.IsCompleted) { await _app.RouteAsync(); await Task.Delay(5); } });

        var seen = new List<string>();
        var state = "";
        var positions = new List<long>();
        async Task DrainAsync()
        {
            using var pull = await _app.PullAsync(state);
            seen.AddRange(Threads(pull).Select(t => t.GetProperty("extId").GetString()!));
            state = State(pull);
            positions.Add(JsonDocument.Parse(state).RootElement.GetProperty("after").GetInt64());
        }
        while (!posting.IsCompleted) { await DrainAsync(); await Task.Delay(10); }
        await posting;
        await routing;
        await _app.RouteAsync();
        await DrainAsync();
        await DrainAsync();

        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Distinct().Count());
        Assert.True(positions.SequenceEqual(positions.Order()), "the cursor never moves backwards");
    }
}
