using Microsoft.Data.Sqlite;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Delivery;

/// <summary>The org's delivery lease in a stopped service's database, read or set as another instance would leave it.</summary>
public static class LeaseRows
{
    public static (string? Owner, DateTime? Until) Read(string dataPath, string orgId = Fixtures.OrgId)
    {
        using var connection = Open(dataPath);
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT "LeaseOwner", "LeaseUntil" FROM "DeliveryCursors" WHERE "OrgId" = $org""";
        command.Parameters.AddWithValue("$org", orgId);
        using var row = command.ExecuteReader();
        Assert.True(row.Read(), $"no delivery cursor for org {orgId}");
        return (row.IsDBNull(0) ? null : row.GetString(0), row.IsDBNull(1) ? null : row.GetDateTime(1));
    }

    /// <summary>Another instance takes the lease until <paramref name="until"/> (UTC), as its TryLease would.</summary>
    public static void Hold(string dataPath, string owner, DateTime until, string orgId = Fixtures.OrgId)
    {
        using var connection = Open(dataPath);
        using var command = connection.CreateCommand();
        command.CommandText = """UPDATE "DeliveryCursors" SET "LeaseOwner" = $owner, "LeaseUntil" = $until WHERE "OrgId" = $org""";
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$until", until);
        command.Parameters.AddWithValue("$org", orgId);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private static SqliteConnection Open(string dataPath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataPath, "twilio-channel.db"), Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }
}
