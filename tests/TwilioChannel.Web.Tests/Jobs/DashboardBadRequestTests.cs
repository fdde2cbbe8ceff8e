using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Jobs;

/// <summary>Bad requests to the dashboard (no form where Hangfire reads one, a form over the limits, a job id the
/// storage can't read) answer 400 with the reason; they were 500s. The dashboard's own requests still work. Each is sent
/// as the dashboard's script sends it, with the antiforgery token of a page (DashboardAntiforgeryTests).</summary>
public sealed class DashboardBadRequestTests(DashboardTests.App app) : IClassFixture<DashboardTests.App>, IAsyncLifetime
{
    private readonly ChannelApp _app = app.Channel;
    private HttpClient _client = null!;

    public async Task InitializeAsync() => _client = await _app.SignedInAsync();

    public Task DisposeAsync()
    {
        _client.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Every route whose Hangfire dispatcher reads a form: /stats and the batch commands.</summary>
    public static readonly TheoryData<string> FormRoutes =
    [
        "/stats",
        "/jobs/enqueued/delete", "/jobs/enqueued/requeue", "/jobs/processing/delete", "/jobs/processing/requeue",
        "/jobs/scheduled/enqueue", "/jobs/scheduled/delete", "/jobs/succeeded/requeue", "/jobs/failed/requeue",
        "/jobs/failed/delete", "/jobs/deleted/requeue", "/jobs/awaiting/enqueue", "/jobs/awaiting/delete",
        "/recurring/remove", "/recurring/trigger",
    ];

    private static HttpRequestMessage Post(string path, HttpContent? content = null) => new(HttpMethod.Post, "/admin/jobs" + path) { Content = content };

    private static FormUrlEncodedContent Jobs(IEnumerable<string> ids) => new(ids.Select(id => new KeyValuePair<string, string>("jobs[]", id)));

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(reason, problem.RootElement.GetProperty("detail").GetString());
    }

    [Theory]
    [MemberData(nameof(FormRoutes))]
    public async Task APostWithoutABodyIsABadRequestSayingAFormIsExpected(string path)
    {
        await AssertRefusedAsync(await _client.SendAsync(Post(path)), "application/x-www-form-urlencoded");
    }

    [Theory]
    [MemberData(nameof(FormRoutes))]
    public async Task APostWithAnotherContentTypeIsABadRequestToo(string path)
    {
        await AssertRefusedAsync(await _client.SendAsync(Post(path, new StringContent("""{"jobs":["1"]}""", Encoding.UTF8, "application/json"))), "application/x-www-form-urlencoded");
        await AssertRefusedAsync(await _client.SendAsync(Post(path, new StringContent("jobs[]=1", Encoding.UTF8, "text/plain"))), "application/x-www-form-urlencoded");
    }

    [Theory]
    [InlineData("/stats")]
    [InlineData("/recurring/trigger")]
    public async Task AGetOfAFormRouteIsABadRequestToo(string path)
    {
        await AssertRefusedAsync(await _client.GetAsync("/admin/jobs" + path), "application/x-www-form-urlencoded");
    }

    [Fact]
    public async Task AnonymousRequestsAreStillChallengedBeforeTheirFormIsLookedAt()
    {
        var response = await _app.CreateClient().SendAsync(Post("/recurring/trigger"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TheDashboardsStatsPollStillAnswers()
    {
        // hangfire.js: $.post(statsUrl, { metrics: [...] }), jQuery's encoding with its charset.
        var form = new FormUrlEncodedContent([new("metrics[]", "scheduled:count"), new("metrics[]", "failed:count")]);
        form.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-www-form-urlencoded; charset=UTF-8");

        var response = await _client.SendAsync(Post("/stats", form));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var stats = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(stats.RootElement.TryGetProperty("scheduled:count", out _));
    }

    [Fact]
    public async Task TheDashboardsBatchCommandStillActsOnTheSelectedJobs()
    {
        var jobs = _app.Services.GetRequiredService<IBackgroundJobClient>();
        var ids = Enumerable.Range(0, 2).Select(_ => jobs.Schedule<IdleJob>(job => job.Run(), TimeSpan.FromDays(1))).ToList();

        var response = await _client.SendAsync(Post("/jobs/scheduled/delete", Jobs(ids)));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.All(ids, id => Assert.Equal(DeletedState.StateName, StateOf(id)));
    }

    [Fact]
    public async Task SelectAllOnTheDashboardsLargestPageIsWithinTheFormLimits()
    {
        // The page size selector goes up to 5000; the service-wide limit of 200 form values (Twilio's) answered 500.
        var ids = Enumerable.Range(0, 5000).Select(i => (100_000_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture));

        var response = await _client.SendAsync(Post("/jobs/scheduled/delete", Jobs(ids)));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task AFormOverTheDashboardsLimitsIsABadRequestSayingWhich()
    {
        var ids = Enumerable.Range(0, 10_001).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await AssertRefusedAsync(await _client.SendAsync(Post("/jobs/scheduled/delete", Jobs(ids))), "Form value count limit 10000 exceeded");
    }

    [Theory]
    [InlineData("/jobs/scheduled/delete", "nope")]
    [InlineData("/jobs/failed/requeue", "99999999999")]
    [InlineData("/jobs/actions/delete/nope", null)]
    [InlineData("/jobs/actions/requeue/99999999999", null)]
    public async Task AJobIdTheStorageCannotReadIsABadRequest(string path, string? id)
    {
        var response = await _client.SendAsync(Post(path, id is null ? null : Jobs([id])));
        await AssertRefusedAsync(response, "not one the job storage can read");
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("99999999999")]
    public async Task TheJobPageOfAnIdTheStorageCannotReadIsABadRequest(string id)
    {
        await AssertRefusedAsync(await _client.GetAsync($"/admin/jobs/jobs/details/{id}"), "not one the job storage can read");
    }

    [Fact]
    public async Task TheJobPageOfAnUnknownJobIsStillHangfiresOwn()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/admin/jobs/jobs/details/123456789")).StatusCode);
    }

    [Fact]
    public async Task TheJobPagesBodilessCommandStillWorks()
    {
        // The job page's Delete button: $.post(url) with no data, so no body and no Content-Type.
        var id = _app.Services.GetRequiredService<IBackgroundJobClient>().Schedule<IdleJob>(job => job.Run(), TimeSpan.FromDays(1));

        var response = await _client.SendAsync(Post($"/jobs/actions/delete/{id}"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(DeletedState.StateName, StateOf(id));
    }

    private string? StateOf(string id)
    {
        using var connection = _app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetStateData(id)?.Name;
    }

    /// <summary>A job for the dashboard to act on; scheduled a day out, it never runs.</summary>
    public sealed class IdleJob
    {
        public void Run() { }
    }
}
