using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Delivery;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Delivery;

/// <summary>The per-org delivery lease across restarts and instances sharing one database (Delivery/OrgDelivery).</summary>
public sealed class DeliveryLeaseTests : IDisposable
{
    private const string OtherInstance = "other-host:4242:0123456789abcdef";
    private readonly FakeDesk _desk = new();

    private Dictionary<string, string?> Settings => new() { ["Desk:ApiBaseUrl"] = _desk.Url };

    public void Dispose() => _desk.Dispose();

    private static async Task<JsonElement> DeliveryAsync(ChannelApp app)
    {
        using var admin = app.Admin();
        return (await admin.GetFromJsonAsync<JsonElement>("/api/admin/deliveries")).EnumerateArray().Single();
    }

    /// <summary>A started service that has imported one message, so its cursor row exists and it held the lease.</summary>
    private async Task<string> ImportedOnceAndStoppedAsync()
    {
        await using var app = new ChannelApp(settings: Settings);
        await FakeDesk.SeedAsync(app);
        (await app.PostInboundAsync(Fixtures.Sms("before the restart"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the import before the restart");
        await using var scope = app.Services.CreateAsyncScope();
        // The lease is taken before the call: checked here so that "free after the stop" below can fail.
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().DeliveryCursors.Single().LeaseOwner);
        // Its own lease is not a reason to wait.
        var delivery = await DeliveryAsync(app);
        Assert.Equal(app.Services.GetRequiredService<DeliveryInstance>().Id, delivery.GetProperty("leaseOwner").GetString());
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("waitingReason").ValueKind);
        return app.DataPath;
    }

    [Fact]
    public async Task ALeaseOutlastsAnImportCallThatMayTakeLongerThanTheLease()
    {
        // Desk:ImportTimeoutSeconds may be up to 300 s, the lease was 60 s: a slow call outlived it, and another
        // instance took the org over and sent the next batches while this one's was still on its way.
        var settings = Settings;
        settings["Desk:ImportTimeoutSeconds"] = "120";
        await using var app = new ChannelApp(settings: settings);
        await FakeDesk.SeedAsync(app);
        _desk.Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", delay: TimeSpan.FromSeconds(4));
        (await app.PostInboundAsync(Fixtures.Sms("a slow Desk"))).EnsureSuccessStatusCode();
        await Task.Delay(1500); // the call is on its way

        var (owner, until) = LeaseRows.Read(app.DataPath);
        Assert.Equal(app.Services.GetRequiredService<DeliveryInstance>().Id, owner);
        var left = DateTime.SpecifyKind(until!.Value, DateTimeKind.Utc) - DateTime.UtcNow;
        Assert.True(left > TimeSpan.FromSeconds(120), $"the lease has {left.TotalSeconds:0} s left during a call that may take 120 s");
        await Eventually.UntilAsync(() => _desk.Accepted.Count == 1, "the slow import");
    }

    [Fact]
    public async Task AfterAGracefulRestartANewMessageIsImportedWithoutWaitingForTheOldLease()
    {
        var dataPath = await ImportedOnceAndStoppedAsync();
        Assert.Equal((null, null), LeaseRows.Read(dataPath));

        await using var after = new ChannelApp(dataPath, Settings);
        var fresh = Fixtures.Sms("after the restart");
        (await after.PostInboundAsync(fresh)).EnsureSuccessStatusCode();
        // A kept lease would have had 30–60 s left at the stop (renewed at half-life): a quarter of its length is ample
        // for a loop woken by the commit, and too short for an expiry.
        await Eventually.UntilAsync(() => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(fresh["MessageSid"])), "the import after the restart",
            seconds: (int)(OrgDelivery.Lease.TotalSeconds / 4));
        Assert.Equal([fresh["MessageSid"]], _desk.Accepted[^1].ThreadExtIds);
    }

    [Fact]
    public async Task AfterACrashTheRestartedProcessTakesItsPredecessorsLeaseAtOnce()
    {
        // A crash leaves the lease with up to a minute to run, and the restarted process waited it out: no real-time
        // import meanwhile (acceptance-style run). A process of this machine that is gone holds no lease.
        var dataPath = await ImportedOnceAndStoppedAsync();
        LeaseRows.Hold(dataPath, $"{Environment.MachineName}:{int.MaxValue}:1700000000:0123456789abcdef", DateTime.UtcNow.AddMinutes(10));

        await using var after = new ChannelApp(dataPath, Settings);
        var fresh = Fixtures.Sms("after the crash");
        (await after.PostInboundAsync(fresh)).EnsureSuccessStatusCode();

        await Eventually.UntilAsync(() => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(fresh["MessageSid"])), "the import after the crash", seconds: 15);
        Assert.Equal(after.Services.GetRequiredService<DeliveryInstance>().Id, LeaseRows.Read(dataPath).Owner);
    }

    /// <summary>An instance running in this very process (as the tests' services do): alive, on this machine.</summary>
    private static string LiveInstanceOnThisMachine =>
        $"{Environment.MachineName}:{Environment.ProcessId}:{new DateTimeOffset(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeSeconds()}:0123456789abcdef";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALeaseHeldByAnotherInstanceIsShownToAdminsAndLeftAloneByAStop(bool onThisMachine)
    {
        var dataPath = await ImportedOnceAndStoppedAsync();
        var until = DateTime.UtcNow.AddMinutes(10);
        var other = onThisMachine ? LiveInstanceOnThisMachine : OtherInstance;
        LeaseRows.Hold(dataPath, other, until);

        await using (var app = new ChannelApp(dataPath, Settings))
        {
            (await app.PostInboundAsync(Fixtures.Sms("while another instance delivers"))).EnsureSuccessStatusCode();
            // The org's loop runs (and is stopped below), so a careless release would clear the row.
            await Eventually.UntilAsync(() => app.Logs.Lines.Any(l => l.Contains("Real-time delivery to Desk is on for org")), "the org's delivery loop");

            // Import is on and nothing failed: only the new field says why the backlog doesn't move (here).
            await Eventually.UntilAsync(() => DeliveryAsync(app).Result.GetProperty("backlog").GetInt64() == 1, "the new message in the backlog");
            var delivery = await DeliveryAsync(app);
            Assert.True(delivery.GetProperty("importEnabled").GetBoolean());
            Assert.Equal(JsonValueKind.Null, delivery.GetProperty("importOffReason").ValueKind);
            Assert.Equal(JsonValueKind.Null, delivery.GetProperty("lastError").ValueKind);
            Assert.Equal(other, delivery.GetProperty("leaseOwner").GetString());
            Assert.Equal(until, delivery.GetProperty("leaseUntil").GetDateTime(), TimeSpan.FromMilliseconds(1));
            var reason = delivery.GetProperty("waitingReason").GetString()!;
            Assert.Contains(other, reason);
            Assert.Contains($"{until:yyyy-MM-dd HH:mm:ss} UTC", reason);
        }

        var (owner, leaseUntil) = LeaseRows.Read(dataPath);
        Assert.Equal(other, owner);
        Assert.Equal(until, leaseUntil!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Single(_desk.Accepted); // and nothing was imported meanwhile: the other instance delivers
    }
    [Theory]
    [InlineData(500)] // a failure: it set the backoff, delaying the new holder's deliveries by up to five minutes
    [InlineData(401)] // a refusal: it parked the org and cleared the lease the other instance was delivering under
    public async Task ACallThatOutlivedItsLeaseLeavesTheNewHoldersDeliveryAlone(int status)
    {
        var dataPath = await ImportedOnceAndStoppedAsync();
        await using var app = new ChannelApp(dataPath, Settings);
        var calls = _desk.Calls.Count;
        _desk.Answer(status, """{"errorCode":"SOMETHING","message":"refused"}""", delay: TimeSpan.FromSeconds(4));
        (await app.PostInboundAsync(Fixtures.Sms("a call that outlives its lease"))).EnsureSuccessStatusCode();
        await Task.Delay(1500); // the call is on its way
        // Meanwhile the lease went to another instance (this one's expired, e.g. a paused VM).
        var until = DateTime.UtcNow.AddMinutes(10);
        LeaseRows.Hold(dataPath, OtherInstance, until);

        await Eventually.UntilAsync(() => _desk.Calls.Count > calls, "the slow call answered");
        await Eventually.UntilAsync(() => DeliveryAsync(app).Result.GetProperty("callsToday").GetInt32() >= 2, "the call counted",
            seen: () => DeliveryAsync(app).Result.GetRawText());
        var delivery = await DeliveryAsync(app);
        Assert.Equal(0, delivery.GetProperty("failures").GetInt32());
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("nextAttemptAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("parkedReason").ValueKind);
        Assert.Equal((OtherInstance, until), (LeaseRows.Read(dataPath).Owner, LeaseRows.Read(dataPath).Until!.Value));
    }

    [Fact]
    public async Task ASecurityContextRenewedThroughAnotherInstanceDoesNotParkTheOrgThisInstanceDeliversFor()
    {
        const string Renewed = "1000.renewed00000000000000000000000000.renewed00000000000000000000000000";
        await using var first = new ChannelApp(settings: Settings);
        await FakeDesk.SeedAsync(first);
        (await first.PostInboundAsync(Fixtures.Sms("before the renewal"))).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Count >= 1, "the first instance's import (it holds the lease)");

        // Desk authorises the extension again and its event, or the admin, reaches the other instance: a new
        // securityContext, and Desk refuses the old one from now on. The first instance reads installations every 30 s.
        await using var second = new ChannelApp(first.DataPath, Settings);
        using (var admin = second.Admin())
        {
            var id = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/installations")).EnumerateArray().Single().GetProperty("id").GetInt64();
            (await admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { orgId = Fixtures.OrgId, securityContext = Renewed })).EnsureSuccessStatusCode();
        }
        _desk.AnswerWhenContains(Fixtures.SecurityContext, 401, """{"errorCode":"INVALID_SECURITY_CONTEXT","message":"Invalid securityContext"}""");

        // Refused with the old securityContext is no sign of a revoked installation: it used to park the org (import
        // off until an admin resumed it) right after it had been renewed.
        var after = Fixtures.Sms("after the renewal");
        (await first.PostInboundAsync(after)).EnsureSuccessStatusCode();
        await Eventually.UntilAsync(() => _desk.Accepted.Any(c => c.ThreadExtIds.Contains(after["MessageSid"])), "the import with the renewed securityContext",
            seen: () => DeliveryAsync(first).Result.GetRawText());
        Assert.Equal(Renewed, _desk.Accepted.Last(c => c.ThreadExtIds.Contains(after["MessageSid"])).Form["securityContext"]);
        Assert.Equal(JsonValueKind.Null, (await DeliveryAsync(first)).GetProperty("parkedReason").ValueKind);
    }
}
