using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.History;

internal static class HistoryExtensions
{
    public static IHostApplicationBuilder AddHistory(this IHostApplicationBuilder builder)
    {
        builder.Services.AddTransient<BackfillJob>();
        builder.Services.AddTransient<ReconcileJob>();
        builder.Services.AddSingleton<StatusRefreshRotation>();
        builder.Services.AddSingleton<ReconcileSchedule>();
        builder.Services.AddSingleton<HeldRelease>();
        builder.Services.AddSingleton<HistoryScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HistoryScheduler>());
        return builder;
    }
}

/// <summary>
/// One recurring reconciliation per configured number, with stable names ("reconcile-number-{id}"): kept in step with
/// the numbers at start and whenever an admin adds or removes one. The daily cleanups of unclaimed delivery statuses
/// (Replies/UnclaimedStatusCleanup) and expired reply attachments (Replies/ReplyMediaCleanup) are registered with them:
/// the same sync retries them when the job storage is busy.
/// </summary>
internal sealed class ReconcileSchedule(IServiceScopeFactory scopes, IRecurringJobManager recurring, JobStorage storage, IOptions<TwilioApiOptions> twilio)
{
    public const string Prefix = "reconcile-number-";

    public string Cron => CronFor(twilio.Value.ReconcileIntervalSeconds);

    /// <summary>Recurring jobs run on whole minutes, and a cron step must fit its field: an interval is rounded up to whole
    /// minutes below an hour, to whole hours below a day, else daily. ("*/60 * * * *", which 3,541 s and more gave
    /// before, is refused by Hangfire and stopped every job sync, backfills included.)</summary>
    internal static string CronFor(int seconds)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling(seconds / 60.0));
        if (minutes == 1) return Hangfire.Cron.Minutely();
        if (minutes < 60) return $"*/{minutes} * * * *";
        var hours = (int)Math.Ceiling(minutes / 60.0);
        return hours < 24 ? $"0 */{hours} * * *" : Hangfire.Cron.Daily();
    }

    public async Task SyncAsync(CancellationToken ct = default)
    {
        List<long> ids;
        await using (var scope = scopes.CreateAsyncScope())
            ids = await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Numbers.AsNoTracking().Select(n => n.Id).ToListAsync(ct);
        foreach (var id in ids)
            recurring.AddOrUpdate<ReconcileJob>(Prefix + id, job => job.RunAsync(id, CancellationToken.None), Cron);
        recurring.AddOrUpdate<Replies.UnclaimedStatusCleanup>(Replies.UnclaimedStatusCleanup.JobId, job => job.RunAsync(CancellationToken.None), Hangfire.Cron.Daily());
        recurring.AddOrUpdate<Replies.ReplyMediaCleanup>(Replies.ReplyMediaCleanup.JobId, job => job.RunAsync(CancellationToken.None), Hangfire.Cron.Daily());
        using var connection = storage.GetConnection();
        foreach (var job in connection.GetRecurringJobs().Where(j => j.Id.StartsWith(Prefix, StringComparison.Ordinal)))
            if (!long.TryParse(job.Id[Prefix.Length..], out var id) || !ids.Contains(id)) recurring.RemoveIfExists(job.Id);
    }
}

/// <summary>
/// Keeps Hangfire in step with the database, off the request path: the recurring reconciliations with the numbers, and
/// a job for every backfill that needs one, and what ended backfills still hold routed. Admin endpoints only write rows and call <see cref="Wake"/>; this loop talks
/// to the job storage (which can be briefly busy: SQLite) and retries on its own. At start it also resumes backfills a
/// stop interrupted (Hangfire would requeue them only after its invisibility timeout); a second runner of the same
/// backfill is harmless, each page moves conditionally.
/// </summary>
internal sealed class HistoryScheduler(IServiceScopeFactory scopes, ReconcileSchedule schedule, IBackgroundJobClient jobs, JobStorage storage,
    HeldRelease release, TimeProvider time, ILogger<HistoryScheduler> logger) : BackgroundService
{
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(30);
    private readonly Common.Wakeup _wakeup = new();

    private volatile bool _recurringChanged = true;

    /// <summary>Numbers or backfills changed: sync soon.</summary>
    public void Wake()
    {
        _recurringChanged = true;
        _wakeup.Notify();
    }

    /// <summary>Only backfills changed (a cancel): look at them soon, leave the recurring jobs alone.</summary>
    public void WakeForBackfills() => _wakeup.Notify();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var resumeAll = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Recurring jobs only when something changed (each sync rewrites them); backfills on every pass, so one
                // whose enqueue failed, or that another instance created, gets its job within a sweep.
                // Backfills first: a failing recurring sync must not hold them up.
                await EnqueueBackfillsAsync(resumeAll, stoppingToken);
                await RouteEndedAsync(stoppingToken);
                if (_recurringChanged)
                {
                    _recurringChanged = false;
                    await schedule.SyncAsync(stoppingToken);
                }
                resumeAll = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Syncing jobs with Hangfire failed; retrying shortly.");
                _recurringChanged = true;
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                continue;
            }
            await _wakeup.WaitAsync(Sweep, stoppingToken);
        }
    }

    /// <summary>What ended backfills still hold (History/HeldRelease); a failure is retried on the next sweep.</summary>
    private async Task RouteEndedAsync(CancellationToken ct)
    {
        try
        {
            await release.RouteEndedAsync(ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Routing what ended backfills had stored failed; retrying on the next sweep.");
        }
    }

    /// <summary>Backfills waiting for a job (just started), or whose job ended before they did; at start, every
    /// unfinished one. Also ends the backfills no run will end: see <see cref="EndAsync"/>.</summary>
    private async Task EnqueueBackfillsAsync(bool resumeAll, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var unfinished = await db.Backfills.Where(b => b.State < BackfillState.Completed).ToListAsync(ct);
        if (unfinished.Count == 0) return;
        using var connection = storage.GetConnection();
        foreach (var b in unfinished)
        {
            var state = b.JobId is { } id ? connection.GetStateData(id) : null;
            if (await EndAsync(db, b, state, ct)) continue;
            if (b.CancelRequested) continue; // its job is running and stops at its next page or chunk
            if (!resumeAll && b.JobId is { } jobId)
            {
                if (!Ended(state, out var name)) continue;
                logger.LogWarning("Backfill {BackfillId}'s job {JobId} ended ({State}) before the backfill did; queuing it again.", b.Id, jobId, name);
            }
            b.JobId = jobs.Enqueue<BackfillJob>(job => job.RunAsync(b.Id, CancellationToken.None));
            await db.SaveChangesAsync(ct);
            logger.LogInformation("Backfill {BackfillId} of {Number} queued.", b.Id, b.Address);
        }
    }

    /// <summary>
    /// A backfill whose job gave up (Twilio kept failing through every retry) is failed with the job's last error:
    /// before, it said "listing" for ever, and its number refused every new backfill (409) even after a cancel. A
    /// cancelled one whose job is not running (waiting for a retry, up to 15 minutes; failed; gone) is cancelled now,
    /// its waiting job deleted, instead of when (or if) that job runs again. True when <paramref name="b"/> was ended.
    /// </summary>
    private async Task<bool> EndAsync(ChannelDbContext db, Backfill b, StateData? job, CancellationToken ct)
    {
        var jobName = job?.Name;
        var running = jobName == Hangfire.States.ProcessingState.StateName;
        BackfillState end;
        string? error = null;
        if (b.CancelRequested && !running) end = BackfillState.Cancelled;
        else if (jobName == Hangfire.States.FailedState.StateName && !LostTheLock(job!))
        {
            end = BackfillState.Failed;
            error = "Gave up after its retries: " + (job!.Data.TryGetValue("ExceptionMessage", out var message) ? message : "the job failed.");
        }
        else return false;

        var now = time.GetUtcNow().UtcDateTime;
        // Conditional: a run that ended it meanwhile keeps its own outcome.
        var ended = await db.Backfills.Where(x => x.Id == b.Id && x.State < BackfillState.Completed)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.State, end).SetProperty(x => x.Error, x => error ?? x.Error)
                .SetProperty(x => x.CompletedAt, now).SetProperty(x => x.UpdatedAt, now), ct);
        if (ended == 1)
        {
            if (end == BackfillState.Failed) logger.LogError("Backfill {BackfillId} of {Number} failed: {Error}", b.Id, b.Address, error);
            else if (b.JobId is { } jobId && jobName != Hangfire.States.FailedState.StateName) TryDelete(jobId);
        }
        return true;
    }

    private void TryDelete(string jobId)
    {
        try
        {
            jobs.Delete(jobId);
        }
        catch (Exception ex)
        {
            // Harmless if it runs: it finds the backfill ended and returns.
            logger.LogDebug(ex, "Could not delete job {JobId} of a cancelled backfill.", jobId);
        }
    }

    /// <summary>
    /// A job that succeeded or was deleted while its backfill is unfinished would leave the backfill "queued" or
    /// "listing" until the next start: a run that returned early (it found nothing to do at that moment), or one aborted
    /// by Hangfire. A second runner is harmless (each page moves conditionally). A failed job (retries exhausted) stays
    /// as it is, visible in the jobs dashboard, rather than being retried here for ever.
    /// </summary>
    private static bool Ended(StateData? job, out string state)
    {
        state = job?.Name ?? "gone";
        return state == "gone" || state == Hangfire.States.SucceededState.StateName || state == Hangfire.States.DeletedState.StateName
            || (state == Hangfire.States.FailedState.StateName && LostTheLock(job!));
    }

    /// <summary>
    /// A job that failed only on the backfill's lock, through all its retries: another runner held the backfill (two
    /// instances starting together each queue a job for it, and the one recorded last may be the one waiting). It gave
    /// up on nothing, so the backfill is not failed for it (that stopped the running one mid-listing): it is queued
    /// again, and that job finds the backfill done or takes it over.
    /// </summary>
    private static bool LostTheLock(StateData job) =>
        job.Data.TryGetValue("ExceptionType", out var type) && type.Contains(nameof(Hangfire.Storage.DistributedLockTimeoutException), StringComparison.Ordinal);
}
