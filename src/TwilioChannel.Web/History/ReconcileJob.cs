using Hangfire;
using Microsoft.EntityFrameworkCore;
using Twilio.Rest.Api.V2010.Account;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Replies;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.History;

/// <summary>
/// Recurring per number ("reconcile-number-{id}"): Twilio does not retry a webhook that failed, so while we were down
/// or unreachable customers' messages reached Twilio and not us. This lists what Twilio received for the number since
/// the watermark (minus an overlap, for messages whose DateSent lands late) and stores what we lack, oldest first, for
/// the router. A number in a Messaging Service also covers the service's other senders that aren't configured
/// themselves (History/MessagingServicePool): the webhook routes their messages by the service, so they were received
/// for this org too. It also asks Twilio for the status of recent replies whose callbacks never came.
/// </summary>
internal sealed class ReconcileJob(IServiceScopeFactory scopes, TwilioApiClients clients, GroupCommit commits, StatusStore statuses,
    RouterWakeup router, InboundProjector projector, StatusRefreshRotation rotation, TimeProvider time, ILogger<ReconcileJob> logger)
{
    internal static readonly TimeSpan Overlap = TimeSpan.FromMinutes(15);
    private const int MaxPages = 50;
    private const int MaxStatusRefresh = 100;
    /// <summary>How long a run waits for acknowledged webhooks to reach the database before it skips recovering
    /// (settable for tests).</summary>
    internal TimeSpan CatchUpBound { get; set; } = TimeSpan.FromSeconds(30);

    [AutomaticRetry(Attempts = 0)] // the next run covers the same window again (watermark only moves on success)
    // One run per number at a time (a slow run outlasting the interval, or two instances' workers). Per number: keyed by
    // the method alone, every number's run waited for any other's, each holding one of the two workers while it waited.
    [DisableConcurrentExecution("reconcile-number:{0}", 600)]
    [Queue("reconcile")]
    public async Task RunAsync(long numberId, CancellationToken ct)
    {
        ChannelNumber? number;
        await using (var scope = scopes.CreateAsyncScope())
            number = await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Numbers.AsNoTracking().SingleOrDefaultAsync(n => n.Id == numberId, ct);
        if (number is null) return; // removed: ReconcileSchedule drops its recurring job
        var client = await clients.ForAccountAsync(number.AccountSid, ct);
        if (client is null) return;

        var started = time.GetUtcNow().UtcDateTime;
        var since = (number.ReconciledThrough ?? number.CreatedAt) - Overlap;
        var recovered = 0;
        var checkedWhole = true;
        var unlisted = new List<string>();
        foreach (var address in await MessagingServicePool.AddressesAsync(number, client, scopes, logger, ct))
        {
            try
            {
                var (added, complete) = await RecoverInboundAsync(number, address, client, since, ct);
                recovered += added;
                checkedWhole &= complete;
            }
            catch (global::Twilio.Exceptions.ApiException ex) when (ex.Status == 404)
            {
                // Twilio has no list for it (a number released at Twilio, a closed account). Not a failed run: every run
                // would fail the same way until someone acts, so the admin hears it once (ListNotFoundAsync). Unchecked,
                // the window stays for the run after it lists again.
                unlisted.Add(address);
                checkedWhole = false;
            }
        }
        await ListNotFoundAsync(number, unlisted, started);
        var refreshed = await RefreshStatusesAsync(number, client, started, ct);

        // Only a window checked whole moves the watermark: after a skipped recovery the next run's window starts where
        // this one did, whatever the interval (with an interval above the overlap, moving it lost that span for good).
        if (checkedWhole)
            await commits.ExecuteAsync("""UPDATE "Numbers" SET "ReconciledThrough" = @p1 WHERE "Id" = @p0""", numberId, started);
        if (recovered > 0)
        {
            logger.LogWarning("Reconciliation recovered {Count} messages to {Number} (or its Messaging Service's other senders) that never reached our webhook.", recovered, number.Address);
            router.Notify();
        }
        if (refreshed > 0) logger.LogInformation("Reconciliation refreshed {Count} reply statuses for {Number}.", refreshed, number.Address);
    }

    /// <summary>
    /// A Warning when Twilio's list starts answering 404 for the number (or its pool's senders), Debug on the runs after
    /// it while it lasts, and an Information line when it lists again. The state is the number's ListNotFoundSince
    /// column, changed by conditional updates: whichever instance runs the job (or after a restart), the warning comes
    /// once per episode. An in-memory note would warn again from every instance and after each restart, and one
    /// instance's stale note could keep a later episode's warning back.
    /// </summary>
    private async Task ListNotFoundAsync(ChannelNumber number, List<string> unlisted, DateTime now)
    {
        if (unlisted.Count > 0)
        {
            var began = await commits.ExecuteAsync("""UPDATE "Numbers" SET "ListNotFoundSince" = @p1 WHERE "Id" = @p0 AND "ListNotFoundSince" IS NULL""", number.Id, now);
            var level = began == 1 ? LogLevel.Warning : LogLevel.Debug;
            logger.Log(level, "Reconciliation of {Number}: Twilio answers 404 (not found) to the message list of {Addresses} since {Since:u}, so messages that never reached our webhook can't be recovered. Check the number (and its Messaging Service's senders) in the Twilio console, or delete it here if it was released.",
                number.Address, string.Join(", ", unlisted), began == 1 ? now : number.ListNotFoundSince ?? now);
        }
        else if (number.ListNotFoundSince is { } since
                 && await commits.ExecuteAsync("""UPDATE "Numbers" SET "ListNotFoundSince" = NULL WHERE "Id" = @p0 AND "ListNotFoundSince" IS NOT NULL""", number.Id) == 1)
            logger.LogInformation("Reconciliation of {Number}: Twilio lists its messages again (it answered 404 since {Since:u}).", number.Address, since);
    }

    /// <summary>Stores inbound messages we lack. The window is short (interval + overlap), so it is read whole and
    /// stored oldest first: stored order is the feed's order per ticket. Complete is false when the window could not be
    /// checked this time (the next run covers it again).</summary>
    private async Task<(int Added, bool Complete)> RecoverInboundAsync(ChannelNumber number, string address, global::Twilio.Clients.ITwilioRestClient client, DateTime since, CancellationToken ct)
    {
        var found = new List<MessageResource>();
        string? url = TwilioHistory.FirstPageUrl(number.AccountSid, to: address, from: null, since);
        for (var pages = 0; url is not null && pages < MaxPages; pages++)
        {
            var page = await TwilioHistory.FetchAsync(client, url, ct);
            found.AddRange(page.Messages.Where(m => HistoryMessages.IsInbound(m) && HistoryMessages.SentAt(m) >= since));
            url = page.Messages.Any(m => HistoryMessages.SentAt(m) < since) ? null : page.NextPageUrl;
        }
        if (url is not null)
            // Twilio lists newest first: the oldest part of the window was not read. It stays unread (a run is bounded),
            // so the admin hears which span to backfill; the watermark still moves, or every later run would read the
            // same newest pages again.
            logger.LogWarning("Reconciliation of {Address} read the newest {Pages} pages of Twilio's list only; messages sent between {Since:u} and {Oldest:u} were not checked. Start a backfill of the number from {Since:u} to recover any that never reached our webhook.",
                address, MaxPages, since, found.Count > 0 ? found.Min(HistoryMessages.SentAt) : since, since);
        if (found.Count == 0) return (0, true);
        var sids = found.Select(m => m.Sid).ToList();
        var stored = await StoredAsync(sids, ct);
        if (sids.All(stored.Contains)) return (0, true);
        // A message our webhook acknowledged may still wait in the inbox (a burst's wait, Twilio/InboundProjector): it is
        // not missing, and stored from Twilio's list it would lose what only the webhook carries (a WhatsApp location,
        // the profile name, an opt-out's type) to the webhook's copy arriving second. Only when something looks missing
        // (so a run doesn't end every burst's wait), and the next run's overlap covers a window that could not be checked.
        if (!await projector.CaughtUpAsync(CatchUpBound, ct))
        {
            logger.LogWarning("Reconciliation of {Number} skipped recovering messages: acknowledged webhooks are still being moved into the database. The next run checks this window again.", number.Address);
            return (0, false);
        }
        stored = await StoredAsync(sids, ct);

        var missing = new List<Message>();
        foreach (var m in found.Where(m => !stored.Contains(m.Sid)).OrderBy(HistoryMessages.SentAt))
            missing.Add(await HistoryMessages.ToMessageAsync(m, client, MessageState.Received, backfillId: null));
        var added = 0;
        foreach (var chunk in missing.Chunk(500))
            added += await commits.RunAsync((connection, tx) => HistoryMessages.StoreAsync(connection, tx, chunk, CancellationToken.None), ct);
        return (added, true);
    }

    private async Task<HashSet<string>> StoredAsync(List<string> sids, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var stored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in sids.Chunk(500))
            stored.UnionWith(await db.Messages.AsNoTracking().Where(m => chunk.Contains(m.MessageSid)).Select(m => m.MessageSid).ToListAsync(ct));
        return stored;
    }

    /// <summary>
    /// A reply's outcome writes no status row, its messages' callbacks do (Replies/StatusStore). Messages of this number's
    /// replies that finished in the window and that no callback reported get one now, so the refresh below asks Twilio
    /// about them too. Each reply is looked at once per process: the window's start moves up to where the last run ended.
    /// </summary>
    private async Task RecordUnreportedAsync(ChannelDbContext db, ChannelNumber number, DateTime from, DateTime until, CancellationToken ct)
    {
        if (rotation.RecordedThrough(number.Id) is { } through && through > from) from = through;
        var sent = await SentReplies.Between(db, from, until)
            .Where(r => r.AccountSid != null && (r.From == number.Address || (number.MessagingServiceSid != null && r.From == number.MessagingServiceSid)))
            .Columns().ToListAsync(ct);
        var messages = sent.SelectMany(r => r.SidList().Select(sid => (Reply: r, Sid: sid))).ToList();
        var reported = await SentReplies.ClaimedAsync(db, messages.Select(m => m.Sid), ct);
        var unreported = messages.Where(m => !reported.Contains(m.Sid)).ToList();
        foreach (var chunk in unreported.Chunk(500))
            await statuses.RecordUnreportedAsync(chunk, ct);
        rotation.SetRecordedThrough(number.Id, until);
    }

    /// <summary>Replies from this number still short of delivered after a few minutes: ask Twilio.</summary>
    private async Task<int> RefreshStatusesAsync(ChannelNumber number, global::Twilio.Clients.ITwilioRestClient client, DateTime now, CancellationToken ct)
    {
        List<OutboundStatus> stale;
        var delivered = DeliveryStatus.Rank("delivered");
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            var from = now.AddDays(-1);
            var until = now.AddMinutes(-2);
            await RecordUnreportedAsync(db, number, from, until, ct);
            var candidates = db.OutboundStatuses.AsNoTracking()
                .Where(s => s.ReplyId != null && s.Rank < delivered && s.UpdatedAt >= from && s.UpdatedAt <= until
                            && (s.From == number.Address || (number.MessagingServiceSid != null && s.From == number.MessagingServiceSid)));
            // SMS to many carriers stays "sent" for good (no delivery receipt), so such replies stay in the window for
            // its 24 hours. Taking the oldest 100 every run asked Twilio about the same 100 again and again, and a
            // number with more never refreshed its newer replies: each run now goes on after the last one's, from the
            // oldest again once it reached the end.
            var after = rotation.After(number.Id);
            var next = after is { } key
                ? candidates.Where(s => s.UpdatedAt > key.UpdatedAt || (s.UpdatedAt == key.UpdatedAt && string.Compare(s.MessageSid, key.MessageSid) > 0))
                : candidates;
            stale = await next.OrderBy(s => s.UpdatedAt).ThenBy(s => s.MessageSid).Take(MaxStatusRefresh).ToListAsync(ct);
            if (stale.Count == 0 && after is not null)
                stale = await candidates.OrderBy(s => s.UpdatedAt).ThenBy(s => s.MessageSid).Take(MaxStatusRefresh).ToListAsync(ct);
            rotation.Set(number.Id, stale.Count < MaxStatusRefresh ? null : (stale[^1].UpdatedAt, stale[^1].MessageSid));
        }
        var refreshed = 0;
        foreach (var s in stale.Where(s => !DeliveryStatus.IsFinalFailure(s.Status)))
        {
            try
            {
                var message = await MessageResource.FetchAsync(pathSid: s.MessageSid, pathAccountSid: number.AccountSid, client: client);
                var status = message.Status?.ToString();
                if (status is null || DeliveryStatus.Rank(status) <= s.Rank) continue;
                await statuses.ApplyAsync(s.MessageSid, number.AccountSid, status, message.ErrorCode, s.OrgId, s.To, s.From, s.ReplyId);
                refreshed++;
            }
            catch (global::Twilio.Exceptions.ApiException ex)
            {
                logger.LogWarning("Fetching the status of {Sid} failed: {Status} {Code}.", s.MessageSid, ex.Status, ex.Code);
            }
        }
        return refreshed;
    }
}

/// <summary>Where each number's status refresh stopped, and up to when its replies' unreported messages got rows (in
/// memory: after a restart it starts from the oldest again, and looks at the last day's replies once more).</summary>
internal sealed class StatusRefreshRotation
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, (DateTime UpdatedAt, string MessageSid)> _after = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, DateTime> _recorded = new();

    public DateTime? RecordedThrough(long numberId) => _recorded.TryGetValue(numberId, out var at) ? at : null;

    public void SetRecordedThrough(long numberId, DateTime at) => _recorded[numberId] = at;

    public (DateTime UpdatedAt, string MessageSid)? After(long numberId) => _after.TryGetValue(numberId, out var key) ? key : null;

    public void Set(long numberId, (DateTime UpdatedAt, string MessageSid)? key)
    {
        if (key is { } k) _after[numberId] = k;
        else _after.TryRemove(numberId, out _);
    }
}
