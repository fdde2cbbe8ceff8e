using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>The service's inbox file in a data folder (Twilio/InboxFile), read and written as a crash would leave it.</summary>
public static class InboxRows
{
    public static int Count(string dataPath)
    {
        using var connection = Open(dataPath);
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT count(*) FROM "Inbox" """;
        return Convert.ToInt32(command.ExecuteScalar());
    }

    /// <summary>An entry as the webhook appends it: the form as JSON, received now (or at <paramref name="receivedAt"/>).</summary>
    public static void Append(string dataPath, Dictionary<string, string> form, DateTime? receivedAt = null) =>
        AppendAll(dataPath, [form], receivedAt);

    /// <summary>Entries as <see cref="Append"/> writes them, in order, in one transaction.</summary>
    public static void AppendAll(string dataPath, IEnumerable<Dictionary<string, string>> forms, DateTime? receivedAt = null)
    {
        using var connection = Open(dataPath);
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.CommandText = """INSERT INTO "Inbox" ("ReceivedAt", "Form") VALUES ($at, $form)""";
        command.Parameters.AddWithValue("$at", (receivedAt ?? DateTime.UtcNow).Ticks);
        var form = command.Parameters.AddWithValue("$form", "");
        foreach (var entry in forms)
        {
            form.Value = JsonSerializer.Serialize(entry);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static SqliteConnection Open(string dataPath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataPath, "twilio-channel-inbox.db"), Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }
}
