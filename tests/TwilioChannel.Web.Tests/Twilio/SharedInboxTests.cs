using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// Two service processes on one data folder, as during a rolling restart (the new process starts before the old one
/// stops): they share the inbox file (Twilio/InboxFile). Each projector reads the whole inbox and purges what it has
/// stored, so one can move and drop the webhooks the other acknowledged before that other's projector reads them.
/// </summary>
public sealed class SharedInboxTests
{
    [Fact]
    public async Task WebhooksAnotherProcessMovedIntoTheDatabaseDoNotHoldUpTheAdminListOfTheProcessThatAcknowledgedThem()
    {
        using var first = new ChannelApp(settings: new() { ["Inbound:BurstRate"] = "0" });
        await first.SeedAsync();
        // The second holds its webhooks in the inbox for a while (a burst, at the tests' tiny threshold): that is the
        // moment the first's projector takes them.
        using var second = new ChannelApp(first.DataPath, new() { ["Inbound:BurstRate"] = "5", ["Inbound:BurstMaxDelaySeconds"] = "600" });
        var client = second.CreateClient();
        var sids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var form = Fixtures.Sms($"through the second process, {i}");
            sids.Add(form["MessageSid"]);
            Assert.Equal(HttpStatusCode.OK, (await second.PostInboundAsync(form, client: client, waitStored: false)).StatusCode);
        }

        // The first stores everything in the inbox up to its own webhook, the second's included, and drops it from the inbox.
        var own = Fixtures.Sms("through the first process");
        Assert.Equal(HttpStatusCode.OK, (await first.PostInboundAsync(own)).StatusCode);
        await Eventually.UntilAsync(() => InboxRows.Count(first.DataPath) == 0, "the inbox emptied by the first process");

        // Every webhook the second answered is in the database: its admin list must say so, not wait for entries that
        // are no longer in the inbox (it waited its 30 s and answered 503).
        using var admin = second.Admin();
        admin.Timeout = TimeSpan.FromSeconds(10);
        using var response = await admin.GetAsync("/api/admin/messages?limit=1000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var listed = (await response.Content.ReadFromJsonAsync<JsonElement[]>())!.Select(m => m.GetProperty("messageSid").GetString()!).ToHashSet();
        Assert.Superset(sids.Append(own["MessageSid"]).ToHashSet(), listed);
    }
}
