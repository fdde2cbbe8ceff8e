using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Delivery status per message SID, applied monotonically: callbacks arrive in any order and may come before the send
/// call returned, so every writer (callback or sender) merges into one row and only a higher-ranked status wins;
/// failed/undelivered/canceled are final and keep their error code. The comparison happens inside the UPDATE
/// ("… WHERE Rank &lt; @rank"), so concurrent callbacks (also on several instances) can never move a status back.
/// </summary>
internal sealed class StatusStore(IServiceScopeFactory scopes, TimeProvider time)
{
    public async Task ApplyAsync(string sid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId = null)
    {
        await using var scope = scopes.CreateAsyncScope();
        await ApplyAsync(scope.ServiceProvider.GetRequiredService<ChannelDbContext>(), sid, status, errorCode, orgId, to, from, replyId);
    }

    /// <summary>The same, on the caller's context (and its transaction, if one is open).</summary>
    public async Task ApplyAsync(ChannelDbContext db, string sid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId = null)
    {
        status = status.ToLowerInvariant();
        var rank = DeliveryStatus.Rank(status);
        var reason = DeliveryStatus.IsFinalFailure(status) ? TwilioErrors.Describe(errorCode) : null;
        var now = time.GetUtcNow().UtcDateTime;

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var advanced = await db.OutboundStatuses
                .Where(s => s.MessageSid == sid && s.Rank < rank)
                .ExecuteUpdateAsync(u => u
                    .SetProperty(s => s.Status, status)
                    .SetProperty(s => s.Rank, rank)
                    .SetProperty(s => s.ErrorCode, s => errorCode ?? s.ErrorCode)
                    .SetProperty(s => s.ErrorReason, s => reason ?? s.ErrorReason)
                    .SetProperty(s => s.UpdatedAt, now));
            if (advanced > 0 || await db.OutboundStatuses.AnyAsync(s => s.MessageSid == sid)) break;

            var row = new OutboundStatus { MessageSid = sid, Status = status, Rank = rank, ErrorCode = errorCode, ErrorReason = reason, UpdatedAt = now };
            db.OutboundStatuses.Add(row);
            if (await db.TrySaveUniqueAsync(CancellationToken.None)) break;
            // Another writer created the row first: merge into it.
            db.Entry(row).State = EntityState.Detached;
        }

        await db.OutboundStatuses.Where(s => s.MessageSid == sid).ExecuteUpdateAsync(u => u
            .SetProperty(s => s.ReplyId, s => s.ReplyId ?? replyId)
            .SetProperty(s => s.OrgId, s => s.OrgId ?? orgId)
            .SetProperty(s => s.To, s => s.To ?? to)
            .SetProperty(s => s.From, s => s.From ?? from));
    }
}
