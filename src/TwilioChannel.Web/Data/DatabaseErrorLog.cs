using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Logs EF Core's failed commands and saves at Error, except the unique violation a caller expects and answers itself
/// (Data/UniqueViolation: two admins creating the same number at once get 201 and 409). EF logs those two events
/// (RelationalEventId.CommandError, CoreEventId.SaveChangesFailed) at Error on its own, with no way to tell an expected
/// failure from a real one: they are set to Debug where the DbContext is configured (Data/DataExtensions), and this
/// interceptor, which sees the caller's flow, says the real ones at Error in their place.
/// </summary>
internal sealed class DatabaseErrorLog(ILogger<DatabaseErrorLog> logger) : DbCommandInterceptor, ISaveChangesInterceptor
{
    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => CommandError(command, eventData);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        CommandError(command, eventData);
        return Task.CompletedTask;
    }

    public void SaveChangesFailed(DbContextErrorEventData eventData) => SaveError(eventData);

    public Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        SaveError(eventData);
        return Task.CompletedTask;
    }

    private void CommandError(DbCommand command, CommandErrorEventData eventData)
    {
        if (Expected(eventData.Exception)) return;
        // The SQL as EF logged it (without parameter values: they may hold secrets, and EF leaves them out too).
        logger.LogError(eventData.Exception, "A database command failed ({Elapsed} ms): {CommandText}", (long)eventData.Duration.TotalMilliseconds, command.CommandText);
    }

    private void SaveError(DbContextErrorEventData eventData)
    {
        if (Expected(eventData.Exception)) return;
        logger.LogError(eventData.Exception, "Saving changes to {Context} failed.", eventData.Context?.GetType().Name);
    }

    private static bool Expected(Exception exception) =>
        exception is OperationCanceledException
        || (UniqueViolation.Expected && UniqueViolation.IsUnique(exception is DbUpdateException { InnerException: { } inner } ? inner : exception));
}
