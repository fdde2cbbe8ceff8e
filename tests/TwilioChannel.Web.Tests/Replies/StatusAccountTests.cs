using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// POST /twilio/status from another tenant: its own Twilio account is configured here, so it can sign a callback that
/// passes the signature check, naming our reply's SID. Whichever comes first, that callback or our send claiming the
/// SID, our reply's status must stay ours.
/// </summary>
public sealed class StatusAccountTests : IAsyncLifetime
{
    private const string OtherAccount = "AC22222222222222222222222222222222";
    private const string OtherToken = "fedcba9876543210fedcba9876543210";
    private const string OtherOrg = "41414";
    private const string OtherNumber = "+14155550199";
    private const string OurSid = "SMbe6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c"; // twilio-message-created.json

    private readonly FakeTwilio _twilio = new();
    private readonly ChannelApp _app;

    public StatusAccountTests() => _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url });

    public async Task InitializeAsync()
    {
        await _app.SeedAsync();
        // The other tenant: its account, its Desk org and its number, configured by the same admin.
        using var admin = _app.Admin();
        (await admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = OtherAccount, authToken = OtherToken })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/installations", new { orgId = OtherOrg, securityContext = "1000.other-tenant" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = OtherNumber, accountSid = OtherAccount, orgId = OtherOrg })).EnsureSuccessStatusCode();
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnotherAccountsSignedStatusForOurSentReplyChangesNothingAndOursStillApplies(bool namesTheReply)
    {
        Assert.Equal(200, (await ReplyToAnaAsync("5151")).Status);
        var reply = await _app.ClaimedReplyIdAsync("5151");

        // At the callback URL our send gave Twilio for the message (a forger can copy it; the signature is theirs), or at
        // the bare route, where the reply is looked for by the SID.
        long? named = namesTheReply ? reply : null;
        Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("failed", "30006", named)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("read", replyId: named)).StatusCode);

        Assert.Null(await RowOrNullAsync());
        Assert.Empty(await _app.FailedAsync());
        Assert.Contains(_app.Logs.Lines, l => l.Contains($"Refused a Twilio status callback: the message is another account's ({OtherAccount})", StringComparison.Ordinal));
        AssertNoSecretsLogged();

        Assert.Equal(HttpStatusCode.NoContent, (await _app.StatusCallbackAsync(OurSid, "delivered")).StatusCode);
        var row = await RowAsync();
        Assert.Equal(("delivered", Fixtures.AccountSid, reply), (row.Status, row.AccountSid, row.ReplyId));
    }

    [Fact]
    public async Task AnotherAccountsStatusBeforeOurReplyClaimedTheSidIsDroppedAtTheClaim()
    {
        // The other account reports "undelivered" for the SID before our send call returned it to us.
        var (status, body) = await PushToAnaWithEarlyCallbacksAsync("5252", async reply =>
        {
            Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("undelivered", "63016", reply)).StatusCode);
            Assert.Equal(OtherAccount, (await RowAsync()).AccountSid);
        });
        Assert.Equal(200, status);
        Assert.Equal(OurSid, (string?)body["extId"]);

        // The claim kept nothing of it: not its status, error code nor addresses; the row is our reply's, in our org.
        var row = await RowAsync();
        Assert.NotNull(row.ReplyId);
        Assert.Equal(("queued", (int?)null, (string?)null, Fixtures.AccountSid, Fixtures.OrgId, Fixtures.WhatsAppNumber),
            (row.Status, row.ErrorCode, row.ErrorReason, row.AccountSid, row.OrgId, row.From));
        Assert.Empty(await _app.FailedAsync());
        Assert.Contains(_app.Logs.Lines, l => l.Contains($"the message is another account's (found when the reply claimed it) ({OtherAccount})", StringComparison.Ordinal));
        AssertNoSecretsLogged();

        // Our own account's later status applies as usual, and the other's still doesn't.
        Assert.Equal(HttpStatusCode.NoContent, (await _app.StatusCallbackAsync(OurSid, "delivered")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("failed", "30006", row.ReplyId)).StatusCode);
        row = await RowAsync();
        Assert.Equal(("delivered", (int?)null), (row.Status, row.ErrorCode));
    }

    [Fact]
    public async Task OurAccountsStatusBeforeTheClaimIsKeptWhenAnotherAccountReportsTheSidToo()
    {
        // Ours came first (the race every reply may hit); the other account's for the same unclaimed SID changes nothing.
        var (status, _) = await PushToAnaWithEarlyCallbacksAsync("5353", async reply =>
        {
            Assert.Equal(HttpStatusCode.NoContent, (await _app.StatusCallbackAsync(OurSid, "undelivered", "63016", reply)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("read", replyId: reply)).StatusCode);
            Assert.Contains(_app.Logs.Lines, l => l.Contains($"another account reported this unclaimed message first ({OtherAccount})", StringComparison.Ordinal));
        });
        Assert.Equal(200, status);

        var row = await RowAsync();
        Assert.Equal(("undelivered", (int?)63016, Fixtures.AccountSid), (row.Status, row.ErrorCode, row.AccountSid));
        var failed = Assert.Single(await _app.FailedAsync());
        Assert.Equal("5353", failed.GetProperty("deskThreadId").GetString());
    }

    [Fact]
    public async Task AReplyUpgradedWithoutAnAccountStillTakesItsGenuineStatusCallbacks()
    {
        // A reply sent before the upgrade has its status row from the send (without an account when the
        // OutboundStatusAccount migration found no number for it), no account of its own, and callbacks that name no
        // reply. Its Twilio callbacks must still count (the first signed one gives the row its account).
        Assert.Equal(200, (await ReplyToAnaAsync("5454")).Status);
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
            var reply = await db.Replies.SingleAsync(r => r.DeskThreadId == "5454");
            reply.AccountSid = null;
            db.OutboundStatuses.Add(new Data.OutboundStatus
            {
                MessageSid = OurSid, ReplyId = reply.Id, OrgId = reply.OrgId, Status = "queued", Rank = Domain.Replies.DeliveryStatus.Rank("queued"),
                To = reply.To, From = reply.From, UpdatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        Assert.Equal(HttpStatusCode.NoContent, (await PostStatusAsync(OurSid, "delivered", Fixtures.AccountSid, Fixtures.AuthToken, Fixtures.WhatsAppNumber)).StatusCode);

        var row = await RowAsync();
        Assert.Equal(("delivered", Fixtures.AccountSid), (row.Status, row.AccountSid));
        Assert.Equal(HttpStatusCode.NoContent, (await OtherAccountCallbackAsync("failed", "30006")).StatusCode);
        Assert.Equal("delivered", (await RowAsync()).Status);
    }

    // ---------- helpers ----------

    /// <summary>A status callback for our reply's SID, signed as the other tenant's account (valid for that account).</summary>
    private Task<HttpResponseMessage> OtherAccountCallbackAsync(string status, string? errorCode = null, long? replyId = null) =>
        PostStatusAsync(OurSid, status, OtherAccount, OtherToken, OtherNumber, errorCode, replyId);

    /// <summary>A status callback signed as <paramref name="account"/>, at the URL naming <paramref name="replyId"/> if any.</summary>
    private Task<HttpResponseMessage> PostStatusAsync(string sid, string status, string account, string token, string from, string? errorCode = null, long? replyId = null)
    {
        var form = ReplyApp.StatusForm(sid, status, errorCode);
        form["AccountSid"] = account;
        form["From"] = from;
        return _app.PostInboundAsync(form, token: token, path: ReplyApp.StatusPath(replyId));
    }

    private async Task<(int Status, System.Text.Json.Nodes.JsonObject Body)> PushToAnaWithEarlyCallbacksAsync(string deskThreadId, Func<long, Task> early)
    {
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
        return await _app.PushWithEarlyCallbacksAsync(_twilio, ReplyApp.Push("whatsapp:+5511987654321", "Hi Ana!", id: deskThreadId),
            Fixtures.Text("twilio-message-created.json"), early);
    }

    /// <summary>Ana writes on WhatsApp and an agent answers her; Twilio creates the fixture's message SID.</summary>
    private async Task<(int Status, System.Text.Json.Nodes.JsonObject Body)> ReplyToAnaAsync(string deskThreadId)
    {
        _twilio.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath(FakeTwilio.MessagesPath).UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
                .WithBody(Fixtures.Text("twilio-message-created.json")));
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
        return await _app.PushAsync(ReplyApp.Push("whatsapp:+5511987654321", "Hi Ana!", id: deskThreadId));
    }

    private async Task<Data.OutboundStatus> RowAsync() => await RowOrNullAsync() ?? throw new Xunit.Sdk.XunitException($"No status row for {OurSid}.");

    private async Task<Data.OutboundStatus?> RowOrNullAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OutboundStatuses.AsNoTracking().SingleOrDefaultAsync(s => s.MessageSid == OurSid);
    }

    private void AssertNoSecretsLogged()
    {
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains(OtherToken, StringComparison.Ordinal) || l.Contains(Fixtures.AuthToken, StringComparison.Ordinal));
        // The refusal names the reporting account only, never our reply's SID or account, so one tenant's operator
        // reading it learns nothing of another's messages.
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains("Refused", StringComparison.Ordinal) && (l.Contains(OurSid, StringComparison.Ordinal) || l.Contains(Fixtures.AccountSid, StringComparison.Ordinal)));
    }
}
