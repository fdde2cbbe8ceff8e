using Hangfire;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Drops the delivery statuses no reply of ours has claimed for a week. A status callback may come before the send call
/// that made its SID returned to us, so a callback for an unknown SID is stored and the reply attaches to it within
/// seconds (Replies/StatusStore). A row still unclaimed after a week never will be: it is another sender's message,
/// typically because our /twilio/status URL is set on a Messaging Service that other applications also send through,
/// which would otherwise grow the table by one row per message they send, for ever. Runs daily (Jobs, "Recurring").
/// </summary>
internal sealed class UnclaimedStatusCleanup(Data.GroupCommit commits, TimeProvider time, ILogger<UnclaimedStatusCleanup> logger)
{
    public const string JobId = "unclaimed-status-cleanup";

    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    /// <summary>Rows per transaction: each chunk is one short piece of a group commit, so replies and status callbacks
    /// never wait behind a long delete.</summary>
    private const int Chunk = 1_000;

    private static readonly string DeleteChunk = $"""
        DELETE FROM "OutboundStatuses" WHERE "MessageSid" IN (
            SELECT "MessageSid" FROM "OutboundStatuses" WHERE "ReplyId" IS NULL AND "UpdatedAt" < @p0 LIMIT {Chunk})
        """;

    [AutomaticRetry(Attempts = 3)]
    [JobDisplayName("Drop delivery statuses no reply claimed for 7 days")]
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow().UtcDateTime - Keep;
        var total = await commits.DeleteInChunksAsync(DeleteChunk, Chunk, cutoff, ct);
        if (total > 0) logger.LogInformation("Dropped {Count} delivery statuses of messages no reply of ours claimed since {Cutoff:u}.", total, cutoff);
        return total;
    }
}
