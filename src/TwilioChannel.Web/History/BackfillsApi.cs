using System.Globalization;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Admin;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.History;

/// <summary>
/// POST /api/admin/numbers/{id}/backfill {"since": "2026-11-01"} starts a history backfill (202 + Location);
/// GET /api/admin/backfills[/{id}] reports state, pages and messages fetched, and the date reached (Twilio gives no
/// totals, so progress is by dates); POST /api/admin/backfills/{id}/cancel (or DELETE) stops it. One active backfill
/// per number at a time (409).
/// </summary>
internal static class BackfillsApi
{
    public sealed record StartRequest(string? Since) : AdminRequest;

    public sealed record BackfillResponse(long Id, long NumberId, string Address, string OrgId, DateTime Since, string State, string Phase,
        int PagesFetched, long MessagesFetched, long MessagesStored, long MessagesRouted, DateTime? ReachedDate, string? Error,
        DateTime CreatedAt, DateTime UpdatedAt, DateTime? CompletedAt)
    {
        public static BackfillResponse From(Backfill b) => new(b.Id, b.NumberId, b.Address, b.OrgId, b.Since, b.State.ToString().ToLowerInvariant(),
            b.Phase switch { 0 => "to-number", 1 => "from-number", _ => "done" },
            b.PagesFetched, b.MessagesFetched, b.MessagesStored, b.MessagesRouted, b.ReachedDate, b.Error, b.CreatedAt, b.UpdatedAt, b.CompletedAt);
    }

    public static RouteGroupBuilder MapBackfills(this RouteGroupBuilder admin)
    {
        admin.MapPost("/numbers/{id:long}/backfill", StartAsync);
        admin.MapGet("/backfills", async (ChannelDbContext db, CancellationToken ct) =>
            TypedResults.Ok((await db.Backfills.AsNoTracking().OrderByDescending(b => b.Id).Take(200).ToListAsync(ct)).Select(BackfillResponse.From)));
        admin.MapGet("/backfills/{id:long}", async (long id, ChannelDbContext db, CancellationToken ct) =>
            await db.Backfills.AsNoTracking().SingleOrDefaultAsync(b => b.Id == id, ct) is { } b ? Results.Ok(BackfillResponse.From(b)) : Validation.NotFound("backfill", id));
        admin.MapPost("/backfills/{id:long}/cancel", CancelAsync);
        admin.MapDelete("/backfills/{id:long}", CancelAsync);
        return admin;
    }

    private static async Task<IResult> StartAsync(long id, StartRequest? request, ChannelDbContext db, HistoryScheduler scheduler, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var validation = new Validation().Required("since", request?.Since, 40);
        DateTime since = default;
        if (request?.Since is { Length: > 0 and <= 40 } text)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                validation.Add("since", "since must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z.");
            else if ((since = parsed.UtcDateTime) > now)
                validation.Add("since", "since is in the future.");
        }
        if (!validation.IsValid) return validation.Problem();

        var number = await db.Numbers.AsNoTracking().SingleOrDefaultAsync(n => n.Id == id, ct);
        if (number is null) return Validation.NotFound("number", id);
        if (await db.Backfills.AnyAsync(b => b.NumberId == id && b.State < BackfillState.Completed, ct))
            return Validation.Conflict($"A backfill of {number.Address} is already running; cancel it first.");

        var backfill = new Backfill
        {
            NumberId = number.Id, OrgId = number.OrgId, AccountSid = number.AccountSid, Address = number.Address, Since = since,
            State = BackfillState.Queued, CreatedAt = now, UpdatedAt = now,
        };
        db.Backfills.Add(backfill);
        await db.SaveChangesAsync(ct);
        scheduler.Wake(); // the job is enqueued off the request path (HistoryScheduler), with retries
        return TypedResults.Accepted($"/api/admin/backfills/{backfill.Id}", BackfillResponse.From(backfill));
    }

    private static async Task<IResult> CancelAsync(long id, ChannelDbContext db, IBackgroundJobClient jobs, HistoryScheduler scheduler, TimeProvider time, CancellationToken ct)
    {
        var backfill = await db.Backfills.SingleOrDefaultAsync(b => b.Id == id, ct);
        if (backfill is null) return Validation.NotFound("backfill", id);
        if (backfill.State >= BackfillState.Completed)
            return Validation.Conflict($"The backfill already ended ({backfill.State.ToString().ToLowerInvariant()}).");
        // The job stops at its next page or chunk; a queued one never starts.
        backfill.CancelRequested = true;
        backfill.UpdatedAt = time.GetUtcNow().UtcDateTime;
        if (backfill.State == BackfillState.Queued)
        {
            backfill.State = BackfillState.Cancelled;
            backfill.CompletedAt = backfill.UpdatedAt;
            // Best effort: a queued job that still runs finds CancelRequested and stops at once.
            if (backfill.JobId is { } job) TryDelete(jobs, job);
        }
        await db.SaveChangesAsync(ct);
        // A job waiting for its retry (up to 15 minutes) or given up would not see the cancel: the scheduler ends those.
        scheduler.WakeForBackfills();
        return TypedResults.Accepted($"/api/admin/backfills/{id}", BackfillResponse.From(backfill));
    }

    private static void TryDelete(IBackgroundJobClient jobs, string jobId)
    {
        try
        {
            jobs.Delete(jobId);
        }
        catch (Exception)
        {
            // The job storage was busy; the job checks CancelRequested first thing.
        }
    }
}
