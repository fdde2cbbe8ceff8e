using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// A reply pushed while the customer's latest message is acknowledged but still in the inbox (held there by a burst's
/// wait, Inbound:BurstRate, or left there by a crash): the reply is decided on the database (the WhatsApp window, the
/// number the customer wrote to), so it waits for that message, and during a burst only a reply to that customer does.
/// </summary>
public sealed class ReplyAfterInboxTests() : ReplyTestsBase(new() { ["Inbound:BurstRate"] = "5", ["Inbound:BurstMaxDelaySeconds"] = "600" })
{
    [Fact]
    public async Task AReplyToAFirstWhatsAppMessageStillInTheInboxGoesOutWithinTheWindowItOpened()
    {
        _twilio.AcceptMessages();
        var client = _app.CreateClient();
        await using (await InboundBurst.StartAsync(_app, client))
        {
            using (var webhook = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), client: client, waitStored: false))
                Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);

            // Read before that message was stored, the customer had no window and the reply failed with 63016.
            var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Thanks Ana, looking into it now"));

            Assert.Equal(200, status);
            var sent = Assert.Single(_twilio.Sent);
            Assert.Equal(Ana, sent["To"]);
            Assert.Equal(Fixtures.WhatsAppNumber, sent["From"]);
            Assert.StartsWith("SM", (string?)body["extId"]);
        }

        // Every customer the projection has passed is forgotten: the record doesn't grow with the customers who wrote.
        await _app.StoredAsync();
        var unprojected = _app.Services.GetRequiredService<UnprojectedCustomers>();
        await Eventually.UntilAsync(() => unprojected.Count == 0, "no customer left waiting", seen: () => $"{unprojected.Count} left");
    }

    [Fact]
    public async Task AReplyToACustomerWithNothingInTheInboxLeavesTheBurstWaiting()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Sms("Where is my order?", from: Bob));
        var client = _app.CreateClient();
        await using var burst = await InboundBurst.StartAsync(_app, client);

        var before = _app.Logs.Lines.Count;
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "It ships today"))).Status);

        Assert.Single(_twilio.Sent);
        Assert.DoesNotContain(_app.Logs.Lines.Skip(before), l => l.Contains("needs every acknowledged webhook"));
        var (projected, acknowledged) = (_app.Services.GetRequiredService<InboundProjector>().Projected, _app.Services.GetRequiredService<InboundInbox>().Acknowledged);
        Assert.True(projected < acknowledged, $"the burst's webhooks were moved: {projected} of {acknowledged} ({burst.Sent} posted)");
    }

    [Fact]
    public async Task AReplyAfterARestartWaitsForTheCustomersMessageTheCrashLeftInTheInbox()
    {
        // The record of customers waiting in the inbox is the process's own: what a crash left there was answered by
        // the process before, so a reply right after the start went by the database without it (no window: 63016).
        string dataPath;
        using (var before = new ChannelApp())
        {
            dataPath = before.DataPath;
            await before.SeedAsync();
        }
        // Ana's first message last, behind 5,000 others: the projection of what the crash left takes a while.
        var others = Enumerable.Range(0, 5_000).Select(i => Fixtures.Sms($"message {i}", from: $"+1415556{i:0000}"));
        InboxRows.AppendAll(dataPath, others.Append(Fixtures.Form("whatsapp-text.form")));
        _twilio.AcceptMessages();
        using var after = new ChannelApp(dataPath, new() { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:PushTimeoutSeconds"] = "10" });

        var (status, body) = await after.PushAsync(ReplyApp.Push(Ana, "Thanks Ana, looking into it now"));

        Assert.Equal(200, status);
        Assert.StartsWith("SM", (string?)body["extId"]);
        Assert.Equal(Fixtures.WhatsAppNumber, Assert.Single(_twilio.Sent)["From"]);
    }
}
