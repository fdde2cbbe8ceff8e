using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Tests.Database;

/// <summary>
/// The upgrade that gave delivery statuses their Twilio account: replies sent before it get their sending number's
/// account, so another account's status callback can't change them after the upgrade either.
/// </summary>
public sealed class OutboundStatusAccountMigrationTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), "twilio-channel-tests", Guid.NewGuid().ToString("N") + ".db");

    [Fact]
    public async Task RepliesSentBeforeTheUpgradeGetTheirSendingNumbersAccountAndUnclaimedStatusesNone()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        await using var db = new ChannelDbContext(new DbContextOptionsBuilder<ChannelDbContext>()
            .UseSqlite(new SqliteConnectionStringBuilder { DataSource = _file, Pooling = false }.ToString()).Options);
        var migrator = db.GetService<IMigrator>();
        await migrator.MigrateAsync("20261126091422_TemplateInvites");

        await db.Database.ExecuteSqlRawAsync("""
            INSERT INTO "Numbers" ("OrgId", "AccountSid", "Address", "Channel", "MessagingServiceSid", "IsDefault", "CreatedAt") VALUES
                ('org-a', 'AC11111111111111111111111111111111', '+14155550100', 0, NULL, 1, '2026-11-01'),
                ('org-b', 'AC22222222222222222222222222222222', '+14155550199', 0, 'MG22222222222222222222222222222222', 1, '2026-11-01');
            INSERT INTO "OutboundStatuses" ("MessageSid", "ReplyId", "OrgId", "Status", "Rank", "From", "UpdatedAt") VALUES
                ('SM-by-number', 1, 'org-a', 'sent', 3, '+14155550100', '2026-11-02'),
                ('SM-by-service', 2, 'org-b', 'sent', 3, 'MG22222222222222222222222222222222', '2026-11-02'),
                ('SM-other-org', 3, 'org-a', 'sent', 3, '+14155550199', '2026-11-02'),
                ('SM-unclaimed', NULL, NULL, 'delivered', 5, '+14155550100', '2026-11-02');
            """);

        await migrator.MigrateAsync();

        var accounts = await db.OutboundStatuses.AsNoTracking().ToDictionaryAsync(s => s.MessageSid, s => s.AccountSid);
        Assert.Equal("AC11111111111111111111111111111111", accounts["SM-by-number"]);
        Assert.Equal("AC22222222222222222222222222222222", accounts["SM-by-service"]);
        Assert.Null(accounts["SM-other-org"]); // a number of another org is never taken for the reply's
        Assert.Null(accounts["SM-unclaimed"]);
    }

    public void Dispose()
    {
        if (File.Exists(_file)) File.Delete(_file);
    }
}
