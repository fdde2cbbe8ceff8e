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
        builder.Services.AddSingleton<ReconcileSchedule>();
        builder.Services.AddHostedService<HistoryStartup>();
        return builder;
    }
}

/// <summary>
/// One recurring reconciliation per configured number, with stable names ("reconcile-number-{id}"): kept in step with
/// the numbers at start and whenever an admin adds or removes one.
/// </summary>
internal sealed class ReconcileSchedule(IServiceScopeFactory scopes, IRecurringJobManager recurring, JobStorage storage, IOptions<TwilioApiOptions> twilio)
{
    public const string Prefix = "reconcile-number-";

    public string Cron
    {
        get
        {
            var minutes = Math.Max(1, (int)Math.Ceiling(twilio.Value.ReconcileIntervalSeconds / 60.0));
            return minutes == 1 ? Hangfire.Cron.Minutely() : $"*/{minutes} * * * *";
        }
    }

    public async Task SyncAsync(CancellationToken ct = default)
    {
        List<long> ids;
        await using (var scope = scopes.CreateAsyncScope())
            ids = await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Numbers.AsNoTracking().Select(n => n.Id).ToListAsync(ct);
        foreach (var id in ids)
            recurring.AddOrUpdate<ReconcileJob>(Prefix + id, job => job.RunAsync(id, CancellationToken.None), Cron);
        using var connection = storage.GetConnection();
        foreach (var job in connection.GetRecurringJobs().Where(j => j.Id.StartsWith(Prefix, StringComparison.Ordinal)))
            if (!long.TryParse(job.Id[Prefix.Length..], out var id) || !ids.Contains(id)) recurring.RemoveIfExists(job.Id);
    }
}

/// <summary>At start: schedule reconciliation, and resume backfills a stop interrupted (Hangfire would requeue them only
/// after its invisibility timeout). A second runner of the same backfill is harmless: each page moves conditionally.</summary>
internal sealed class HistoryStartup(IServiceScopeFactory scopes, ReconcileSchedule schedule, IBackgroundJobClient jobs, ILogger<HistoryStartup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await schedule.SyncAsync(stoppingToken);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            var unfinished = await db.Backfills.Where(b => b.State < BackfillState.Completed && !b.CancelRequested).ToListAsync(stoppingToken);
            foreach (var b in unfinished)
            {
                b.JobId = jobs.Enqueue<BackfillJob>(job => job.RunAsync(b.Id, CancellationToken.None));
                logger.LogInformation("Resuming backfill {BackfillId} of {Number}.", b.Id, b.Address);
            }
            await db.SaveChangesAsync(stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(ex, "Scheduling reconciliation or resuming backfills failed.");
        }
    }
}
