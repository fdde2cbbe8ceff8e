using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Delivery;

/// <summary>
/// This process's name in delivery leases (several instances may share one database): machine, process id, the
/// process's start (seconds since the epoch) and a random part. The first three let a restarted process see that a
/// lease is its crashed predecessor's (<see cref="IsDeadLocal"/>) and take it at once: real-time import paused about a
/// minute after every crash, until that lease expired (acceptance-style run).
/// </summary>
internal sealed class DeliveryInstance
{
    private static readonly long Started = StartOf(System.Diagnostics.Process.GetCurrentProcess());

    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Started}:{Guid.NewGuid():N}";

    /// <summary>
    /// Whether <paramref name="owner"/> names a process of this machine that is gone: no process has its id, or the one
    /// that has it started at another time (a process id is reused; in a container every start is process 1). Another
    /// machine's, an older format's, or a live process's lease is left to expire as before.
    /// </summary>
    public static bool IsDeadLocal(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 4 || parts[0] != Environment.MachineName || !int.TryParse(parts[1], out var pid) || !long.TryParse(parts[2], out var started))
            return false;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return StartOf(process) != started;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return true; // no such process
        }
    }

    private static long StartOf(System.Diagnostics.Process process) => new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeSeconds();
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
