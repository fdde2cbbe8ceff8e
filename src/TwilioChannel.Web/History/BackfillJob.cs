using Hangfire;
using Microsoft.EntityFrameworkCore;
using Twilio.Rest.Api.V2010.Account;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Replies;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.History;

/// <summary>
/// Backfills one number's history (POST /api/admin/numbers/{id}/backfill). Reentrant: everything it needs to go on is
/// in the Backfill row, and each page's messages are stored in the same transaction that moves the row to the next
/// page, conditioned on the page it read — so a retry, a restart or a second runner resumes exactly there and never
/// stores a page twice. Memory stays flat: one page at a time, and the release reads held messages in chunks.
///
/// Phase 0 lists messages to the number (customers writing), phase 1 messages from it (what was sent to them). Twilio
/// lists newest first and filters by whole days, so each page is filtered to Since, and a phase ends at the first page
/// that reaches before it. Stored messages are held, then routed oldest first, so Desk gets the history in time order.
/// </summary>
internal sealed class BackfillJob(IServiceScopeFactory scopes, TwilioApiClients clients, GroupCommit commits, HeldRelease release,
    HistoryScheduler scheduler, Twilio.InboundProjector projector, TimeProvider time, ILogger<BackfillJob> logger)
{
    internal const int ReleaseChunk = 500;

    /// <summary>How recent a page's customer messages must be for one of them to be still waiting in the inbox.</summary>
    private static readonly TimeSpan InboxHorizon = TimeSpan.FromHours(1);
    private static readonly TimeSpan CatchUpBound = TimeSpan.FromSeconds(30);

    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [5, 15, 30, 60, 120, 300, 600, 900], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [Queue("backfill")]
    // One runner per backfill: after a restart the interrupted job (requeued by Hangfire) and the scheduler's new one
    // would both fetch every page from Twilio (harmless for the data, not for the API). Hangfire's distributed lock
    // (per backfill id, across instances) makes the second wait, then find the backfill done; after 60 s it retries.
    // The resource names the id: without one, Hangfire keys the lock by the method alone, and every backfill (any
    // number) waited for the one running, failing and retrying until it was marked failed behind a long history.
    [DisableConcurrentExecution("backfill:{0}", 60)]
    public async Task RunAsync(long backfillId, CancellationToken ct)
    {
        try
        {
            await RunCoreAsync(backfillId, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not TwilioTransientException)
        {
            // Twilio's message alone ("Authenticate") was the whole error: no status, no code, nothing to act on.
            var error = ex is global::Twilio.Exceptions.ApiException api
                ? $"Twilio refused the request (HTTP {api.Status}{(api.Code != 0 ? $", error {api.Code}" : "")}): {api.Message}"
                : ex.Message;
            await SetAsync(backfillId, """UPDATE "Backfills" SET "State" = @p1, "Error" = @p2, "UpdatedAt" = @p3 WHERE "Id" = @p0 AND "State" < 3""",
                (int)BackfillState.Failed, error, Now);
            logger.LogError(ex, "Backfill {BackfillId} failed.", backfillId);
            scheduler.WakeForBackfills(); // to route what it had stored
        }
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private async Task RunCoreAsync(long backfillId, CancellationToken ct)
    {
        var backfill = await LoadAsync(backfillId, ct);
        if (backfill is null || backfill.State >= BackfillState.Completed) return;
        if (backfill.CancelRequested) { await CancelledAsync(backfillId); return; }
        var client = await clients.ForAccountAsync(backfill.AccountSid, ct)
                     ?? throw new InvalidOperationException($"Twilio account {backfill.AccountSid} is not configured any more.");

        if (backfill.State <= BackfillState.Listing)
        {
            await SetAsync(backfillId, """UPDATE "Backfills" SET "State" = @p1, "UpdatedAt" = @p2 WHERE "Id" = @p0 AND "State" = 0""", (int)BackfillState.Listing, Now);
            // The next page is fetched while the current one is stored (network and parsing overlap the database);
            // at most one page ahead, so memory stays at two pages whatever the history's length.
            (string Url, Task<HistoryPage> Page)? ahead = null;
            while (backfill.Phase < 2)
            {
                var url = backfill.NextPageUrl ?? TwilioHistory.FirstPageUrl(backfill.AccountSid,
                    to: backfill.Phase == 0 ? backfill.Address : null, from: backfill.Phase == 1 ? backfill.Address : null, backfill.Since);
                var page = ahead is { } next && next.Url == url ? await next.Page : await TwilioHistory.FetchAsync(client, url, ct);
                ahead = null;
                if (page.NextPageUrl is { } following && page.Messages.All(m => HistoryMessages.SentAt(m) >= backfill.Since))
                    ahead = (following, TwilioHistory.FetchAsync(client, following, ct));
                var inRange = page.Messages.Where(m => HistoryMessages.SentAt(m) >= backfill.Since).ToList();
                var reachedBefore = page.Messages.Any(m => HistoryMessages.SentAt(m) < backfill.Since);
                var known = await OurRepliesAsync(inRange.Where(m => !HistoryMessages.IsInbound(m)).ToList(), ct);
                var messages = new List<Message>(inRange.Count);
                foreach (var m in inRange.Where(m => !known.Contains(m.Sid)))
                    messages.Add(await HistoryMessages.ToMessageAsync(m, client, MessageState.Held, backfillId));

                // A customer's message our webhook acknowledged may still wait in the inbox (a burst's wait,
                // Twilio/InboundProjector): stored first from Twilio's list, it would lose what only the webhook carries
                // (a WhatsApp location, the profile name) to the webhook's copy arriving second. Only recent pages can
                // hold one; if the projection can't catch up now, the job retries this page later.
                if (messages.Any(m => m.Direction == "in" && m.ReceivedAt > Now - InboxHorizon) && !await projector.CaughtUpAsync(CatchUpBound, ct))
                    throw new TwilioTransientException("Acknowledged webhooks are still being moved into the database; the backfill goes on shortly.");

                var phaseDone = page.NextPageUrl is null || reachedBefore;
                var oldest = inRange.Count > 0 ? inRange.Min(HistoryMessages.SentAt) : (DateTime?)null;
                var advanced = true;
                try
                {
                    await commits.RunAsync(async (connection, tx) =>
                {
                    // Conditioned on the page we read: a concurrent runner that got here first makes this a no-op.
                    await using var move = await PreparedCommand.CreateAsync(connection, tx, """
                        UPDATE "Backfills" SET "Phase" = @p3, "NextPageUrl" = @p4, "PagesFetched" = "PagesFetched" + 1,
                            "MessagesFetched" = "MessagesFetched" + @p5, "ReachedDate" = COALESCE(@p6, "ReachedDate"), "UpdatedAt" = @p7,
                            "MessagesStored" = "MessagesStored" + @p8
                        WHERE "Id" = @p0 AND "Phase" = @p1 AND COALESCE("NextPageUrl", '') = @p2 AND "State" = 1
                        """, 9, CancellationToken.None);
                    var stored = await HistoryMessages.StoreAsync(connection, tx, messages, CancellationToken.None);
                    var moved = await move.ExecuteAsync(CancellationToken.None, backfillId, backfill.Phase, backfill.NextPageUrl ?? "",
                        phaseDone ? backfill.Phase + 1 : backfill.Phase, phaseDone ? null : page.NextPageUrl, page.Messages.Count, oldest, Now, stored);
                    // Rolls this page's inserts back (the group commit's savepoint): the other runner stored them.
                    if (moved == 0) throw new BackfillMovedOnException();
                    return true;
                }, CancellationToken.None);
                }
                catch (BackfillMovedOnException)
                {
                    advanced = false;
                }

                backfill = await LoadAsync(backfillId, ct) ?? throw new InvalidOperationException("The backfill was deleted.");
                if (backfill.CancelRequested) { await CancelledAsync(backfillId); return; }
                if (!advanced && backfill.State != BackfillState.Listing) return;
            }
            await SetAsync(backfillId, """UPDATE "Backfills" SET "State" = @p1, "UpdatedAt" = @p2 WHERE "Id" = @p0 AND "State" = 1""", (int)BackfillState.Releasing, Now);
            logger.LogInformation("Backfill {BackfillId} listed {Pages} pages, {Stored} new messages; routing them oldest first.", backfillId, backfill.PagesFetched, backfill.MessagesStored);
        }

        // Release: route the held messages in original time order, a chunk at a time.
        if (!await release.RouteAsync(backfillId, async () => (await LoadAsync(backfillId, ct))?.CancelRequested == true, ct))
        {
            await CancelledAsync(backfillId);
            return;
        }
        await SetAsync(backfillId, """UPDATE "Backfills" SET "State" = @p1, "CompletedAt" = @p2, "UpdatedAt" = @p2 WHERE "Id" = @p0 AND "State" = 2""", (int)BackfillState.Completed, Now);
        logger.LogInformation("Backfill {BackfillId} completed.", backfillId);
    }

    /// <summary>The backfill's next held messages in original time order (served by IX_Messages_BackfillId_State_ReceivedAt).</summary>
    internal static IQueryable<PendingMessage> HeldChunk(ChannelDbContext db, long backfillId) =>
        Held(db.Messages.AsNoTracking().Where(m => m.BackfillId == backfillId)).Take(ReleaseChunk);

    /// <summary>Those of <paramref name="messages"/> still held, oldest first, as the router takes them.</summary>
    internal static IQueryable<PendingMessage> Held(IQueryable<Message> messages) => messages
        .Where(m => m.State == MessageState.Held)
        .OrderBy(m => m.ReceivedAt).ThenBy(m => m.Id)
        .Select(m => new PendingMessage(m.Id, m.AccountSid, m.From, m.To, m.MessagingServiceSid, m.ReceivedAt, m.RawForm, null, m.Direction));

    private async Task<Backfill?> LoadAsync(long id, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Backfills.AsNoTracking().SingleOrDefaultAsync(b => b.Id == id, ct);
    }

    /// <summary>How far a reply's finish may lie from the time Twilio created its message: clocks differ by seconds, and a
    /// reply resumed after a crash finishes when Desk pushes it again, with its messages created before.</summary>
    private static readonly TimeSpan ReplySpan = TimeSpan.FromDays(1);

    /// <summary>Outbound messages that are our own replies: Desk already has them as the agents' threads. Their SIDs are
    /// in a status row once a callback reported them, and always on the reply, found by when it finished.</summary>
    private async Task<HashSet<string>> OurRepliesAsync(List<MessageResource> outbound, CancellationToken ct)
    {
        if (outbound.Count == 0) return [];
        var sids = outbound.Select(m => m.Sid).ToHashSet(StringComparer.Ordinal);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var ours = await SentReplies.ClaimedAsync(db, sids, ct);
        var created = outbound.Select(m => DateTime.SpecifyKind((m.DateCreated ?? HistoryMessages.SentAt(m)).ToUniversalTime(), DateTimeKind.Utc)).ToList();
        var replies = SentReplies.Between(db, created.Min() - TimeSpan.FromHours(1), created.Max() + ReplySpan).Columns().AsAsyncEnumerable();
        await foreach (var reply in replies.WithCancellation(ct))
            ours.UnionWith(reply.SidList().Where(sids.Contains));
        return ours;
    }

    /// <summary>Stops listing where it is. What it already stored is routed by the scheduler's next sweep
    /// (History/HeldRelease), as a failed backfill's is.</summary>
    private async Task CancelledAsync(long id)
    {
        await SetAsync(id, """UPDATE "Backfills" SET "State" = @p1, "UpdatedAt" = @p2, "CompletedAt" = @p2 WHERE "Id" = @p0 AND "State" < 3""", (int)BackfillState.Cancelled, Now);
        scheduler.WakeForBackfills();
    }

    /// <summary>One statement about backfill <paramref name="id"/> (@p0), the other values from @p1 on.</summary>
    private Task SetAsync(long id, string sql, params object?[] values) => commits.ExecuteAsync(sql, [id, .. values]);
}

/// <summary>The backfill row moved past the page this runner read (cancelled, or another runner was first).</summary>
internal sealed class BackfillMovedOnException() : InvalidOperationException("The backfill moved on elsewhere.");
