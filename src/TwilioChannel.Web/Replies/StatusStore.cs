using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Delivery status per message SID, applied monotonically: callbacks arrive in any order and may come before the send
/// call returned, so every writer (callback or sender) merges into one row and only a higher-ranked status wins;
/// failed/undelivered/canceled are final and keep their error code.
/// </summary>
internal sealed class StatusStore(IServiceScopeFactory scopes, TimeProvider time)
{
    public async Task ApplyAsync(string sid, string status, int? errorCode, string? orgId, string? to, string? from, long? replyId = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            var row = await db.OutboundStatuses.FirstOrDefaultAsync(s => s.MessageSid == sid);
            if (row is null)
            {
                row = new OutboundStatus { MessageSid = sid, Status = "unknown" };
                db.OutboundStatuses.Add(row);
            }
            if (DeliveryStatus.Advances(row.Status, status))
            {
                row.Status = status.ToLowerInvariant();
                if (errorCode is not null) row.ErrorCode = errorCode;
                if (DeliveryStatus.IsFinalFailure(status)) row.ErrorReason = TwilioErrors.Describe(errorCode);
                row.UpdatedAt = time.GetUtcNow().UtcDateTime;
            }
            row.ReplyId ??= replyId;
            row.OrgId ??= orgId;
            row.To ??= to;
            row.From ??= from;
            // Two writers inserting the same new SID at once: the loser reads the winner's row and merges again.
            if (await db.TrySaveUniqueAsync(CancellationToken.None) || attempt >= 2) return;
        }
    }
}
