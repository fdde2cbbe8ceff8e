using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Health;

/// <summary>
/// Degraded when an acknowledged webhook has waited in the inbox longer than a burst's wait allows (Inbound:
/// BurstMaxDelaySeconds) plus a margin: the projector is stuck (the database refuses its writes, a full disk, a damaged
/// entry) and customers' messages are safe on the disk but don't reach Desk. It only logs the failure every second;
/// this puts it where monitoring looks. Degraded, not unhealthy: webhooks are still acknowledged, and taking the instance
/// out of a load balancer would not move them.
/// </summary>
internal sealed class InboxLag(InboxFile file, InboundProjector projector, IOptions<InboundOptions> options, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(30);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        using var connection = file.Open();
        using var oldest = connection.CreateCommand();
        oldest.CommandText = """SELECT "ReceivedAt" FROM "Inbox" WHERE "Id" > @p0 ORDER BY "Id" LIMIT 1""";
        oldest.Parameters.Add(new SqliteParameter("@p0", projector.Projected));
        if (oldest.ExecuteScalar() is not long ticks) return Task.FromResult(HealthCheckResult.Healthy());

        var waited = time.GetUtcNow().UtcDateTime - new DateTime(ticks, DateTimeKind.Utc);
        var allowed = TimeSpan.FromSeconds(options.Value.BurstMaxDelaySeconds) + Margin;
        return Task.FromResult(waited <= allowed
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"An acknowledged webhook has waited {waited.TotalSeconds:0} s in the inbox without reaching the database; see the log."));
    }
}
