using Hangfire;

namespace TwilioChannel.Web.Delivery;

/// <summary>
/// The visible handle of an org's delivery backoff: each failed import schedules one of these at the retry time, so the
/// wait shows in the jobs dashboard (/admin/jobs, "Scheduled") and "Enqueue now" there retries at once. The delivery
/// loop keeps its own timer, so nothing depends on Hangfire's polling; a job from an earlier attempt finds the attempt
/// count moved on and does nothing.
/// </summary>
internal sealed class DeliveryRetryJob(DeliveryStore store, DeskDelivery delivery)
{
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("Retry Desk import for org {0} (attempt {1})")]
    public async Task RunAsync(string orgId, int attempt)
    {
        if (await store.RetryNowAsync(orgId, attempt)) delivery.Wake(orgId);
    }
}
