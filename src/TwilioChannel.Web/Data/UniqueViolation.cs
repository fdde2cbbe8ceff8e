using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace TwilioChannel.Web.Data;

internal static class UniqueViolation
{
    /// <summary>Saves; false when a unique index refused the row (a concurrent duplicate that passed the pre-check).</summary>
    public static async Task<bool> TrySaveUniqueAsync(this DbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException ex) when (IsUnique(ex.InnerException))
        {
            return false;
        }
    }

    // SQLITE_CONSTRAINT_UNIQUE = 2067, _PRIMARYKEY = 1555; PostgreSQL's unique_violation is SQLSTATE 23505.
    public static bool IsUnique(Exception? ex) =>
        ex is SqliteException { SqliteExtendedErrorCode: 2067 or 1555 } || ex?.GetType().GetProperty("SqlState")?.GetValue(ex) as string == "23505";
}
