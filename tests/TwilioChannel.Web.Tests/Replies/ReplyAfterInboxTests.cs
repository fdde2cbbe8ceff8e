using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// A reply pushed while the customer's latest message is acknowledged but still in the inbox (here: held there by a
/// burst's wait, Inbound:BurstRate): the reply is decided on the database (the WhatsApp window, the number the customer
/// wrote to), so it waits for that message, and only a reply to that customer does.
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
}
