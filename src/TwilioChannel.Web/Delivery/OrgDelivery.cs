using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Desk;

namespace TwilioChannel.Web.Delivery;

/// <summary>
/// One delivery pass for one org: while this instance holds the org's lease and the feed has threads after the cursor,
/// send them to Desk's import in stored order, ≤ 1000 threads (with their tickets) per call, and move the cursor after
/// each success. What arrives during a call waits for the next one, so batches grow with load.
///
/// Failures: 429 and 5xx/timeouts stop the pass with a growing delay (the same batch is retried: order is kept);
/// 401/403/404 park the org with the reason (import stops, the pull keeps serving); a batch Desk refuses as invalid is
/// halved until the refused thread is alone, which is then set aside as a dead letter while the rest flows.
/// </summary>
internal sealed class OrgDelivery(
    IServiceScopeFactory scopes,
    DeliveryStore store,
    DeskInvokeClient desk,
    DeliveryInstance instance,
    PublicUrls urls,
    IOptions<DeskOptions> options,
    IBackgroundJobClient jobs,
    Secrets.SecretProtector secrets,
    DeskCallers callers,
    TimeProvider time,
    ILogger<OrgDelivery> logger)
{
    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>The longest Retry-After we obey: a wrong or hostile header must not stop an org's import for days.</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>Until when this instance holds each org's lease: renewed when half of it is left, not on every pass.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> _leases = new();

    /// <summary>The longest one import call may take (Desk:ImportTimeoutSeconds, up to 300 s) and a margin.</summary>
    private TimeSpan CallBound => TimeSpan.FromSeconds(options.Value.ImportTimeoutSeconds + 5);

    /// <summary>
    /// <see cref="Lease"/>, or longer when a call may take more than half of it: the lease is checked before each call
    /// and must outlast it. Before, a call could outlive the lease (a slow Desk with a long timeout, or the calls of
    /// a batch being halved, which renewed nothing), another instance took the org over and sent the following
    /// batches while this one's were still on their way: two deliverers at once, the order per ticket lost.
    /// </summary>
    private TimeSpan LeaseLength => Lease > 2 * CallBound ? Lease : 2 * CallBound;

    private async Task<bool> HoldLeaseAsync(string orgId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var length = LeaseLength;
        if (_leases.TryGetValue(orgId, out var until) && until - now > length / 2) return true;
        if (!await store.TryLeaseAsync(orgId, instance.Id, length)
            && !(await store.LeaseOwnerAsync(orgId) is { } owner && DeliveryInstance.IsDeadLocal(owner) && await store.TakeOverLeaseAsync(orgId, owner, instance.Id, length)))
        {
            _leases.TryRemove(orgId, out _);
            return false;
        }
        _leases[orgId] = now + length;
        return true;
    }

    /// <summary>The UTC day each org was last warned about its spent budget: a pass runs every 5 s sweep while it
    /// waits for midnight, and warning on each filled the log with up to 17,000 identical lines a day per org.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _budgetWarned = new();

    /// <summary>A write refused for lack of the lease: forget it, so the next pass asks the database again.</summary>
    private void LeaseLost(string orgId) => _leases.TryRemove(orgId, out _);

    /// <summary>
    /// Graceful stop, once the org's loop has ended (its in-flight call included): gives the lease back, so the next
    /// instance, or this one restarted, delivers at once instead of waiting up to <see cref="Lease"/> for it to expire.
    /// A crash still relies on the expiry.
    /// </summary>
    public async Task ReleaseLeaseAsync(string orgId)
    {
        _leases.TryRemove(orgId, out _);
        await store.ReleaseLeaseAsync(orgId, instance.Id);
    }

    /// <summary>Runs one pass; returns how long to wait before the next one unless woken (null: until woken).</summary>
    public async Task<TimeSpan?> RunAsync(ImportCredentials org, CancellationToken ct)
    {
        var cursor = await store.LoadAsync(org.OrgId, ct);
        var now = time.GetUtcNow().UtcDateTime;
        if (cursor.ParkedReason is not null) return null;
        if (cursor.NextAttemptAt is { } next && next > now) return next - now;
        if (!await HoldLeaseAsync(org.OrgId)) return DeskDelivery.Sweep; // another instance delivers this org
        var calls = cursor.BudgetDay == store.Today ? cursor.CallsToday : 0;
        var position = cursor.Position;

        while (!ct.IsCancellationRequested)
        {
            if (calls >= options.Value.DailyApiCallBudget)
            {
                if (_budgetWarned.TryGetValue(org.OrgId, out var warned) && warned == store.Today)
                    logger.LogDebug("Org {OrgId} still waits for midnight UTC (daily Desk API budget spent).", org.OrgId);
                else
                {
                    _budgetWarned[org.OrgId] = store.Today;
                    logger.LogWarning("Org {OrgId} spent its {Budget} Desk API calls for today; the pull serves the rest until midnight UTC.", org.OrgId, options.Value.DailyApiCallBudget);
                }
                return time.GetUtcNow().UtcDateTime.Date.AddDays(1) - time.GetUtcNow().UtcDateTime;
            }

            IReadOnlyList<FeedEntry> page;
            await using (var scope = scopes.CreateAsyncScope())
                page = await scope.ServiceProvider.GetRequiredService<PullFeed>().ReadAsync(org.OrgId, position, urls.Known, ct);
            if (page.Count == 0) return null;

            var (stop, spent) = await SendAsync(org, page, cursor.Failures, ct);
            calls += spent;
            if (stop is not null) return stop;
            position = page[^1].Position;
            cursor.Failures = 0;
            if (!await HoldLeaseAsync(org.OrgId)) return DeskDelivery.Sweep;
        }
        return null;
    }

    /// <summary>Delivers <paramref name="entries"/> in order; returns a delay when the pass must stop, and the calls spent.</summary>
    private async Task<(TimeSpan? Stop, int Calls)> SendAsync(ImportCredentials org, IReadOnlyList<FeedEntry> entries, int failures, CancellationToken ct)
    {
        // Every call, the halves of a refused batch included, goes out under a lease that outlasts it.
        if (!await HoldLeaseAsync(org.OrgId)) return (DeskDelivery.Sweep, 0);
        // channelState travels with the import too, so Desk's next pull starts after what import delivered.
        var json = PullFeed.Compose(entries, new ChannelState(entries[^1].Position));
        var outcome = await desk.ImportAsync(org, json, ct);

        switch (outcome.Verdict)
        {
            case ImportVerdict.Delivered:
                if (await store.AdvanceAsync(org.OrgId, instance.Id, entries[^1].Position)) return (null, 1);
                LeaseLost(org.OrgId);
                return (DeskDelivery.Sweep, 1);

            case ImportVerdict.Invalid or ImportVerdict.TooLarge when entries.Count > 1:
                // Find the refused thread(s) by halving; the halves before it are delivered meanwhile, in order.
                // This refused call spent a Desk API credit too: uncounted, the org went past its daily budget.
                await store.CountCallAsync(org.OrgId);
                var half = entries.Count / 2;
                var (stop, first) = await SendAsync(org, entries.Take(half).ToList(), failures, ct);
                if (stop is not null) return (stop, 1 + first);
                var (stop2, second) = await SendAsync(org, entries.Skip(half).ToList(), failures, ct);
                return (stop2, 1 + first + second);

            case ImportVerdict.Invalid or ImportVerdict.TooLarge:
                var entry = entries[0];
                logger.LogWarning("Desk refused thread {ExtId} (feed position {Position}) of org {OrgId}: set aside as a dead letter.", entry.ExtId, entry.Position, org.OrgId);
                if (await store.DeadLetterAsync(org.OrgId, instance.Id, entry, outcome.StatusCode, outcome.Message)) return (null, 1);
                LeaseLost(org.OrgId);
                return (DeskDelivery.Sweep, 1);

            case ImportVerdict.Unauthorized or ImportVerdict.NotFound when await ChangedSinceReadAsync(org, ct):
                // Refused with credentials that are no longer the org's: Desk authorised the extension again (a new
                // securityContext) or an admin changed them, on another instance, and this one's loop reads them every
                // 30 s. That is no sign of a revoked installation: parked, import stayed off until an admin resumed it.
                await store.CountCallAsync(org.OrgId);
                logger.LogInformation("Desk refused the import of org {OrgId} with credentials changed since this instance read them; retrying with the current ones.", org.OrgId);
                callers.Invalidate(org.OrgId); // re-reads them: the delivery loop's, and this instance's check of Desk's pull and push
                return (CredentialsReread, 1);

            case ImportVerdict.Unauthorized or ImportVerdict.NotFound:
                var reason = $"Desk answered {outcome.StatusCode} ({outcome.Message}): the installation looks revoked or gone. " +
                             "Import is parked and the pull keeps serving; resume it after reinstalling (POST /api/admin/deliveries/{orgId}/resume).";
                if (await store.ParkAsync(org.OrgId, instance.Id, reason))
                    logger.LogError("Import for org {OrgId} parked: Desk answered {Status}.", org.OrgId, outcome.StatusCode);
                else await store.CountCallAsync(org.OrgId);
                LeaseLost(org.OrgId);
                return (DeskDelivery.Sweep, 1);

            default: // Retry, RateLimited: the same batch again later, nothing skipped
                var attempt = failures + 1;
                // Desk's Retry-After is a floor: retrying sooner only earns another 429 and spends a call of the day.
                var delay = Backoff(attempt, outcome.Verdict == ImportVerdict.RateLimited);
                if (outcome.RetryAfter is { } asked && asked > delay) delay = asked < MaxRetryAfter ? asked : MaxRetryAfter;
                if (!await store.FailAsync(org.OrgId, instance.Id, attempt, time.GetUtcNow().UtcDateTime + delay, $"{outcome.Verdict}: {(outcome.StatusCode > 0 ? $"HTTP {outcome.StatusCode} " : "")}{outcome.Message}"))
                {
                    await store.CountCallAsync(org.OrgId);
                    LeaseLost(org.OrgId);
                    return (DeskDelivery.Sweep, 1);
                }
                ScheduleVisibleRetry(org.OrgId, attempt, delay);
                return (delay, 1);
        }
    }

    /// <summary>How long a pass waits after a refusal with outdated credentials, for the loop to read the current ones.</summary>
    private static readonly TimeSpan CredentialsReread = TimeSpan.FromSeconds(1);

    /// <summary>Whether the org's stored credentials differ from <paramref name="used"/> (or no longer allow import).</summary>
    private async Task<bool> ChangedSinceReadAsync(ImportCredentials used, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var installation = await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Installations.AsNoTracking()
            .FirstOrDefaultAsync(i => i.OrgId == used.OrgId, ct);
        return (installation is null ? null : ImportCredentials.Of(installation, options.Value, secrets)) != used;
    }

    /// <summary>Failures are rare and slow: a Hangfire schedule per failure costs nothing on the delivery path.</summary>
    private void ScheduleVisibleRetry(string orgId, int attempt, TimeSpan delay)
    {
        try
        {
            jobs.Schedule<DeliveryRetryJob>(job => job.RunAsync(orgId, attempt), delay);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not schedule the visible retry job for org {OrgId}; the loop retries on its own.", orgId);
        }
    }

    /// <summary>1 s, 2 s, 4 s … capped at 5 minutes, with jitter so instances and orgs don't retry in step.</summary>
    internal static TimeSpan Backoff(int attempt, bool rateLimited)
    {
        var seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempt - 1, 16)) * (rateLimited ? 2 : 1));
        return TimeSpan.FromSeconds(seconds * (0.8 + Random.Shared.NextDouble() * 0.4));
    }
}
