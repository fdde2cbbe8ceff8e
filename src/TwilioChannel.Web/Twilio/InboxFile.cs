using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>The inbox's SQLite file: beside the database file, named after it ("twilio-channel-inbox.db").</summary>
internal sealed class InboxFile
{
    public InboxFile(IServiceScopeFactory scopes)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var database = new SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(database))!;
        Path = System.IO.Path.Combine(folder, System.IO.Path.GetFileNameWithoutExtension(database) + "-inbox" + System.IO.Path.GetExtension(database));
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, DefaultTimeout = 30 }.ToString();
        Create();
    }

    public string Path { get; }

    /// <summary>The last entry found at start: left by the previous run, and acknowledged by it.</summary>
    public long LastAtStart { get; private set; }

    public string ConnectionString { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout=30000; PRAGMA synchronous=FULL;";
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Creates the file and its table (first start), in WAL mode. The schema's version is the file's user_version
    /// (1): a later change of this one table checks it and upgrades the file in place.</summary>
    public void Create()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS "Inbox" ("Id" INTEGER PRIMARY KEY AUTOINCREMENT, "ReceivedAt" INTEGER NOT NULL, "Form" TEXT NOT NULL);
            PRAGMA user_version=1;
            """;
        command.ExecuteNonQuery();
        command.CommandText = """SELECT coalesce(max("Id"), 0) FROM "Inbox" """;
        LastAtStart = Convert.ToInt64(command.ExecuteScalar());
    }
}
