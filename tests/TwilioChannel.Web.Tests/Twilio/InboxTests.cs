using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// The ack path's inbox (Twilio/InboundInbox): a webhook is answered once it is durably in the inbox, a file of its
/// own, and the projector then stores it in the database. Nothing acknowledged is ever lost between the two.
/// </summary>
public sealed class InboxTests
{
    [Fact]
    public async Task AWebhookIsAnsweredWhileTheDatabaseIsBusyAndTheAdminListWaitsForIt()
    {
        using var app = new ChannelApp();
        await app.SeedAsync();
        var gate = app.Services.GetRequiredService<WriteGate>();

        // Whoever holds the database's write lock (a long routing batch, a backfill) doesn't hold up webhooks.
        var held = await gate.EnterAsync(CancellationToken.None);
        using (var response = await app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), waitStored: false).WaitAsync(TimeSpan.FromSeconds(10)))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // An answered webhook is listed: the list waits for it to reach the database.
        var list = app.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages");
        await Task.Delay(300);
        Assert.False(list.IsCompleted, "listed before the acknowledged message was in the database");

        held.Dispose();
        var messages = await list.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Fixtures.Form("whatsapp-text.form")["MessageSid"], Assert.Single(messages!).GetProperty("messageSid").GetString());
    }

    [Fact]
    public async Task WebhooksLeftInTheInboxByACrashAreStoredOnceOnTheNextStart()
    {
        var stored = Fixtures.WhatsApp("stored before the crash");
        var notYet = Fixtures.WhatsApp("still in the inbox at the crash");
        string dataPath;
        using (var before = new ChannelApp())
        {
            dataPath = before.DataPath;
            await before.SeedAsync();
            (await before.PostInboundAsync(stored)).EnsureSuccessStatusCode();
        }

        // As a crash would leave them: one entry whose message the database already has (crash before the purge), one
        // it doesn't have yet (crash before the projector's commit).
        InboxRows.Append(dataPath, stored);
        InboxRows.Append(dataPath, notYet);

        using var after = new ChannelApp(dataPath);
        // The list waits for what the previous run acknowledged, too.
        var messages = await after.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages");
        Assert.Equal([stored["MessageSid"], notYet["MessageSid"]], messages!.Select(m => m.GetProperty("messageSid").GetString()));

        using var pull = await after.PullAsync();
        var threads = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("content").GetString());
        Assert.Equal(["stored before the crash", "still in the inbox at the crash"], threads);
        await Eventually.UntilAsync(() => InboxRows.Count(dataPath) == 0, "the inbox emptied");
    }
}
