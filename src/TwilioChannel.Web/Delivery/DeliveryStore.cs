using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Desk;

namespace TwilioChannel.Web.Delivery;

/// <summary>
/// The per-org delivery cursor and dead letters. Every write is one conditional statement (portable SQL: no MAX(),
/// no SQLite-only upserts), run through the group commit, so concurrent instances can't move a cursor backwards or
/// deliver for an org whose lease they don't hold.
/// </summary>
internal sealed class DeliveryStore(IServiceScopeFactory scopes, GroupCommit commits, TimeProvider time)
{
    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>Counts one Desk API call into the org's budget of the day (UTC), in the same statement as its outcome.</summary>
    private static string Counted(int dayParameter) =>
        $"\"CallsToday\" = CASE WHEN \"BudgetDay\" = @p{dayParameter} THEN \"CallsToday\" + 1 ELSE 1 END, \"BudgetDay\" = @p{dayParameter}";

    public string Today => Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<DeliveryCursor?> FindAsync(string orgId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        return await db.DeliveryCursors.AsNoTracking().SingleOrDefaultAsync(c => c.OrgId == orgId, ct);
    }

    public async Task<DeliveryCursor> LoadAsync(string orgId, CancellationToken ct)
    {
        if (await FindAsync(orgId, ct) is { } cursor) return cursor;
        await EnsureAsync(orgId);
        return (await FindAsync(orgId, ct))!;
    }

    /// <summary>An org's cursor row, created at the start of the feed when missing (@p0 org id, @p1 now).</summary>
    private const string Ensure = """
        INSERT INTO "DeliveryCursors" ("OrgId", "Position", "ImportedThrough", "Failures", "CallsToday", "UpdatedAt") VALUES (@p0, 0, 0, 0, 0, @p1)
        ON CONFLICT ("OrgId") DO NOTHING
        """;

    public Task EnsureAsync(string orgId) => commits.ExecuteAsync(Ensure, orgId, Now);

    /// <summary>Takes or renews the org's lease; false while another instance holds an unexpired one.</summary>
    public async Task<bool> TryLeaseAsync(string orgId, string owner, TimeSpan lease) => await commits.ExecuteAsync("""
        UPDATE "DeliveryCursors" SET "LeaseOwner" = @p1, "LeaseUntil" = @p2
        WHERE "OrgId" = @p0 AND ("LeaseOwner" IS NULL OR "LeaseOwner" = @p1 OR "LeaseUntil" < @p3)
        """, orgId, owner, Now + lease, Now) == 1;

    /// <summary>Who holds the org's lease now, if anyone.</summary>
    public async Task<string?> LeaseOwnerAsync(string orgId)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().DeliveryCursors.AsNoTracking()
            .Where(c => c.OrgId == orgId).Select(c => c.LeaseOwner).FirstOrDefaultAsync();
    }

    /// <summary>Takes the lease from <paramref name="dead"/>, a crashed process of this machine, if it still holds it.</summary>
    public async Task<bool> TakeOverLeaseAsync(string orgId, string dead, string owner, TimeSpan lease) => await commits.ExecuteAsync("""
        UPDATE "DeliveryCursors" SET "LeaseOwner" = @p2, "LeaseUntil" = @p3 WHERE "OrgId" = @p0 AND "LeaseOwner" = @p1
        """, orgId, dead, owner, Now + lease) == 1;

    /// <summary>Gives the lease back (graceful stop), only if <paramref name="owner"/> still holds it: an instance that
    /// took over after an expiry keeps its lease.</summary>
    public Task ReleaseLeaseAsync(string orgId, string owner) => commits.ExecuteAsync("""
        UPDATE "DeliveryCursors" SET "LeaseOwner" = NULL, "LeaseUntil" = NULL
        WHERE "OrgId" = @p0 AND "LeaseOwner" = @p1
        """, orgId, owner);

    /// <summary>Everything up to <paramref name="position"/> reached Desk (one call spent); clears the failure state.
    /// False: this instance lost the lease, and must stop delivering for the org.</summary>
    public async Task<bool> AdvanceAsync(string orgId, string owner, long position) => await commits.ExecuteAsync($"""
        UPDATE "DeliveryCursors" SET
            "Position" = CASE WHEN "Position" < @p2 THEN @p2 ELSE "Position" END,
            "ImportedThrough" = CASE WHEN "ImportedThrough" < @p2 THEN @p2 ELSE "ImportedThrough" END,
            "Failures" = 0, "NextAttemptAt" = NULL, "LastError" = NULL, "LastDeliveredAt" = @p3, "UpdatedAt" = @p3, {Counted(4)}
        WHERE "OrgId" = @p0 AND "LeaseOwner" = @p1
        """, orgId, owner, position, Now, Today) == 1;

    /// <summary>A call that failed (one call spent): retry after <paramref name="nextAttempt"/>. False: this instance lost
    /// the lease meanwhile (its call outlived it), and the backoff is not its to set: it delayed the new holder's
    /// deliveries by up to five minutes.</summary>
    public async Task<bool> FailAsync(string orgId, string owner, int failures, DateTime nextAttempt, string error) => await commits.ExecuteAsync($"""
        UPDATE "DeliveryCursors" SET "Failures" = @p1, "NextAttemptAt" = @p2, "LastError" = @p3, "UpdatedAt" = @p4, {Counted(5)}
        WHERE "OrgId" = @p0 AND "LeaseOwner" = @p6
        """, orgId, failures, nextAttempt, Clip(error), Now, Today, owner) == 1;

    /// <summary>A call whose outcome writes nothing else (a refused batch about to be halved): counted all the same.</summary>
    public Task CountCallAsync(string orgId) => commits.ExecuteAsync($"""
        UPDATE "DeliveryCursors" SET "UpdatedAt" = @p2, {Counted(1)}
        WHERE "OrgId" = @p0
        """, orgId, Today, Now);

    /// <summary>Parks the org's import and gives up the lease. False: this instance lost the lease meanwhile; the
    /// holder's own calls decide (it cleared a lease another instance held and was delivering under).</summary>
    public async Task<bool> ParkAsync(string orgId, string owner, string reason) => await commits.ExecuteAsync($"""
        UPDATE "DeliveryCursors" SET "ParkedReason" = @p1, "ParkedAt" = @p2, "LastError" = @p1, "UpdatedAt" = @p2,
            "LeaseOwner" = NULL, "LeaseUntil" = NULL, {Counted(3)}
        WHERE "OrgId" = @p0 AND "LeaseOwner" = @p4
        """, orgId, Clip(reason), Now, Today, owner) == 1;

    /// <summary>Ends the backoff of failure <paramref name="attempt"/> now; false when delivery has moved on since.</summary>
    public async Task<bool> RetryNowAsync(string orgId, int attempt) => await commits.ExecuteAsync("""
        UPDATE "DeliveryCursors" SET "NextAttemptAt" = NULL, "UpdatedAt" = @p2
        WHERE "OrgId" = @p0 AND "Failures" = @p1 AND "NextAttemptAt" IS NOT NULL AND "ParkedReason" IS NULL
        """, orgId, attempt, Now) == 1;

    /// <summary>Clears a park and any backoff, and the error they showed (the next failure sets its own); false when
    /// the org has no delivery state yet (or, <paramref name="onlyParked"/>, isn't parked).</summary>
    public async Task<bool> ResumeAsync(string orgId, bool onlyParked = false) => await commits.ExecuteAsync($"""
        UPDATE "DeliveryCursors" SET "ParkedReason" = NULL, "ParkedAt" = NULL, "Failures" = 0, "NextAttemptAt" = NULL, "LastError" = NULL, "UpdatedAt" = @p1
        WHERE "OrgId" = @p0{(onlyParked ? """ AND "ParkedReason" IS NOT NULL""" : "")}
        """, orgId, Now) == 1;

    /// <summary>
    /// A pull that sends back channelState "after N" proves Desk has everything up to N: import then continues after it
    /// instead of delivering it again. Never moves the cursor back, never past what exists.
    /// </summary>
    public Task ConfirmPulledAsync(string orgId, long position) => commits.RunAsync(async (connection, tx) =>
    {
        await using var ensure = await PreparedCommand.CreateAsync(connection, tx, Ensure, 2, CancellationToken.None);
        await ensure.ExecuteAsync(CancellationToken.None, orgId, Now);
        await using var confirm = await PreparedCommand.CreateAsync(connection, tx, """
            UPDATE "DeliveryCursors" SET "Position" = @p1, "UpdatedAt" = @p2
            WHERE "OrgId" = @p0 AND "Position" < @p1
              AND @p1 <= (SELECT COALESCE(MAX("Position"), 0) FROM "FeedThreads" WHERE "OrgId" = @p0)
            """, 3, CancellationToken.None);
        return await confirm.ExecuteAsync(CancellationToken.None, orgId, position, Now);
    });

    /// <summary>Sets one refused thread aside and moves past it, in one transaction. False: lease lost.</summary>
    public Task<bool> DeadLetterAsync(string orgId, string owner, FeedEntry entry, int statusCode, string reason) => commits.RunAsync(async (connection, tx) =>
    {
        await using var advance = await PreparedCommand.CreateAsync(connection, tx, $"""
            UPDATE "DeliveryCursors" SET "Position" = @p2, "ImportedThrough" = @p2, "UpdatedAt" = @p3, {Counted(4)}
            WHERE "OrgId" = @p0 AND "LeaseOwner" = @p1 AND "Position" < @p2
            """, 5, CancellationToken.None);
        if (await advance.ExecuteAsync(CancellationToken.None, orgId, owner, entry.Position, Now, Today) != 1) return false;
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "DeadLetters" ("OrgId", "FeedThreadId", "Position", "ExtId", "StatusCode", "Reason", "CreatedAt")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6)
            """, 7, CancellationToken.None);
        await insert.ExecuteAsync(CancellationToken.None, orgId, entry.Id, entry.Position, entry.ExtId, statusCode, Clip(reason), Now);
        return true;
    });


    private static string Clip(string text) => text.Length <= 1000 ? text : text[..1000] + "…";
}
