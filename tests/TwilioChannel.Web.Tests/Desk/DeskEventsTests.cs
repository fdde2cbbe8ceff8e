using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;
using static TwilioChannel.Web.Tests.Infrastructure.DeskEventPosts;

namespace TwilioChannel.Web.Tests.Desk;

/// <summary>
/// POST /desk/events: Desk's platform callbacks, signed with HASH = lowercase hex HMAC-SHA256(raw body, extension
/// secret). Only a genuine event may install, re-key or uninstall an org.
/// </summary>
public sealed class DeskEventsTests : IAsyncLifetime
{
    private const string ForgedContext = "1000.f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0.0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";
    private const string NewContext = "1000.1234567890abcdef1234567890abcdef.fedcba0987654321fedcba0987654321";

    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task ASignedInstallEventLetsTheOrgPull()
    {
        using var response = await _app.PostEventAsync(Fixtures.Text("desk-event-install.json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var pull = await _app.PullAsync();
        Assert.True(pull.RootElement.TryGetProperty("channelState", out _));
        var installation = Assert.Single(await InstallationsAsync());
        Assert.Equal(Fixtures.OrgId, installation.GetProperty("orgId").GetString());
        Assert.True(installation.GetProperty("hasSecurityContext").GetBoolean());
        Assert.True(installation.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task ASignedEventOfAnUnknownTypeIsAcknowledgedAndChangesNothing()
    {
        // It used to be treated as an install: an org created and enabled, its securityContext set.
        using var response = await _app.PostEventAsync(Event("onSomethingNew", "55555", "context-from-an-unknown-event"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("ignored", await response.Content.ReadAsStringAsync());

        Assert.Empty(await InstallationsAsync());
        Assert.Contains(_app.Logs.Lines, l => l.Contains("Desk event onSomethingNew for org 55555 is not one this service acts on; ignored.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("onZohoAuthorize")]
    [InlineData("onTPAAuthorise")]
    [InlineData("onUpdate")]
    public async Task EachSignedInstallLikeEventOfTheReferenceSetsTheSecurityContext(string name)
    {
        using var response = await _app.PostEventAsync(Event(name, "55555", "context-" + name));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var pull = await _app.PullRawAsync(new { channelState = "" }, orgId: "55555", securityContext: "context-" + name);
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task AnEventWhoseBodyStartsWithAByteOrderMarkIsAppliedAndItsHashCoversTheMark()
    {
        var body = "\uFEFF" + Fixtures.Text("desk-event-install.json"); // UTF-8 encodes it as EF BB BF
        Assert.Equal(0xEF, Encoding.UTF8.GetBytes(body)[0]);

        // Signed without the mark: not the bytes received, so refused.
        using (var unsigned = await _app.PostEventAsync(body, Hash(ChannelApp.ExtensionSecret, body[1..])))
            Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Empty(await InstallationsAsync());

        using var response = await _app.PostEventAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var installation = Assert.Single(await InstallationsAsync());
        Assert.Equal(Fixtures.OrgId, installation.GetProperty("orgId").GetString());
        Assert.True(installation.GetProperty("hasSecurityContext").GetBoolean());
    }

    [Fact]
    public async Task TheHashIsComputedOverTheRawBytesNotOverAReserialisedBody()
    {
        // Odd spacing and key order: a verifier that re-serialises the JSON would compute another HASH.
        var body = $"{{\n  \"securityContext\" :\"{Fixtures.SecurityContext}\",   \"orgId\":\"{Fixtures.OrgId}\",\"event\":\"onInstall\"\n}}";
        using var response = await _app.PostEventAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    public static TheoryData<string, string?> Forgeries => new()
    {
        { "wrong secret", Hash("not-the-extension-secret", ForgedInstall) },
        { "missing", null },
        { "empty", "" },
        { "signature of another body", Hash(ChannelApp.ExtensionSecret, Fixtures.Text("desk-event-install.json")) },
        { "truncated", Hash(ChannelApp.ExtensionSecret, ForgedInstall)[..32] },
        { "not hex", new string('z', 64) },
    };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task ForgedEventNeverReplacesTheSecurityContext(string forgery, string? hash)
    {
        await _app.SeedAsync(numbers: false);

        using var response = await _app.PostEventAsync(ForgedInstall, hash);
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{forgery}: {response.StatusCode}");

        using var original = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        using var forged = await _app.PullRawAsync(new { channelState = "" }, securityContext: ForgedContext);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
    }

    [Fact]
    public async Task AForgedInstallForANewOrgCreatesNothing()
    {
        var body = Event("onInstall", "99999", ForgedContext);
        using var response = await _app.PostEventAsync(body, Hash("guessed-secret", body));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        Assert.Empty(await InstallationsAsync());
        using var pull = await _app.PullRawAsync(new { channelState = "" }, orgId: "99999", securityContext: ForgedContext);
        Assert.Equal(HttpStatusCode.Forbidden, pull.StatusCode);
    }

    [Fact]
    public async Task AForgedUninstallLeavesTheOrgEnabled()
    {
        await _app.SeedAsync(numbers: false);
        var body = Event("onUninstall", Fixtures.OrgId, null);
        using var response = await _app.PostEventAsync(body, Hash("guessed-secret", body));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task WithoutAnExtensionSecretEvenACorrectlySignedEventIsRefused()
    {
        using var app = new ChannelApp(settings: new() { ["Desk:ExtensionSecret"] = "" });
        await app.SeedAsync(numbers: false);

        // Signed with the secret the sender believes in, and with the empty key an unconfigured service might use.
        using var signed = await app.PostEventAsync(ForgedInstall, Hash(ChannelApp.ExtensionSecret, ForgedInstall));
        Assert.Equal(HttpStatusCode.Forbidden, signed.StatusCode);
        using var emptyKey = await app.PostEventAsync(ForgedInstall, Hash("", ForgedInstall));
        Assert.Equal(HttpStatusCode.Forbidden, emptyKey.StatusCode);

        using var original = await app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        using var forged = await app.PullRawAsync(new { channelState = "" }, securityContext: ForgedContext);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
    }

    [Fact]
    public async Task AfterUninstallPullsAreRefusedUntilTheOrgInstallsAgain()
    {
        using (var install = await _app.PostEventAsync(Fixtures.Text("desk-event-install.json")))
            Assert.Equal(HttpStatusCode.OK, install.StatusCode);
        using (var pull = await _app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);

        using (var uninstall = await _app.PostEventAsync(Event("onUninstall", Fixtures.OrgId, Fixtures.SecurityContext)))
            Assert.Equal(HttpStatusCode.OK, uninstall.StatusCode);
        using (var pull = await _app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.Forbidden, pull.StatusCode);
        Assert.False(Assert.Single(await InstallationsAsync()).GetProperty("enabled").GetBoolean());

        using (var reinstall = await _app.PostEventAsync(Event("onInstall", Fixtures.OrgId, NewContext)))
            Assert.Equal(HttpStatusCode.OK, reinstall.StatusCode);
        using (var pull = await _app.PullRawAsync(new { channelState = "" }, securityContext: NewContext))
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        using (var old = await _app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
        Assert.True(Assert.Single(await InstallationsAsync()).GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task AnUninstallForAnUnknownOrgIsAcknowledgedAndCreatesNothing()
    {
        using var response = await _app.PostEventAsync(Event("onUninstall", "77777", null));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await InstallationsAsync());
    }

    [Fact]
    public async Task AConfigParamAddWithANewSecurityContextReplacesIt()
    {
        await _app.SeedAsync(numbers: false);

        using var response = await _app.PostEventAsync(Event("onConfigParamAdd", Fixtures.OrgId, NewContext));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var withNew = await _app.PullRawAsync(new { channelState = "" }, securityContext: NewContext);
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
        using var withOld = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.Forbidden, withOld.StatusCode);
        Assert.Single(await InstallationsAsync());
    }

    [Fact]
    public async Task AnEventWithoutASecurityContextKeepsTheStoredOne()
    {
        await _app.SeedAsync(numbers: false);

        using var response = await _app.PostEventAsync(Event("onUpdate", Fixtures.OrgId, null));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("{\"event\":\"onInstall\",\"orgId\":")]
    [InlineData("[\"onInstall\",\"28732\"]")]
    [InlineData("\"onInstall\"")]
    [InlineData("{\"event\":\"onInstall\",\"securityContext\":\"1000.abc\"}")]
    [InlineData("{\"orgId\":\"28732\",\"securityContext\":\"1000.abc\"}")]
    [InlineData("{\"event\":\"onInstall\",\"orgId\":{\"id\":\"28732\"},\"securityContext\":\"1000.abc\"}")]
    [InlineData("")]
    [InlineData("{\"event\":\"onInstall\",\"orgId\":\"28732\",\"securityContext\":\"\\ud800\"}")] // a 500 before
    public async Task GarbageWithAValidHashIsABadRequestAndChangesNothing(string body)
    {
        await _app.SeedAsync(numbers: false);

        using var response = await _app.PostEventAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);

        Assert.Single(await InstallationsAsync());
        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    public static TheoryData<string, string> UnusableContexts => new()
    {
        { Fixtures.OrgId, "   " },
        { Fixtures.OrgId, new string('a', 4097) },
        { "51001", new string('a', 4097) },
    };

    [Theory]
    [MemberData(nameof(UnusableContexts))]
    public async Task AnInstallEventWithASecurityContextNoPullCouldSendIsABadRequestAndChangesNothing(string orgId, string securityContext)
    {
        // Blanks were stored as the org's context (every pull and push a 403 from then on); one over the 4,096 characters
        // a pull may carry was dropped without a word while the org was created or enabled and Desk was told "ok".
        await _app.SeedAsync(numbers: false);

        using var response = await _app.PostEventAsync(Event("onInstall", orgId, securityContext));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("securityContext", await response.Content.ReadAsStringAsync());
        Assert.Single(await InstallationsAsync());
        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task AnOrgIdGivenAsAJsonNumberWorks()
    {
        var body = $"{{\"event\":\"onInstall\",\"orgId\":{Fixtures.OrgId},\"securityContext\":\"{Fixtures.SecurityContext}\"}}";
        using var response = await _app.PostEventAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(Fixtures.OrgId, Assert.Single(await InstallationsAsync()).GetProperty("orgId").GetString());
        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    public static TheoryData<string> OddOrgIds => new()
    {
        "28732/../1", "28 732", "org.example", "<script>", "28732\u0007", "28732\u0000", "\u00e9quipe", "   ", new string('1', 65),
    };

    [Theory]
    [MemberData(nameof(OddOrgIds))]
    public async Task ASignedEventForAnOrgIdTheAdminApiWouldRefuseIsABadRequestAndStoresNothing(string orgId)
    {
        // Desk signed it, but the admin API's rule (letters, digits, '-' and '_', at most 64) refuses the org id: an
        // installation under it could never be pulled or pushed for.
        foreach (var name in new[] { "onInstall", "onUninstall", "onSomethingNew" })
        {
            using var response = await _app.PostEventAsync(Event(name, orgId, NewContext));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString();
            Assert.Contains("orgId", message);
        }
        using (var admin = _app.Admin())
        using (var viaAdmin = await admin.PostAsJsonAsync("/api/admin/installations", new { orgId, securityContext = NewContext }))
            Assert.Equal(HttpStatusCode.BadRequest, viaAdmin.StatusCode);

        Assert.Empty(await InstallationsAsync());
        Assert.Contains(_app.Logs.Lines, l => l.Contains("Refused a Desk event: invalid orgId", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOrgIdGivenAsAJsonNumberWithAFractionIsABadRequest()
    {
        var body = $"{{\"event\":\"onInstall\",\"orgId\":28732.5,\"securityContext\":\"{Fixtures.SecurityContext}\"}}";
        using var response = await _app.PostEventAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await InstallationsAsync());
    }

    [Theory]
    [InlineData("org_A-1", "org_A-1")]
    [InlineData(" 28732\n", "28732")] // trimmed, as the admin API stores it, so both name the same installation
    public async Task AnOrgIdTheAdminApiAcceptsStillInstalls(string sent, string stored)
    {
        using var response = await _app.PostEventAsync(Event("onInstall", sent, NewContext));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(stored, Assert.Single(await InstallationsAsync()).GetProperty("orgId").GetString());
        using var pull = await _app.PullRawAsync(new { channelState = "" }, orgId: stored, securityContext: NewContext);
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task TheEventsSecurityContextIsNeverLogged()
    {
        using (var install = await _app.PostEventAsync(Event("onInstall", Fixtures.OrgId, NewContext)))
            Assert.Equal(HttpStatusCode.OK, install.StatusCode);
        using (var forged = await _app.PostEventAsync(ForgedInstall, Hash("guessed-secret", ForgedInstall)))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);

        Assert.NotEmpty(_app.Logs.Lines);
        Assert.DoesNotContain(_app.Logs.Lines, line => line.Contains(NewContext, StringComparison.Ordinal));
        Assert.DoesNotContain(_app.Logs.Lines, line => line.Contains(ForgedContext, StringComparison.Ordinal));
    }

    // ---------- helpers ----------

    private static readonly string ForgedInstall = Event("onInstall", Fixtures.OrgId, ForgedContext);

    private async Task<List<JsonElement>> InstallationsAsync()
    {
        using var admin = _app.Admin();
        var list = await admin.GetFromJsonAsync<List<JsonElement>>("/api/admin/installations");
        return list!;
    }
}
