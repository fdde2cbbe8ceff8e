using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Delivery;

/// <summary>This process's name in delivery leases (several instances may share one database).</summary>
internal sealed class DeliveryInstance
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
}

/// <summary>
/// Real-time delivery to Desk: one loop per org whose import is on (a securityContext and a connectionLinkName, and
/// Desk:ExtensionSecret configured), woken in-process right after each feed commit (<see cref="FeedWakeup"/>) rather
/// than by polling storage, plus a <see cref="Sweep"/> timer for commits made by other instances and expired leases.
/// Hangfire is deliberately not on this path: an enqueue per message costs more than the message (../shared/STACK.md).
/// Orgs without import rely on Desk's pull.
/// </summary>
internal sealed class DeskDelivery(
    IServiceScopeFactory scopes,
    OrgDelivery delivery,
    FeedWakeup feed,
    SecretProtector secrets,
    Desk.DeskCallers callers,
    IOptions<DeskOptions> desk,
    ILogger<DeskDelivery> logger) : BackgroundService
{
    internal static readonly TimeSpan Sweep = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, OrgLoop> _loops = [];
    private readonly Common.Wakeup _refresh = new();

    /// <summary>Installations changed (admin API, Desk events): re-read which orgs import.</summary>
    public void Refresh() => _refresh.Notify();

    /// <summary>Wakes an org's loop now (an admin resumed it, a retry was triggered).</summary>
    public void Wake(string orgId)
    {
        lock (_loops) if (_loops.TryGetValue(orgId, out var loop)) loop.Signal.Notify();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        callers.Changed += _ => Refresh();
        // Feed commits wake every org's loop: each one finds its own new threads with an index seek, or nothing.
        var fanOut = Task.Run(async () =>
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await feed.WaitAsync(Sweep, stoppingToken);
                lock (_loops) foreach (var loop in _loops.Values) loop.Signal.Notify();
            }
        }, stoppingToken);

        // finally: a stop ends this loop with an OperationCanceledException, and the org loops must still be stopped.
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RefreshLoopsAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogError(ex, "Reading the installations for real-time delivery failed; retrying.");
                }
                await _refresh.WaitAsync(TimeSpan.FromSeconds(30), stoppingToken);
            }
        }
        finally
        {
            List<OrgLoop> running;
            lock (_loops) running = [.. _loops.Values];
            foreach (var loop in running) await loop.Cancellation.CancelAsync();
            await Task.WhenAll(running.Select(StopLoopAsync).Append(Ended(fanOut)));
        }
    }

    /// <summary>Waits for an org's loop to end, then releases its lease. The group commit is still running here: hosted
    /// services stop in reverse order of registration, and the data services are registered first.</summary>
    private async Task StopLoopAsync(OrgLoop loop)
    {
        await Ended(loop.Task);
        try
        {
            await delivery.ReleaseLeaseAsync(loop.Credentials.OrgId);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not release the delivery lease of org {OrgId}; it expires on its own within {Lease}.", loop.Credentials.OrgId, OrgDelivery.Lease);
        }
    }

    private static Task Ended(Task task) => task.ContinueWith(_ => { }, TaskScheduler.Default);

    private async Task RefreshLoopsAsync(CancellationToken ct)
    {
        var orgs = await ImportingOrgsAsync(ct);
        lock (_loops)
        {
            foreach (var (orgId, loop) in _loops.Where(l => !orgs.ContainsKey(l.Key)).ToList())
            {
                loop.Cancellation.Cancel();
                _loops.Remove(orgId);
                logger.LogInformation("Real-time delivery to Desk is off for org {OrgId}; the pull serves it.", orgId);
            }
            foreach (var (orgId, credentials) in orgs)
            {
                if (_loops.TryGetValue(orgId, out var existing))
                {
                    existing.Credentials = credentials; // a new securityContext takes effect on the next call
                    continue;
                }
                var loop = new OrgLoop(credentials, CancellationTokenSource.CreateLinkedTokenSource(ct));
                loop.Task = Task.Run(() => RunAsync(loop), CancellationToken.None);
                _loops[orgId] = loop;
                logger.LogInformation("Real-time delivery to Desk is on for org {OrgId}.", orgId);
            }
        }
    }

    private async Task RunAsync(OrgLoop loop)
    {
        var ct = loop.Cancellation.Token;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan? wait;
            try
            {
                wait = await delivery.RunAsync(loop.Credentials, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Delivering to Desk for org {OrgId} failed; retrying.", loop.Credentials.OrgId);
                wait = Sweep;
            }
            if (wait is { } delay && delay <= TimeSpan.Zero) continue;
            await loop.Signal.WaitAsync(wait is { } d && d < Sweep ? d : Sweep, ct);
        }
    }

    private async Task<Dictionary<string, ImportCredentials>> ImportingOrgsAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(desk.Value.ExtensionSecret)) return [];
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var installations = await db.Installations.AsNoTracking()
            .Where(i => i.Enabled && i.SecurityContextProtected != null && i.ConnectionLinkName != null && i.ConnectionLinkName != "")
            .ToListAsync(ct);
        var result = new Dictionary<string, ImportCredentials>();
        foreach (var i in installations)
            if (ImportCredentials.Of(i, desk.Value, secrets) is { } credentials) result[i.OrgId] = credentials;
        return result;
    }

    private sealed class OrgLoop(ImportCredentials credentials, CancellationTokenSource cancellation)
    {
        public ImportCredentials Credentials { get; set; } = credentials;
        public CancellationTokenSource Cancellation { get; } = cancellation;
        public Common.Wakeup Signal { get; } = new();
        public Task Task { get; set; } = Task.CompletedTask;
    }
}
