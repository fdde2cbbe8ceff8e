using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Admin;

/// <summary>
/// Two admins creating the same resource at once: both pass the "already configured?" check, the unique index refuses
/// the second row, and it is answered 409. An expected outcome, so nothing is logged as an error.
/// </summary>
public sealed class ConcurrentCreateTests : IDisposable
{
    private const int Admins = 2;

    // Holds each create after its duplicate check until all have made it, so every one passes it and the unique index
    // (not the check) decides: without it, the second request usually found the first's row and never reached the save.
    private readonly ChecksMet _checks = new(Admins);
    private readonly ChannelApp _app;

    public ConcurrentCreateTests() =>
        _app = new ChannelApp { ConfigureServices = services => services.ConfigureDbContext<Web.Data.ChannelDbContext>(o => o.AddInterceptors(_checks)) };

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData("twilio-accounts", "\"TwilioAccounts\"")]
    [InlineData("installations", "\"Installations\"")]
    [InlineData("numbers", "\"Numbers\"")]
    public async Task ConcurrentCreatesOfTheSameResourceAreOneCreatedAndConflictsWithoutErrorLogs(string resource, string table)
    {
        if (resource == "numbers") await _app.SeedAsync(numbers: false);
        object body = resource switch
        {
            "twilio-accounts" => new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken },
            "installations" => new { orgId = Fixtures.OrgId, securityContext = Fixtures.SecurityContext },
            _ => new { address = Fixtures.SmsNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId },
        };
        using var admin = _app.Admin();
        _checks.Arm(table);

        var answers = await Task.WhenAll(Enumerable.Range(0, Admins).Select(_ => admin.PostAsJsonAsync($"/api/admin/{resource}", body)));

        Assert.True(_checks.AllPassed, "every request passed the duplicate check before any saved");
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.Equal(Admins - 1, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));
        Assert.Single((await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/admin/{resource}")).EnumerateArray());
        Assert.DoesNotContain(_app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASaveFailingForAnotherReasonIsStillLoggedAsAnError()
    {
        await using (var scope = _app.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<Web.Data.ChannelDbContext>().Database.ExecuteSqlRawAsync(
                """CREATE TRIGGER "Broken" BEFORE INSERT ON "TwilioAccounts" BEGIN SELECT RAISE(ABORT, 'disk says no'); END""");
        using var admin = _app.Admin();

        using var answer = await admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken });

        Assert.Equal(HttpStatusCode.InternalServerError, answer.StatusCode);
        Assert.Contains(_app.Logs.Lines, l => l.StartsWith("Error TwilioChannel.Web.Data.DatabaseErrorLog: Saving changes to ChannelDbContext failed.", StringComparison.Ordinal) && l.Contains("disk says no", StringComparison.Ordinal));
        Assert.Contains(_app.Logs.Lines, l => l.StartsWith("Error TwilioChannel.Web.Data.DatabaseErrorLog: A database command failed", StringComparison.Ordinal) && l.Contains("INSERT INTO \"TwilioAccounts\"", StringComparison.Ordinal));
    }

    /// <summary>Once armed, holds each "does it exist?" query on the table until as many have run as there are admins.</summary>
    private sealed class ChecksMet(int count) : DbCommandInterceptor
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _table;
        private int _seen;

        public bool AllPassed => _all.Task.IsCompleted;

        public void Arm(string table) => _table = table;

        public override async ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken ct = default)
        {
            if (_table is { } table && command.CommandText.StartsWith("SELECT EXISTS", StringComparison.Ordinal) && command.CommandText.Contains("FROM " + table, StringComparison.Ordinal))
            {
                if (Interlocked.Increment(ref _seen) == count) _all.TrySetResult();
                await _all.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            }
            return result;
        }
    }
}
