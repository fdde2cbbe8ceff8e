using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// Two instances on one database routing messages of one customer at the same moment. The router plans a batch
/// (reading the conversation) before it takes the write lock; another instance's webhook can commit a newer message of
/// that conversation in between. Here a backfill's held history is routed (only the backfill routes held messages, so
/// the other instance's background router can't take them first) while the test holds the first instance's write
/// gate: its router has planned and waits while the second instance stores the newer message.
/// </summary>
public sealed class ConversationRaceTests : TwoInstancesTestsBase
{
    private const string Customer = "+14155550177";

    [Fact]
    public async Task AnOlderMessageRoutedBesideAnotherInstancesNewerOneLeavesTheConversationAtTheNewer()
    {
        Assert.Equal(HttpStatusCode.OK, (await First.PostInboundAsync(Fixtures.Sms("hello", from: Customer))).StatusCode);

        Task<int> routing;
        var gate = First.Services.GetRequiredService<WriteGate>();
        using (await gate.EnterAsync(CancellationToken.None))
        {
            // A message of the customer's history, found by a backfill and held for it.
            var held = await StoreHeldAsync(Fixtures.Sms("from this morning, backfilled", from: Customer), DateTime.UtcNow.AddHours(-3));
            // Plans from the conversation as it is now, then waits for the gate.
            routing = First.Services.GetRequiredService<MessageRouter>().RouteHeldAsync([held], CancellationToken.None);
            await Task.Delay(1000);
            // Meanwhile the customer writes again, through the other instance.
            Assert.Equal(HttpStatusCode.OK, (await Second.PostInboundAsync(Fixtures.Sms("latest", from: Customer))).StatusCode);
        }
        Assert.Equal(1, await routing);

        await using var scope = First.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var messages = await db.Messages.AsNoTracking().Where(m => m.From == Customer).ToListAsync();
        Assert.All(messages, m => Assert.Equal(MessageState.Routed, m.State));
        var latest = messages.Max(m => m.ReceivedAt);
        var conversation = await db.Conversations.AsNoTracking().SingleAsync(c => c.CustomerAddress == Customer);
        // The WhatsApp window and Desk:NewTicketAfterHours count from these: the router's plan, made before the newer
        // message, must not put them back to the time of "hello".
        Assert.Equal(latest, conversation.LastInboundAt);
        Assert.True(conversation.LastMessageAt >= latest, $"LastMessageAt {conversation.LastMessageAt:O} is before the latest message {latest:O}");
    }

    private async Task<PendingMessage> StoreHeldAsync(Dictionary<string, string> form, DateTime receivedAt)
    {
        await using var scope = First.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var message = new Message
        {
            MessageSid = form["MessageSid"], AccountSid = form["AccountSid"], From = form["From"], To = form["To"], Body = form["Body"],
            Direction = "in", State = MessageState.Held, ReceivedAt = receivedAt, RawForm = JsonSerializer.Serialize(form),
        };
        db.Messages.Add(message);
        await db.SaveChangesAsync();
        return new PendingMessage(message.Id, message.AccountSid, message.From, message.To, null, receivedAt, message.RawForm);
    }
}
