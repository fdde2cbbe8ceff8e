using System.Net;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;
using IdleJob = TwilioChannel.Web.Tests.Jobs.DashboardBadRequestTests.IdleJob;

namespace TwilioChannel.Web.Tests.Jobs;

/// <summary>Basic auth is resent by the browser with any form another site makes it post, so a dashboard command also
/// needs the antiforgery token of a dashboard page, which another site can't read.</summary>
public sealed class DashboardAntiforgeryTests(DashboardTests.App app) : IClassFixture<DashboardTests.App>
{
    private readonly ChannelApp _app = app.Channel;

    public enum Sent { CookieOnly, CookieAndAMadeUpToken, TokenOnly, Neither }

    [Theory]
    [InlineData(Sent.CookieOnly)] // the forged post: the browser has the cookie, the other site can't read the token
    [InlineData(Sent.CookieAndAMadeUpToken)] // a 403 saying why, not a 500 from a token that can't be decrypted
    [InlineData(Sent.TokenOnly)] // a token is good only with the cookie it was issued with
    [InlineData(Sent.Neither)]
    public async Task ABasicAuthCommandWithoutThePagesTokenAndCookieIsRefusedAndTheJobUntouched(Sent sent)
    {
        var id = ScheduleIdle();
        using var client = await ClientSendingAsync(sent);

        var response = await client.PostAsync($"/admin/jobs/jobs/actions/delete/{id}", null);

        await AssertRefusedAsync(response);
        Assert.Equal(ScheduledState.StateName, StateOf(id));
    }

    [Fact]
    public async Task ABatchCommandWithoutTheTokenIsRefusedToo()
    {
        var id = AddRecurring();
        using var client = await ClientSendingAsync(Sent.CookieOnly);

        var response = await client.PostAsync("/admin/jobs/recurring/trigger", Jobs(id));

        await AssertRefusedAsync(response);
        Assert.Null(LastJobOf(id));
    }

    [Fact]
    public async Task ACommandWithTheTokenAndCookieOfADashboardPageWorks()
    {
        var id = AddRecurring();
        using var client = await _app.SignedInAsync();

        var response = await client.PostAsync("/admin/jobs/recurring/trigger", Jobs(id));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.NotNull(LastJobOf(id));
    }

    [Fact]
    public async Task AScriptWithTheKeyAsBearerTokenNeedsNoAntiforgeryToken()
    {
        // No browser sends a Bearer header on its own, so a Bearer request is not a forged one.
        var id = ScheduleIdle();
        var recurring = AddRecurring();
        using var script = _app.Admin();

        Assert.Equal(HttpStatusCode.NoContent, (await script.PostAsync($"/admin/jobs/jobs/actions/delete/{id}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await script.PostAsync("/admin/jobs/recurring/trigger", Jobs(recurring))).StatusCode);

        Assert.Equal(DeletedState.StateName, StateOf(id));
        Assert.NotNull(LastJobOf(recurring));
    }

    [Fact]
    public async Task AScriptsPagesSetNoAntiforgeryCookie()
    {
        using var script = _app.Admin();
        var page = await script.GetAsync("/admin/jobs");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.False(page.Headers.Contains("Set-Cookie"));
        Assert.DoesNotContain("csrf-token", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AWrongBearerKeyIsStillChallengedAndTheJobUntouched()
    {
        var id = ScheduleIdle();
        using var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "not-the-key");

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync($"/admin/jobs/jobs/actions/delete/{id}", null)).StatusCode);
        Assert.Equal(ScheduledState.StateName, StateOf(id));
    }

    [Fact]
    public async Task TheAdminApiStillAnswersBearerRequests()
    {
        // The scripts' mount of the dashboard must take only the dashboard's paths.
        using var admin = _app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/admin/numbers")).StatusCode);
    }

    [Fact]
    public async Task TheTokensCookieIsTheDashboardsOnly()
    {
        var page = await _app.BasicClient().GetAsync("/admin/jobs");
        var cookie = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("path=/admin/jobs", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A signed-in client holding the antiforgery cookie, or the token, or neither.</summary>
    private async Task<HttpClient> ClientSendingAsync(Sent sent)
    {
        var client = _app.BasicClient();
        if (sent is Sent.CookieOnly or Sent.CookieAndAMadeUpToken) (await client.GetAsync("/admin/jobs")).EnsureSuccessStatusCode();
        if (sent == Sent.CookieAndAMadeUpToken) client.DefaultRequestHeaders.Add("RequestVerificationToken", "CfDJ8-made-up");
        if (sent != Sent.TokenOnly) return client;
        using var other = _app.BasicClient();
        var (header, token) = await other.PageTokenAsync();
        client.DefaultRequestHeaders.Add(header, token);
        return client;
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("needs the antiforgery token of a dashboard page", problem.RootElement.GetProperty("detail").GetString());
    }

    private static FormUrlEncodedContent Jobs(string id) => new([new("jobs[]", id)]);

    private string ScheduleIdle() => _app.Services.GetRequiredService<IBackgroundJobClient>().Schedule<IdleJob>(job => job.Run(), TimeSpan.FromDays(1));

    /// <summary>A recurring job that only runs when triggered.</summary>
    private string AddRecurring()
    {
        var id = $"antiforgery-{Guid.NewGuid():N}";
        _app.Services.GetRequiredService<IRecurringJobManager>().AddOrUpdate<IdleJob>(id, job => job.Run(), Cron.Never());
        return id;
    }

    private string? StateOf(string id)
    {
        using var connection = _app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetStateData(id)?.Name;
    }

    /// <summary>The job a trigger created, if any.</summary>
    private string? LastJobOf(string recurringId)
    {
        using var connection = _app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs([recurringId]).Single().LastJobId;
    }
}
