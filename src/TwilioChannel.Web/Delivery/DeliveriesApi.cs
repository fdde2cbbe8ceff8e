using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.Delivery;

/// <summary>
/// Real-time delivery as admins see it: GET /api/admin/deliveries (per org: import on/off and why, how far Desk has the
/// feed, backlog, backoff, park reason, API calls today, what else holds the backlog back, and who holds the lease);
/// POST /api/admin/deliveries/{orgId}/resume (after reinstalling, or to retry now); GET /api/admin/dead-letters and
/// POST /api/admin/dead-letters/{id}/replay (appends the refused thread to the feed again, after whatever was fixed);
/// POST /api/admin/dead-letters/replay[?orgId=] replays every one not replayed yet, oldest first, up to 1,000 a call.
/// </summary>
internal static class DeliveriesApi
{
    public sealed record DeliveryResponse(string OrgId, bool ImportEnabled, string? ImportOffReason, long DeliveredThrough, long ImportedThrough, long Backlog,
        string? ParkedReason, DateTime? ParkedAt, int Failures, DateTime? NextAttemptAt, string? LastError, DateTime? LastDeliveredAt,
        int CallsToday, int DailyApiCallBudget, int DeadLetters, string? WaitingReason, string? LeaseOwner, DateTime? LeaseUntil);

    public sealed record DeadLetterResponse(long Id, string OrgId, string ExtId, long Position, int StatusCode, string Reason, DateTime CreatedAt, DateTime? ReplayedAt);

    /// <summary>What a bulk replay did, and what it left for the next call (it takes at most <see cref="MaxReplay"/>).</summary>
    public sealed record ReplayAllResponse(int Replayed, int Remaining);

    private const int MaxReplay = 1000;

    public static RouteGroupBuilder MapDeliveries(this RouteGroupBuilder admin)
    {
        admin.MapGet("/deliveries", ListAsync);
        admin.MapPost("/deliveries/{orgId}/resume", ResumeAsync);
        admin.MapGet("/dead-letters", DeadLettersAsync);
        admin.MapPost("/dead-letters/{id:long}/replay", ReplayAsync);
        admin.MapPost("/dead-letters/replay", ReplayAllAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(ChannelDbContext db, DeliveryStore store, IOptions<DeskOptions> desk, DeliveryInstance instance,
        TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var installations = await db.Installations.AsNoTracking().OrderBy(i => i.OrgId).ToListAsync(ct);
        var cursors = await db.DeliveryCursors.AsNoTracking().ToDictionaryAsync(c => c.OrgId, ct);
        var today = store.Today;
        var result = new List<DeliveryResponse>();
        foreach (var i in installations)
        {
            var cursor = cursors.GetValueOrDefault(i.OrgId);
            var position = cursor?.Position ?? 0;
            var backlog = await db.FeedThreads.CountAsync(t => t.OrgId == i.OrgId && t.Position > position, ct);
            var deadLetters = await db.DeadLetters.CountAsync(d => d.OrgId == i.OrgId && d.ReplayedAt == null, ct);
            var off = !i.Enabled ? "The org uninstalled the extension."
                : string.IsNullOrEmpty(desk.Value.ExtensionSecret) ? "Desk:ExtensionSecret is not configured."
                : i.SecurityContextProtected is null ? "No securityContext for this org yet."
                : string.IsNullOrEmpty(i.ConnectionLinkName) ? "No connectionLinkName for this org."
                : null;
            var waiting = off is null && cursor is { ParkedReason: null } ? WaitingReason(cursor, desk.Value.DailyApiCallBudget, today, now, instance.Id) : null;
            result.Add(new DeliveryResponse(i.OrgId, off is null, off, position, cursor?.ImportedThrough ?? 0, backlog, cursor?.ParkedReason, cursor?.ParkedAt,
                cursor?.Failures ?? 0, cursor?.NextAttemptAt, cursor?.LastError, cursor?.LastDeliveredAt,
                cursor?.BudgetDay == today ? cursor.CallsToday : 0, desk.Value.DailyApiCallBudget, deadLetters,
                waiting, cursor?.LeaseOwner, cursor?.LeaseUntil));
        }
        return TypedResults.Ok(result);
    }

    /// <summary>
    /// Why an org whose import is on and not parked still doesn't import: neither is an error (lastError stays null), so
    /// without this an admin sees a backlog that doesn't move and no reason. Backoffs show in failures and nextAttemptAt.
    /// </summary>
    private static string? WaitingReason(DeliveryCursor cursor, int budget, string today, DateTime now, string self)
    {
        if (cursor.BudgetDay == today && cursor.CallsToday >= budget)
            return $"The daily budget of {budget} Desk API calls (Desk:DailyApiCallBudget) is spent: import resumes at midnight UTC " +
                   $"({now.Date.AddDays(1):yyyy-MM-dd HH:mm} UTC) and Desk's pull serves the backlog until then.";
        if (cursor.LeaseOwner is { } owner && owner != self && cursor.LeaseUntil is { } until && until > now)
            return $"Another instance ({owner}) holds this org's delivery lease until {until:yyyy-MM-dd HH:mm:ss} UTC and delivers it. " +
                   "If that instance is gone (a crash), an instance takes over when the lease expires.";
        return null;
    }

    private static async Task<IResult> ResumeAsync(string orgId, DeliveryStore store, DeskDelivery delivery)
    {
        if (orgId.Length > 64 || !await store.ResumeAsync(orgId))
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No delivery state for this org.");
        delivery.Wake(orgId);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DeadLettersAsync(ChannelDbContext db, string? orgId, bool? replayed, CancellationToken ct)
    {
        var query = db.DeadLetters.AsNoTracking();
        if (!string.IsNullOrEmpty(orgId)) query = query.Where(d => d.OrgId == orgId);
        if (replayed is { } r) query = r ? query.Where(d => d.ReplayedAt != null) : query.Where(d => d.ReplayedAt == null);
        var rows = await query.OrderBy(d => d.Id).Take(1000)
            .Select(d => new DeadLetterResponse(d.Id, d.OrgId, d.ExtId, d.Position, d.StatusCode, d.Reason, d.CreatedAt, d.ReplayedAt))
            .ToListAsync(ct);
        return TypedResults.Ok(rows);
    }

    private static async Task<IResult> ReplayAsync(long id, ChannelDbContext db, GroupCommit commits, FeedWakeup feed, TimeProvider time, CancellationToken ct)
    {
        var letter = await db.DeadLetters.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, ct);
        if (letter is null) return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such dead letter.");
        var thread = await db.FeedThreads.AsNoTracking().SingleAsync(t => t.Id == letter.FeedThreadId, ct);

        var replayed = await commits.RunAsync((connection, tx) => ClaimAndAppendAsync(connection, tx, id, thread, time.GetUtcNow().UtcDateTime), ct);
        if (!replayed) return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "This dead letter was already replayed.");
        feed.Notify();
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>Every dead letter not replayed yet (of one org, or all), oldest first so the threads reach Desk in their
    /// original order; at most <see cref="MaxReplay"/> a call, in group-commit pieces of 100. One a concurrent replay
    /// took first is skipped, not counted.</summary>
    private static async Task<IResult> ReplayAllAsync(string? orgId, ChannelDbContext db, GroupCommit commits, FeedWakeup feed, TimeProvider time, CancellationToken ct)
    {
        if (orgId is { Length: > 64 }) return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "orgId is at most 64 characters.");
        var waiting = db.DeadLetters.AsNoTracking().Where(d => d.ReplayedAt == null);
        if (!string.IsNullOrEmpty(orgId)) waiting = waiting.Where(d => d.OrgId == orgId);
        var letters = await waiting.OrderBy(d => d.Id).Take(MaxReplay).Select(d => new { d.Id, d.FeedThreadId }).ToListAsync(ct);
        var threadIds = letters.Select(l => l.FeedThreadId).ToList();
        var threads = await db.FeedThreads.AsNoTracking().Where(t => threadIds.Contains(t.Id)).ToDictionaryAsync(t => t.Id, ct);

        var replayed = 0;
        foreach (var piece in letters.Chunk(100))
        {
            replayed += await commits.RunAsync(async (connection, tx) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                var count = 0;
                foreach (var letter in piece)
                    if (await ClaimAndAppendAsync(connection, tx, letter.Id, threads[letter.FeedThreadId], now)) count++;
                return count;
            }, ct);
        }
        if (replayed > 0) feed.Notify();
        return TypedResults.Ok(new ReplayAllResponse(replayed, await waiting.CountAsync(ct)));
    }

    /// <summary>Claims the dead letter first, so two concurrent replays append its thread once; false if already taken.</summary>
    private static async Task<bool> ClaimAndAppendAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, long id, FeedThread thread, DateTime now)
    {
        await using var claim = await PreparedCommand.CreateAsync(connection, tx,
            """UPDATE "DeadLetters" SET "ReplayedAt" = @p1 WHERE "Id" = @p0 AND "ReplayedAt" IS NULL""", 2, CancellationToken.None);
        if (await claim.ExecuteAsync(CancellationToken.None, id, now) == 0) return false;
        await FeedAppender.AppendAsync(connection, tx,
            [new FeedAppend(thread.OrgId, thread.ConversationId, thread.MessageId, thread.ExtId, thread.Part, thread.MediaCount, thread.ThreadJson)],
            CancellationToken.None);
        return true;
    }
}
