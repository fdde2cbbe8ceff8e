using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Health;

/// <summary>/health/live: the process answers. /health/ready: the database answers, every migration is applied and its
/// log and the webhooks' inbox's can be flushed to disk (after a failed fsync nothing is acknowledged until a restart:
/// Data/WalDurability); Degraded while acknowledged webhooks are stuck in the inbox (Health/InboxLag).</summary>
internal static class HealthEndpoints
{
    public static IHostApplicationBuilder AddChannelHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseReady>("database", tags: ["ready"])
            .Add(new HealthCheckRegistration("database-log",
                sp => new LogDurable(sp.GetRequiredService<WalDurability>(), "The database's log"), null, ["ready"]))
            .Add(new HealthCheckRegistration("inbox-log",
                sp => new LogDurable(sp.GetRequiredKeyedService<WalDurability>(InboundInbox.Log), "The webhooks' inbox"), null, ["ready"]))
            .AddCheck<InboxLag>("inbox-lag", tags: ["ready"]);
        return builder;
    }

    public static WebApplication MapChannelHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }

    private sealed class DatabaseReady(ChannelDbContext db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            try
            {
                if (!await db.Database.CanConnectAsync(ct)) return HealthCheckResult.Unhealthy("Database unreachable.");
                var pending = (await db.Database.GetPendingMigrationsAsync(ct)).Count();
                return pending == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"{pending} migrations not applied.");
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("Database check failed.", ex);
            }
        }
    }

    /// <summary>A log (the database's, or the webhooks' inbox's) whose fsync failed: nothing more is acknowledged.</summary>
    private sealed class LogDurable(WalDurability durability, string log) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
            Task.FromResult(durability.Failure is null
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"{log} could not be flushed to disk; restart the service."));
    }
}
