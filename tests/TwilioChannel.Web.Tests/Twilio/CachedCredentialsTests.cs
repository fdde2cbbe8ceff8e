using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// Credentials changed through one instance, checked by another on the same database. Each instance caches auth tokens
/// (Twilio/AccountTokens) and Desk callers (Desk/DeskCallers) for 30 s, and only its own admin changes clear them.
/// </summary>
public sealed class CachedCredentialsTests : TwoInstancesTestsBase
{
    private const string NewToken = "fedcba9876543210fedcba9876543210";
    private const string Renewed = "1000.renewed00000000000000000000000000.renewed00000000000000000000000000";

    [Fact]
    public async Task AnAuthTokenRotatedThroughAnotherInstanceSignsWebhooksHereAtOnce()
    {
        Assert.Equal(HttpStatusCode.OK, (await First.PostInboundAsync(Fixtures.Sms("with the old token"))).StatusCode); // cached here

        // Twilio's secondary token promoted: the old one stops at once and webhooks are signed with the new one. Refused
        // here for up to 30 s, they were lost to the webhook (Twilio does not retry) until the reconciliation.
        using (var admin = Second.Admin())
        {
            var id = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/twilio-accounts")).EnumerateArray().Single().GetProperty("id").GetInt64();
            (await admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { authToken = NewToken })).EnsureSuccessStatusCode();
        }

        Assert.Equal(HttpStatusCode.OK, (await First.PostInboundAsync(Fixtures.Sms("with the new token"), token: NewToken)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await First.PostInboundAsync(Fixtures.Sms("with the old token again"))).StatusCode);
    }

    [Fact]
    public async Task ASecurityContextRenewedThroughAnotherInstanceIsAcceptedHereAtOnce()
    {
        using (var pull = await First.PullAsync()) { } // cached here

        // Desk authorised the extension again and its event reached the other instance: Desk's pulls and pushes now
        // carry the new securityContext. Refused here for up to 30 s, an agent's reply failed.
        using (var admin = Second.Admin())
        {
            var id = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/installations")).EnumerateArray().Single().GetProperty("id").GetInt64();
            (await admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { orgId = Fixtures.OrgId, securityContext = Renewed })).EnsureSuccessStatusCode();
        }

        using (var renewed = await First.PullRawAsync(new { channelState = "" }, securityContext: Renewed))
            Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        await Task.Delay(1100); // the old one is checked against the database too, at most once a second
        using var old = await First.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
    }
}
