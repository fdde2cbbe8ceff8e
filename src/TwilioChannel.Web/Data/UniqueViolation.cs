using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace TwilioChannel.Web.Data;

internal static class UniqueViolation
{
    private static readonly AsyncLocal<bool> Expecting = new();

    /// <summary>Whether the current flow is in <see cref="TrySaveUniqueAsync"/>: its unique violation is an answer (409),
    /// not an error to log (Data/DatabaseErrorLog).</summary>
    public static bool Expected => Expecting.Value;

    /// <summary>Saves; false when a unique index refused the row (a concurrent duplicate that passed the pre-check).</summary>
    public static async Task<bool> TrySaveUniqueAsync(this DbContext db, CancellationToken ct)
    {
        Expecting.Value = true;
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException ex) when (IsUnique(ex.InnerException))
        {
            return false;
        }
        finally
        {
            Expecting.Value = false;
        }
    }

    // SQLITE_CONSTRAINT_UNIQUE = 2067, _PRIMARYKEY = 1555; PostgreSQL's unique_violation is SQLSTATE 23505.
    public static bool IsUnique(Exception? ex) =>
        ex is SqliteException { SqliteExtendedErrorCode: 2067 or 1555 } || ex?.GetType().GetProperty("SqlState")?.GetValue(ex) as string == "23505";
}
