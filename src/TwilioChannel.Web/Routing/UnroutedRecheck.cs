using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>
/// Closes the race between routing and an admin adding a number. A batch is planned from the number list as this
/// instance last read it (<see cref="NumberDirectory"/>); if a number is added meanwhile (here between its commit and
/// the directory's invalidation, or on another instance, which can't invalidate ours), a message for it can be stored
/// unrouted after the admin's transaction already moved that address's unrouted messages back to the router, and it
/// stayed unrouted until another number was added. So after every commit that left messages unrouted, their addresses
/// are looked up again in a list read from the database after that commit; the messages that now have a number go back
/// to the router.
///
/// Why that is enough, also with several instances on one database: the admin's transaction writes the number, then
/// moves the unrouted messages (NumbersApi repeats that move after its commit); the router commits a message, then reads
/// the numbers. Whichever happens later sees the other's write: a message committed before the admin's move is moved by
/// it, one committed after it is found here. Only batches that stored unrouted messages pay the extra read.
/// </summary>
internal sealed class UnroutedRecheck(IServiceScopeFactory scopes, WriteGate gate, NumberDirectory directory, RouterWakeup wakeup, ILogger<UnroutedRecheck> logger)
{
    /// <summary>Sends back to the router those of <paramref name="unrouted"/> (message ids, just committed unrouted)
    /// whose number is configured now. Never throws: the messages are stored, and listed as unrouted for the admin.</summary>
    public async Task RecheckAsync(IReadOnlyCollection<long> unrouted, CancellationToken ct)
    {
        if (unrouted.Count == 0) return;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            var numbers = await directory.ReloadAsync(db, ct); // after the commit: not the snapshot the batch was planned with
            var stored = await db.Messages.AsNoTracking()
                .Where(m => unrouted.Contains(m.Id) && m.State == MessageState.Unrouted)
                .Select(m => new PendingMessage(m.Id, m.AccountSid, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, "", null, m.Direction, null))
                .ToListAsync(ct);
            var numbered = stored.Where(m => numbers.Find(m) is not null).Select(m => m.Id).ToList();
            if (numbered.Count == 0) return;

            int moved;
            using (await gate.EnterAsync(ct))
            {
                moved = await db.Messages.Where(m => numbered.Contains(m.Id) && m.State == MessageState.Unrouted)
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.State, MessageState.Received), ct);
            }
            if (moved == 0) return;
            logger.LogInformation("{Count} messages were stored unrouted while their number was being added; they go back to the router.", moved);
            wakeup.Notify();
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Checking {Count} unrouted messages against the numbers configured now failed; adding their number again routes them.", unrouted.Count);
        }
    }
}
