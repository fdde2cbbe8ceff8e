using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>Wakes the router right after the ack path commits, and after a number is added.</summary>
public sealed class RouterWakeup : Wakeup;

/// <summary>Wakes whoever delivers the feed (pull needs none; the real-time import loop will).</summary>
public sealed class FeedWakeup : Wakeup;

/// <summary>
/// Turns stored messages into the Desk feed, off the ack path: finds the org by the number the customer wrote to (or
/// its Messaging Service), files the message under the customer's conversation (one ticket per org and address) and
/// appends its thread(s) to the feed with the next positions.
///
/// Why positions stay correct with several writers: each batch first takes the feed counter's row lock
/// (UPDATE … SET Value = Value), hands out positions from it and commits. A second router (another instance) blocks on
/// that lock until the first commits, so positions become visible strictly in increasing order: a reader that has seen
/// position N will never later find a new row below N. That holds on SQLite (one writer) and on PostgreSQL (row lock
/// held to commit), unlike raw sequence values, which commit out of order.
/// </summary>
internal sealed class MessageRouter(
    IServiceScopeFactory scopes,
    WriteGate gate,
    RouterWakeup wakeup,
    FeedWakeup feed,
    IOptions<DeskOptions> desk,
    TimeProvider time,
    ILogger<MessageRouter> logger) : BackgroundService
{
    /// <summary>Small batches keep the write lock short, so acks never wait long behind routing.</summary>
    internal const int BatchSize = 100;

    /// <summary>Safety net for work committed by another instance or left by a crash.</summary>
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await RouteBatchAsync(stoppingToken) > 0) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Routing stored messages failed; retrying shortly.");
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
            await wakeup.WaitAsync(Sweep, stoppingToken);
        }
    }

    /// <summary>Routes one batch; returns how many messages it handled.</summary>
    internal async Task<int> RouteBatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        using var turn = await gate.EnterAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);

        // The lock first: it serialises routers and makes position order equal commit order (see above).
        await db.Database.ExecuteSqlRawAsync("UPDATE \"Counters\" SET \"Value\" = \"Value\" WHERE \"Name\" = {0}", [Counter.Feed], ct);

        var messages = await db.Messages.Where(m => m.State == MessageState.Received).OrderBy(m => m.Id).Take(BatchSize).ToListAsync(ct);
        if (messages.Count == 0) return 0;

        var counter = await db.Counters.SingleAsync(c => c.Name == Counter.Feed, ct);
        var numbers = await NumberLookup.LoadAsync(db, messages, ct);
        var conversations = new ConversationFinder(db);
        var optOuts = new OptOutRecorder(db, time.GetUtcNow().UtcDateTime);
        var threadsAdded = 0;

        foreach (var message in messages)
        {
            var number = numbers.Find(message.To, message.MessagingServiceSid);
            if (number is null)
            {
                message.State = MessageState.Unrouted;
                continue;
            }

            var form = JsonSerializer.Deserialize<Dictionary<string, string>>(message.RawForm) ?? [];
            var inbound = InboundMessage.FromForm(form, message.ReceivedAt, out _)
                ?? throw new InvalidOperationException($"Stored message {message.Id} lacks required fields.");

            await optOuts.ApplyAsync(inbound, form, number, ct);
            var conversation = await conversations.ForAsync(number.OrgId, inbound, desk.Value.NewTicketAfterHours, ct);
            conversation.LastNumberId = number.Id;
            conversation.LastMessageAt = Max(conversation.LastMessageAt, message.ReceivedAt);
            conversation.LastInboundAt = Max(conversation.LastInboundAt ?? DateTime.MinValue, message.ReceivedAt);

            message.OrgId = number.OrgId;
            message.Conversation = conversation;
            message.State = MessageState.Routed;

            var key = new TicketKey(conversation.CustomerAddress, conversation.Generation);
            var threads = InboundMapper.Threads(inbound, key, desk.Value.ThreadContentLimit);
            for (var i = 0; i < threads.Count; i++)
            {
                db.FeedThreads.Add(new FeedThread
                {
                    Position = ++counter.Value,
                    OrgId = number.OrgId,
                    Conversation = conversation,
                    MessageId = message.Id,
                    ExtId = threads[i].ExtId,
                    Part = i + 1,
                    MediaCount = i == 0 ? inbound.Media.Count : 0,
                    ThreadJson = DeskJson.Serialize(threads[i]),
                });
            }
            threadsAdded += threads.Count;
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        if (threadsAdded > 0) feed.Notify();
        logger.LogDebug("Routed {Count} messages into {Threads} threads.", messages.Count, threadsAdded);
        return messages.Count;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;
}
