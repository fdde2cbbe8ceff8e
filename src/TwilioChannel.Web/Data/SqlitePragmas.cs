using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Every connection commits with synchronous=FULL: in WAL mode it fsyncs the log on every commit (NORMAL could lose the
/// last commits on power loss). The two writer loops switch their own connection to NORMAL and get the same guarantee
/// from Data/WalDurability, which fsyncs beside them before anyone is answered (see Data/WriterConnection).
/// temp_store=MEMORY keeps savepoint sub-journals (the InboundWriter routes under one) in memory instead of a temp file
/// created and deleted per transaction (measured: 60 MB of temp-file writes in 3 s at 1,000 messages/s).
/// wal_autocheckpoint=5000 (SQLite's default is 1,000 pages): a checkpoint runs inside the COMMIT of whichever
/// connection passes the threshold, usually the InboundWriter's, and with Twilio's random MessageSids each one copies
/// about as many random index leaves as it has pages, then fsyncs the database file. Fewer, larger checkpoints write a
/// leaf touched several times in between once: in two interleaved rounds at 256 and 512 connections the service stored
/// 9–15 % more webhooks per second and its p50 at 5,000/s fell from 31–35 to 8–12 ms (p99 unchanged); the WAL then
/// peaks near 20 MB instead of 4 MB (docs/benchmarks.md, session 6).
/// The settings live on the physical connection, which the pool reuses: they are applied once per connection.
/// </summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    private const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=5000;";
    private static readonly ConditionalWeakTable<object, object> Applied = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } || Applied.TryGetValue(handle, out _)) return;
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
        Applied.AddOrUpdate(handle, Pragmas);
    }
}
