using System.Data.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>A thread to add to an org's feed outside the router: a reply's status, a delivery notice, a replay.</summary>
internal sealed record FeedAppend(string OrgId, long ConversationId, long MessageId, string ExtId, int Part, int MediaCount, string ThreadJson);

/// <summary>
/// Appends threads to the feed inside the caller's transaction with the next positions, under the feed counter's row
/// lock exactly like the router (see MessageRouter), so positions still become visible in increasing order.
/// </summary>
internal static class FeedAppender
{
    public static async Task AppendAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<FeedAppend> threads, CancellationToken ct)
    {
        if (threads.Count == 0) return;
        await using (var lockCounter = await PreparedCommand.CreateAsync(connection, tx, """UPDATE "Counters" SET "Value" = "Value" WHERE "Name" = @p0""", 1, ct))
            await lockCounter.ExecuteAsync(ct, Counter.Feed);
        long position;
        await using (var read = await PreparedCommand.CreateAsync(connection, tx, """SELECT "Value" FROM "Counters" WHERE "Name" = @p0""", 1, ct))
            position = Convert.ToInt64(await read.ScalarAsync(ct, Counter.Feed));
        await using (var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "FeedThreads" ("Position", "OrgId", "ConversationId", "MessageId", "ExtId", "Part", "MediaCount", "ThreadJson")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)
            """, 8, ct))
        {
            foreach (var t in threads)
                await insert.ExecuteAsync(ct, ++position, t.OrgId, t.ConversationId, t.MessageId, t.ExtId, t.Part, t.MediaCount, t.ThreadJson);
        }
        await using var advance = await PreparedCommand.CreateAsync(connection, tx, """UPDATE "Counters" SET "Value" = @p0 WHERE "Name" = @p1""", 2, ct);
        await advance.ExecuteAsync(ct, position, Counter.Feed);
    }
}
