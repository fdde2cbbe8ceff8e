using System.Net;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Jobs;

public sealed class DashboardTests : IClassFixture<DashboardTests.App>
{
    public sealed class App : IDisposable
    {
        // The production default: Hangfire's own SQLite file beside the channel database (both SQLite stacks in one host).
        public ChannelApp Channel { get; } = new(settings: new() { ["Jobs:Storage"] = "SQLite" });
        public void Dispose() => Channel.Dispose();
    }

    private readonly ChannelApp _app;

    public DashboardTests(App app) => _app = app.Channel;

    [Theory]
    [InlineData("/admin/jobs")]
    [InlineData("/admin/jobs/jobs/enqueued")]
    [InlineData("/admin/jobs/stats")]
    public async Task TheDashboardRefusesAnonymousRequestsAndAsksForTheKey(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("Basic", response.Headers.WwwAuthenticate.ToString());
        Assert.DoesNotContain("Hangfire", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AWrongKeyIsRefusedToo()
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = DashboardClient.Basic("admin", "not-the-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/jobs")).StatusCode);
    }

    [Fact]
    public async Task TheAdminKeyAsBasicPasswordOpensTheDashboard()
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = DashboardClient.Basic("anyone", ChannelApp.AdminKey);
        var response = await client.GetAsync("/admin/jobs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("TwilioChannel jobs", await response.Content.ReadAsStringAsync());
        // Hangfire keeps its jobs in its own SQLite file beside the channel database (both SQLite stacks in one host).
        Assert.True(File.Exists(Path.Combine(_app.DataPath, "hangfire.db")));
        Assert.True(File.Exists(Path.Combine(_app.DataPath, "twilio-channel.db")));
    }
}
