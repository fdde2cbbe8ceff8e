using Hangfire;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Drops the copies of agents' attachments (OutboundMedia) once no URL to them can work any more. A reply's files are
/// copied from Desk so that Twilio can fetch them from our signed URL (GET /media/out/{token}), which it does while it
/// sends; the URL expires after Twilio:MediaUrlLifetime, and after that the copy can never be read again. Kept, every
/// file an agent ever sent (up to 16 MB each on WhatsApp) stayed in the database for good. A day of margin covers a
/// lifetime shortened since a URL was made. Runs daily (Jobs, "Recurring").
/// </summary>
internal sealed class ReplyMediaCleanup(Data.GroupCommit commits, IOptions<TwilioApiOptions> twilio, TimeProvider time, ILogger<ReplyMediaCleanup> logger)
{
    public const string JobId = "reply-media-cleanup";

    private static readonly TimeSpan Margin = TimeSpan.FromDays(1);

    /// <summary>Files per transaction: each chunk is one short piece of a group commit (a file may be megabytes), so
    /// replies and status callbacks never wait behind a long delete.</summary>
    private const int Chunk = 20;

    private static readonly string DeleteChunk = $"""
        DELETE FROM "OutboundMedia" WHERE "Id" IN (SELECT "Id" FROM "OutboundMedia" WHERE "CreatedAt" < @p0 LIMIT {Chunk})
        """;

    [AutomaticRetry(Attempts = 3)]
    [JobDisplayName("Drop reply attachments whose URLs have expired")]
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow().UtcDateTime - twilio.Value.MediaUrlLifetime - Margin;
        var total = await commits.DeleteInChunksAsync(DeleteChunk, Chunk, cutoff, ct);
        if (total > 0) logger.LogInformation("Dropped {Count} reply attachments whose URLs expired before {Cutoff:u}.", total, cutoff);
        return total;
    }
}
