using System.Data.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>
/// Sets one sender's opt-out of one customer, moving only forward in time: a STOP or START (or Twilio's 21610 refusal
/// of a reply) older than the stored one (a backfill, the reconciliation) doesn't undo it. Shared by routing (inbound
/// STOP/START) and replies (a 21610 refusal), so both write the same rows the same way.
/// </summary>
internal static class OptOutUpsert
{
    public const string Sql = """
        INSERT INTO "OptOuts" ("SenderKey", "CustomerAddress", "OptedOut", "UpdatedAt") VALUES (@p0, @p1, @p2, @p3)
        ON CONFLICT ("SenderKey", "CustomerAddress") DO UPDATE SET "OptedOut" = excluded."OptedOut", "UpdatedAt" = excluded."UpdatedAt"
        WHERE excluded."UpdatedAt" >= "OptOuts"."UpdatedAt"
        """;

    /// <summary>Records the customer as opted out of each of <paramref name="senderKeys"/> at <paramref name="at"/>.</summary>
    public static async Task OptedOutAsync(DbConnection connection, DbTransaction tx, IEnumerable<string> senderKeys, string customer, DateTime at)
    {
        await using var upsert = await PreparedCommand.CreateAsync(connection, tx, Sql, 4, CancellationToken.None);
        foreach (var key in senderKeys.Distinct()) await upsert.ExecuteAsync(CancellationToken.None, key, customer, true, at);
    }
}
