using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Admin;

/// <summary>The admin JSON API under /api/admin: bearer auth, CRUD of accounts, installations and numbers, validation
/// as Problem Details, and secrets that go in but never come out (responses or logs).</summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private const string OtherAccountSid = "AC22222222222222222222222222222222";
    private const string OtherOrgId = "51001";

    private readonly ChannelApp _app = new();
    private HttpClient _admin = null!;

    public Task InitializeAsync()
    {
        _admin = _app.Admin();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _admin.Dispose();
        _app.Dispose();
        return Task.CompletedTask;
    }

    // ---------- auth token rotation ----------

    [Fact]
    public async Task AnAccountsAuthTokenCanBeRotatedWhileItsNumbersStay()
    {
        // Twilio lets an owner promote the secondary auth token (after a leak, or routinely); the old one stops at once
        // and every webhook is signed with the new one. POST refused the known account (409) and DELETE refused an
        // account with numbers (409): the only way was to delete every number first, while webhooks got 403 (Twilio
        // does not retry them) and reconciliation, calling Twilio with the old token, could not recover them.
        await _app.SeedAsync();
        var id = (await _admin.GetFromJsonAsync<JsonElement>("/api/admin/twilio-accounts")).EnumerateArray().Single().GetProperty("id").GetInt64();
        const string rotated = "rotated-auth-token-0123456789";

        using (var put = await _admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { authToken = rotated, friendlyName = "Main" }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var body = await put.Content.ReadAsStringAsync();
            Assert.Contains("\"friendlyName\":\"Main\"", body);
            Assert.DoesNotContain(rotated, body);
        }

        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(Fixtures.Sms("signed with the new token"), token: rotated)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _app.PostInboundAsync(Fixtures.Sms("signed with the old token"), token: Fixtures.AuthToken)).StatusCode);
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains(rotated));

        using var missing = await _admin.PutAsJsonAsync("/api/admin/twilio-accounts/999999", new { authToken = rotated });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var blank = await _admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { authToken = " " });
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);

        // The SID can't change: another SID is refused (it was ignored with a 200), the same one is fine.
        using var other = await _admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { accountSid = "AC" + new string('f', 32), friendlyName = "Renamed" });
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("accountSid", await other.Content.ReadAsStringAsync());
        using var same = await _admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{id}", new { accountSid = Fixtures.AccountSid, friendlyName = "Renamed" });
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        var account = await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/twilio-accounts/{id}");
        Assert.Equal(Fixtures.AccountSid, account.GetProperty("accountSid").GetString());
        Assert.Equal("Renamed", account.GetProperty("friendlyName").GetString());
    }

    // ---------- authentication ----------

    [Theory]
    [InlineData("/api/admin/twilio-accounts")]
    [InlineData("/api/admin/installations")]
    [InlineData("/api/admin/numbers")]
    [InlineData("/api/admin/messages")]
    public async Task RequestsWithoutABearerKeyAreUnauthorizedWithABearerChallenge(string path)
    {
        using var response = await _app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Theory]
    [InlineData("Bearer", "not-the-admin-key-0000000000000000")]
    [InlineData("Bearer", ChannelApp.AdminKey + "x")]
    [InlineData("Bearer", "")]
    [InlineData("Basic", ChannelApp.AdminKey)]
    public async Task RequestsWithAWrongKeyOrSchemeAreUnauthorizedAndChangeNothing(string scheme, string key)
    {
        using var client = _app.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {key}".Trim());

        using var list = await client.GetAsync("/api/admin/twilio-accounts");
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Contains(list.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");

        using var create = await client.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken });
        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
        Assert.Empty(await ListAsync("twilio-accounts"));
    }

    [Fact]
    public async Task AConfiguredKeyEndingWithANewlineStillLetsTheAdminIn()
    {
        // A key set from a secret file (Docker, Kubernetes) usually ends with a newline; it was compared as is, so every
        // request was a 401 for the key the admin was given.
        using var app = new ChannelApp(settings: new() { ["Admin:ApiKey"] = ChannelApp.AdminKey + "\n" });
        using var admin = app.Admin();

        using var response = await admin.GetAsync("/api/admin/twilio-accounts");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // ---------- create / list / delete ----------

    [Fact]
    public async Task ATwilioAccountIsCreatedListedAndDeleted()
    {
        var id = await CreatedIdAsync("twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken, friendlyName = "Main" });

        var listed = Assert.Single(await ListAsync("twilio-accounts"));
        Assert.Equal(id, listed.GetProperty("id").GetInt64());
        Assert.Equal(Fixtures.AccountSid, listed.GetProperty("accountSid").GetString());
        Assert.Equal("Main", listed.GetProperty("friendlyName").GetString());

        await AssertDeletedAsync("twilio-accounts", id);
    }

    [Fact]
    public async Task AnInstallationIsCreatedListedAndDeleted()
    {
        var id = await CreatedIdAsync("installations", new { orgId = Fixtures.OrgId, securityContext = Fixtures.SecurityContext, connectionLinkName = "deskconnection" });

        var listed = Assert.Single(await ListAsync("installations"));
        Assert.Equal(id, listed.GetProperty("id").GetInt64());
        Assert.Equal(Fixtures.OrgId, listed.GetProperty("orgId").GetString());
        Assert.Equal("deskconnection", listed.GetProperty("connectionLinkName").GetString());
        Assert.True(listed.GetProperty("hasSecurityContext").GetBoolean());
        Assert.True(listed.GetProperty("enabled").GetBoolean());

        await AssertDeletedAsync("installations", id);
    }

    [Fact]
    public async Task AnAdminCanTurnAnOrgOffAndOnAgain()
    {
        // There was no way to: "enabled" was read-only and silently ignored, and every PUT turned the org on.
        var id = await CreatedIdAsync("installations", new { orgId = Fixtures.OrgId, securityContext = Fixtures.SecurityContext });

        using (var off = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { enabled = false }))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            Assert.False(off.Headers.Contains("Warning"));
            Assert.False((await off.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("enabled").GetBoolean());
        }
        using (var pull = await _app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.Forbidden, pull.StatusCode);

        // A PUT without "enabled" turns it on, as a PUT always did.
        using (var on = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { connectionLinkName = "deskconnection" }))
            Assert.True((await on.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("enabled").GetBoolean());
        using (var pull = await _app.PullRawAsync(new { channelState = "" }))
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task ANumberIsCreatedListedAndDeleted()
    {
        await _app.SeedAsync(numbers: false);
        var id = await CreatedIdAsync("numbers", new { address = Fixtures.SmsNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });

        var listed = Assert.Single(await ListAsync("numbers"));
        Assert.Equal(id, listed.GetProperty("id").GetInt64());
        Assert.Equal(Fixtures.SmsNumber, listed.GetProperty("address").GetString());
        Assert.Equal(Fixtures.AccountSid, listed.GetProperty("accountSid").GetString());
        Assert.Equal(Fixtures.OrgId, listed.GetProperty("orgId").GetString());

        await AssertDeletedAsync("numbers", id);
    }

    // ---------- duplicates ----------

    [Fact]
    public async Task ASecondAccountWithTheSameAccountSidIsAConflict()
    {
        await CreatedIdAsync("twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = Fixtures.AuthToken });
        using var again = await _admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = "another-token-000000000000000000" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Single(await ListAsync("twilio-accounts"));
    }

    [Fact]
    public async Task ASidTypedInUpperCaseIsStoredAsTwilioWritesItSoItsWebhooksPass()
    {
        // Twilio's webhooks carry "AC" + lower-case hex; an account stored as typed matched none of them (all 403), and
        // the same account in lower case was accepted beside it.
        var sid = "AC" + string.Concat(Enumerable.Repeat("ab", 16));
        var upper = "AC" + string.Concat(Enumerable.Repeat("AB", 16));
        var id = await CreatedIdAsync("twilio-accounts", new { accountSid = upper, authToken = Fixtures.AuthToken });
        Assert.Equal(sid, (await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/twilio-accounts/{id}")).GetProperty("accountSid").GetString());
        using (var again = await _admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = sid, authToken = Fixtures.AuthToken }))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        await CreatedIdAsync("installations", new { orgId = Fixtures.OrgId, securityContext = Fixtures.SecurityContext });
        var number = await CreatedIdAsync("numbers", new { address = Fixtures.SmsNumber, accountSid = upper, orgId = Fixtures.OrgId, messagingServiceSid = "MG" + new string('A', 32) });
        var stored = await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/numbers/{number}");
        Assert.Equal(sid, stored.GetProperty("accountSid").GetString());
        Assert.Equal("MG" + new string('a', 32), stored.GetProperty("messagingServiceSid").GetString());

        var webhook = Fixtures.Sms("hello");
        webhook["AccountSid"] = sid;
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(webhook)).StatusCode);
    }

    [Fact]
    public async Task ABlankSecurityContextIsRefusedAndKeepsTheOneDeskUses()
    {
        // "   " was stored as the org's securityContext: every pull and push of the org was a 403 from then on, the
        // working context gone, with a 200 for the admin (found by a hostile review).
        await _app.SeedAsync(numbers: false);
        var id = (await ListAsync("installations")).Single().GetProperty("id").GetInt64();

        using var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { securityContext = "   " });
        await AssertValidationProblemAsync(put, "securityContext");
        using var post = await _admin.PostAsJsonAsync("/api/admin/installations", new { orgId = OtherOrgId, securityContext = "\n" });
        await AssertValidationProblemAsync(post, "securityContext");

        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        Assert.Single(await ListAsync("installations"));
    }

    [Fact]
    public async Task ASecurityContextEndingWithANewlineIsStoredAsDeskSendsIt()
    {
        // Set from a file or a copied line, it kept its newline and matched no pull or push of Desk's: every one a 403.
        await _app.SeedAsync(numbers: false);
        var id = (await ListAsync("installations")).Single().GetProperty("id").GetInt64();

        using var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { securityContext = " rotated-context-0123\n" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        using var pull = await _app.PullRawAsync(new { channelState = "" }, securityContext: "rotated-context-0123");
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Theory]
    [InlineData("  ", null)]
    [InlineData(" twilio_conn\n", "twilio_conn")]
    public async Task AConnectionLinkNameIsStoredTrimmedAndBlanksTurnImportOff(string given, string? stored)
    {
        // "  " was stored as the org's connection: import counted as on and every call named a connection Desk doesn't
        // have; a name with a newline the same. Desk's connection names have no blanks around them.
        await _app.SeedAsync(numbers: false);
        var id = (await ListAsync("installations")).Single().GetProperty("id").GetInt64();

        using var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { connectionLinkName = given });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var installation = (await ListAsync("installations")).Single();
        Assert.Equal(stored, installation.GetProperty("connectionLinkName").GetString());
        if (stored is null)
            Assert.Equal("No connectionLinkName for this org.", (await ListAsync("deliveries")).Single().GetProperty("importOffReason").GetString());
    }

    [Fact]
    public async Task ASecondInstallationForTheSameOrgIsAConflictAndKeepsTheFirstSecurityContext()
    {
        await _app.SeedAsync(numbers: false);
        using var again = await _admin.PostAsJsonAsync("/api/admin/installations", new { orgId = Fixtures.OrgId, securityContext = "a-second-context" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Single(await ListAsync("installations"));

        using var original = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        using var second = await _app.PullRawAsync(new { channelState = "" }, securityContext: "a-second-context");
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
    }

    [Theory]
    [InlineData("+14155550100", "+1 (415) 555-0100")]
    [InlineData("+1 (415) 555-0100", "+14155550100")]
    [InlineData("+14155550100", " +1-415-555-0100 ")]
    [InlineData("whatsapp:+14155238886", "whatsapp:+1 415 523 8886")]
    [InlineData("whatsapp:+1 415 523 8886", "WhatsApp:+14155238886")]
    public async Task TheSameNumberWrittenDifferentlyIsAConflict(string first, string second)
    {
        await _app.SeedAsync(numbers: false);
        await CreatedIdAsync("numbers", new { address = first, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });

        using var again = await _admin.PostAsJsonAsync("/api/admin/numbers", new { address = second, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Single(await ListAsync("numbers"));
    }

    // ---------- validation ----------

    [Theory]
    [InlineData("{\"accountSid\":\"AC123\",\"authToken\":\"token\"}", "accountSid")]
    [InlineData("{\"accountSid\":\"XX11111111111111111111111111111111\",\"authToken\":\"token\"}", "accountSid")]
    [InlineData("{\"accountSid\":\"AC1111111111111111111111111111111z\",\"authToken\":\"token\"}", "accountSid")]
    [InlineData("{\"authToken\":\"token\"}", "accountSid")]
    [InlineData("{\"accountSid\":\"AC11111111111111111111111111111111\"}", "authToken")]
    [InlineData("{\"accountSid\":\"AC11111111111111111111111111111111\",\"authToken\":\"   \"}", "authToken")]
    public async Task AnInvalidAccountIsAValidationProblemNamingTheField(string body, string field)
    {
        await AssertValidationProblemAsync("twilio-accounts", body, field);
        Assert.Empty(await ListAsync("twilio-accounts"));
    }

    [Theory]
    [InlineData("{\"securityContext\":\"x\"}", "orgId")]
    [InlineData("{\"orgId\":\"org with spaces\"}", "orgId")]
    [InlineData("{\"orgId\":\"28732\",\"deskDomain\":\"https://desk.zoho.com/\"}", "deskDomain")]
    public async Task AnInvalidInstallationIsAValidationProblemNamingTheField(string body, string field)
    {
        await AssertValidationProblemAsync("installations", body, field);
        Assert.Empty(await ListAsync("installations"));
    }

    [Theory]
    [InlineData("12345", Fixtures.AccountSid, null, "address")]
    [InlineData("whatsapp:abc", Fixtures.AccountSid, null, "address")]
    [InlineData("+1 415", Fixtures.AccountSid, null, "address")]
    [InlineData("", Fixtures.AccountSid, null, "address")]
    [InlineData(Fixtures.SmsNumber, OtherAccountSid, null, "accountSid")]
    [InlineData(Fixtures.SmsNumber, "AC123", null, "accountSid")]
    [InlineData(Fixtures.SmsNumber, Fixtures.AccountSid, "MG123", "messagingServiceSid")]
    [InlineData(Fixtures.SmsNumber, Fixtures.AccountSid, "AC11111111111111111111111111111111", "messagingServiceSid")]
    public async Task AnInvalidNumberIsAValidationProblemNamingTheField(string address, string accountSid, string? messagingServiceSid, string field)
    {
        await _app.SeedAsync(numbers: false);
        var body = JsonSerializer.Serialize(new { address, accountSid, orgId = Fixtures.OrgId, messagingServiceSid });
        await AssertValidationProblemAsync("numbers", body, field);
        Assert.Empty(await ListAsync("numbers"));
    }

    [Theory]
    [InlineData("numbers", "{\"address\":\"+14155550104\",\"accountSid\":\"AC11111111111111111111111111111111\",\"orgId\":\"28732\",\"isDefault\":\"yes\"}", "isDefault")]
    [InlineData("numbers", "{\"address\":\"+14155550104\",\"orgId\":28732}", "orgId")]
    [InlineData("installations", "{\"orgId\":\"777\",\"securityContext\":5}", "securityContext")]
    [InlineData("installations", "{\"orgId\":", "body")]
    [InlineData("twilio-accounts", "[1,2]", "body")]
    [InlineData("twilio-accounts", "null", "body")]
    [InlineData("twilio-accounts", "", "body")]
    public async Task ABodyThatIsNotTheExpectedJsonIsAValidationProblemNamingTheFieldOrTheBody(string resource, string body, string field)
    {
        // Before, these got a bare 400 from minimal APIs' binding: Problem Details without a word on what was wrong.
        await AssertValidationProblemAsync(resource, body, field);
        Assert.Empty(await ListAsync(resource));
    }

    [Theory]
    [InlineData("numbers", "{\"address\":\"+14155550104\",\"accountSid\":\"AC11111111111111111111111111111111\",\"orgId\":\"28732\",\"isDefault\":\"yes\"}", "isDefault", "isDefault must be true or false.")]
    [InlineData("numbers", "{\"address\":12,\"accountSid\":\"AC11111111111111111111111111111111\",\"orgId\":\"28732\"}", "address", "address must be a string.")]
    [InlineData("installations", "{\"orgId\":\"777\",\"securityContext\":{}}", "securityContext", "securityContext must be a string.")]
    [InlineData("numbers/1/backfill", "{\"since\":12}", "since", "since must be a string.")]
    [InlineData("installations", "{\"orgId\":\"777\",\"securityContext\":\"\\ud800\"}", "securityContext", "securityContext must be valid text (UTF-8, with no lone surrogate escapes).")]
    public async Task AValueOfTheWrongJsonTypeIsNamedWithTheTypeTheFieldTakes(string resource, string body, string field, string message)
    {
        // Every one of these said "must be a value of another JSON type", which tells a script's author nothing: the
        // serializer names the request record it failed to build, not the field's type (found by a hostile review).
        await _app.SeedAsync();
        using var response = await PostRawAsync(resource, body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(message, problem.RootElement.GetProperty("errors").GetProperty(field)[0].GetString());
    }

    [Theory]
    [InlineData("installations", "{\"orgId\":\"777\",\"securityContext\":\"checked-by-a-proxy\",\"securityContext\":\"   \"}", "securityContext")]
    [InlineData("installations", "{\"orgId\":\"777\",\"OrgId\":\"778\"}", "OrgId")]
    [InlineData("twilio-accounts", "{\"accountSid\":\"AC22222222222222222222222222222222\",\"authToken\":\"a\",\"authToken\":\"b\"}", "authToken")]
    public async Task AFieldGivenTwiceIsRefusedInsteadOfTheLastOneSilentlyWinning(string resource, string body, string field)
    {
        // The last value won without a word: a script (or a proxy checking the body) reading the first saw another
        // request than the one applied (found by a hostile review).
        using var response = await PostRawAsync(resource, body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(text);
        Assert.Contains("more than once", problem.RootElement.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Empty(await ListAsync(resource));
    }

    [Theory]
    [InlineData("twilio-accounts", "{\"accountSid\":\"AC22222222222222222222222222222222\",\"authToken\":\"token\",\"friendlyNme\":\"Main\"}", "friendlyNme")]
    [InlineData("installations", "{\"orgId\":\"28733\",\"securityContxt\":\"secret\"}", "securityContxt")]
    [InlineData("numbers", "{\"address\":\"+14155550104\",\"accountSid\":\"AC11111111111111111111111111111111\",\"orgId\":\"28732\",\"templateSid\":\"HX11111111111111111111111111111111\"}", "templateSid")]
    [InlineData("numbers", "{\"address\":\"+14155550104\",\"accountSid\":\"AC11111111111111111111111111111111\",\"orgId\":\"28732\",\"channel\":\"whatsapp\"}", "channel")]
    public async Task AnUnknownFieldIsIgnoredButNamedInAWarningHeader(string resource, string body, string field)
    {
        // System.Text.Json drops fields it doesn't know: a misspelt securityContext or an unsupported field was
        // answered 201 as if it had been applied, without a word. Refusing them would break scripts sending extras.
        await _app.SeedAsync(numbers: false);
        var before = (await ListAsync(resource)).Count;

        using var response = await PostRawAsync(resource, body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var warning = Assert.Single(response.Headers.GetValues("Warning"));
        Assert.StartsWith("299 - \"", warning);
        Assert.Contains($"'{field}'", warning);
        Assert.Equal(before + 1, (await ListAsync(resource)).Count);
        Assert.Contains(_app.Logs.Lines, l => l.Contains("ignored unknown fields") && l.Contains(field));
    }

    [Fact]
    public async Task AKnownFieldGetsNoWarning()
    {
        using var response = await PostRawAsync("twilio-accounts", "{\"accountSid\":\"AC11111111111111111111111111111111\",\"AuthToken\":\"token\",\"friendlyName\":\"Main\"}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.Headers.Contains("Warning"));
    }

    [Fact]
    public async Task ABodyOfThousandsOfUnknownFieldsGetsAFewShortWarnings()
    {
        var body = "{\"accountSid\":\"AC11111111111111111111111111111111\",\"authToken\":\"token\"," + string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"f{i}\":0")) + ",\"caf\u00e9\\n\\\"x\":1}";

        using var response = await PostRawAsync("twilio-accounts", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var warnings = response.Headers.GetValues("Warning").ToList();
        Assert.Equal(10, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("'f0'"));
        Assert.True(warnings.Sum(w => w.Length) < 4_000);
    }

    [Fact]
    public async Task AFieldNameThatCantBeAHeaderIsNamedWithQuestionMarks()
    {
        using var response = await PostRawAsync("twilio-accounts", "{\"accountSid\":\"AC11111111111111111111111111111111\",\"authToken\":\"token\",\"caf\u00e9\\n\\\"x\":1}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("'caf???x'", Assert.Single(response.Headers.GetValues("Warning")));
    }

    [Fact]
    public async Task ABackfillWithAnUnknownFieldStartsAndNamesIt()
    {
        await _app.SeedAsync();
        var number = await _app.NumberIdAsync();

        using var response = await _admin.PostAsync($"/api/admin/numbers/{number}/backfill",
            new StringContent("{\"since\":\"2026-11-01\",\"until\":\"2026-11-02\"}", Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

        Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        Assert.Contains("'until'", Assert.Single(response.Headers.GetValues("Warning")));
        Assert.Single(await _admin.GetFromJsonAsync<JsonElement[]>("/api/admin/backfills") ?? []);
    }

    [Fact]
    public async Task AResourceReadWithGetCanBePutBackWithoutWarningsButAMisspeltFieldInAPutIsNamedAndChangesNothing()
    {
        await _app.SeedAsync(numbers: false);
        var installation = Assert.Single(await ListAsync("installations"));
        var id = installation.GetProperty("id").GetInt64();
        var account = Assert.Single(await ListAsync("twilio-accounts"));
        var accountId = account.GetProperty("id").GetInt64();

        // A script writing back what it read (with its changes) passes the read-only fields along.
        using (var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", installation))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.False(put.Headers.Contains("Warning"));
        }
        using (var put = await _admin.PutAsJsonAsync($"/api/admin/twilio-accounts/{accountId}", account))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.False(put.Headers.Contains("Warning"));
        }

        using (var typo = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { connectionLinkNme = "renamed" }))
        {
            Assert.Equal(HttpStatusCode.OK, typo.StatusCode);
            Assert.Contains("'connectionLinkNme'", Assert.Single(typo.Headers.GetValues("Warning")));
        }
        Assert.Equal(installation.GetProperty("connectionLinkName").ToString(),
            (await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/installations/{id}")).GetProperty("connectionLinkName").ToString());
    }

    [Fact]
    public async Task ANumberWithoutAnOrgIsAValidationProblem()
    {
        await _app.SeedAsync(numbers: false);
        await AssertValidationProblemAsync("numbers", JsonSerializer.Serialize(new { address = Fixtures.SmsNumber, accountSid = Fixtures.AccountSid }), "orgId");
    }

    [Theory]
    [InlineData("org with spaces")]
    [InlineData("28732/other")]
    public async Task ANumberForAnOrgIdNoInstallationCouldHaveIsAValidationProblem(string orgId)
    {
        // The installation refused these org ids, the number took them: its customers' messages went to an org that
        // Desk never pulls or pushes for (its orgId query can't name it), with no error anywhere.
        await _app.SeedAsync(numbers: false);
        await AssertValidationProblemAsync("numbers", JsonSerializer.Serialize(new { address = Fixtures.SmsNumber, accountSid = Fixtures.AccountSid, orgId }), "orgId");
        Assert.Empty(await ListAsync("numbers"));
    }

    [Theory]
    [InlineData("twilio-accounts", "{\"accountSid\": \"AC11111111111111111111111111111111\", \"authToken\": ")]
    [InlineData("twilio-accounts", "{accountSid: 'AC11111111111111111111111111111111'}")]
    [InlineData("twilio-accounts", "{\"accountSid\": 42, \"authToken\": true}")]
    [InlineData("installations", "not json at all")]
    [InlineData("numbers", "[1, 2, 3]")]
    public async Task AMalformedJsonBodyIsABadRequestWithoutAStackTrace(string resource, string body)
    {
        using var response = await PostRawAsync(resource, body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertNoStackTrace(text);
        Assert.Empty(await ListAsync(resource));
    }

    [Fact]
    public async Task AnUnknownMessageStateIsAValidationProblem()
    {
        using var bogus = await _admin.GetAsync("/api/admin/messages?state=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, bogus.StatusCode);
        Assert.Equal("application/problem+json", bogus.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await bogus.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("state", out _));

        using var numeric = await _admin.GetAsync("/api/admin/messages?state=1");
        Assert.Equal(HttpStatusCode.BadRequest, numeric.StatusCode);

        using var known = await _admin.GetAsync("/api/admin/messages?state=routed");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
    }

    [Theory]
    [InlineData("status=failed&limit=0", "limit")]
    [InlineData("status=failed&limit=abc", "limit")]
    [InlineData("state=routed&limit=5000", "limit")]
    public async Task ABadMessagesQueryIsAValidationProblemNamingItsParameter(string query, string field)
    {
        using var response = await _admin.GetAsync("/api/admin/messages?" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(text);
        Assert.True(problem.RootElement.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), text);
    }

    [Fact]
    public async Task ATooLongStatusIsAValidationProblemNamingStatusNotLimit()
    {
        using var response = await _admin.GetAsync("/api/admin/messages?status=" + new string('x', 100));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(text);
        var errors = problem.RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("status", out _), text);
        Assert.False(errors.TryGetProperty("limit", out _), text);
    }

    [Theory]
    [InlineData("faild")]
    [InlineData("error")]
    public async Task AnUnknownDeliveryStatusIsAValidationProblemNotAnEmptyList(string status)
    {
        using var response = await _admin.GetAsync("/api/admin/messages?status=" + status);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("status", out _));
        using var known = await _admin.GetAsync("/api/admin/messages?status=Undelivered");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
    }

    // ---------- secrets ----------

    [Fact]
    public async Task TheAuthTokenIsNeverReturnedNorLogged()
    {
        const string token = "f00dfeedf00dfeedf00dfeedf00dfeed";
        var bodies = new List<string>();

        using (var created = await _admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = token }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            bodies.Add(await created.Content.ReadAsStringAsync());
        }
        using (var duplicate = await _admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = Fixtures.AccountSid, authToken = token }))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
            bodies.Add(await duplicate.Content.ReadAsStringAsync());
        }
        using (var invalid = await _admin.PostAsJsonAsync("/api/admin/twilio-accounts", new { accountSid = "AC123", authToken = token, friendlyName = new string('x', 500) }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            bodies.Add(await invalid.Content.ReadAsStringAsync());
        }
        using (var malformed = await PostRawAsync("twilio-accounts", $"{{\"accountSid\": \"{OtherAccountSid}\", \"authToken\": \"{token}\", "))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            bodies.Add(await malformed.Content.ReadAsStringAsync());
        }
        bodies.Add(await _admin.GetStringAsync("/api/admin/twilio-accounts"));

        Assert.Contains(Fixtures.AccountSid, bodies[0]);
        Assert.All(bodies, body => Assert.DoesNotContain(token, body));
        AssertNotLogged(token);
    }

    [Fact]
    public async Task TheSecurityContextIsNeverReturnedNorLogged()
    {
        const string context = "1000.c0ffee0000000000000000000000c0ffee.deadbeef00000000000000000000beef";
        const string updated = "1000.5ecdc0ffee000000000000000000005ecd.deadbeef00000000000000000000cafe";
        var bodies = new List<string>();

        using (var created = await _admin.PostAsJsonAsync("/api/admin/installations", new { orgId = Fixtures.OrgId, securityContext = context }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            bodies.Add(await created.Content.ReadAsStringAsync());
        }
        long id;
        using (var first = JsonDocument.Parse(bodies[0])) id = first.RootElement.GetProperty("id").GetInt64();
        using (var duplicate = await _admin.PostAsJsonAsync("/api/admin/installations", new { orgId = Fixtures.OrgId, securityContext = context }))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
            bodies.Add(await duplicate.Content.ReadAsStringAsync());
        }
        using (var invalid = await _admin.PostAsJsonAsync("/api/admin/installations", new { orgId = "bad org", securityContext = context }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            bodies.Add(await invalid.Content.ReadAsStringAsync());
        }
        using (var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { securityContext = updated }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            bodies.Add(await put.Content.ReadAsStringAsync());
        }
        bodies.Add(await _admin.GetStringAsync("/api/admin/installations"));

        Assert.Contains("\"hasSecurityContext\":true", bodies[^1]);
        Assert.All(bodies, body => Assert.DoesNotContain(context, body));
        Assert.All(bodies, body => Assert.DoesNotContain(updated, body));
        AssertNotLogged(context);
        AssertNotLogged(updated);
    }

    // ---------- numbers ----------

    [Theory]
    [InlineData("+1 (415) 555-0100", "+14155550100", "sms")]
    [InlineData("  +44 20 7946 0958 ", "+442079460958", "sms")]
    [InlineData("whatsapp:+1 415 523 8886", "whatsapp:+14155238886", "whatsapp")]
    [InlineData("WhatsApp: +1-415-523-8886", "whatsapp:+14155238886", "whatsapp")]
    public async Task ANumberIsStoredInTwiliosFormWithItsChannel(string given, string normalised, string channel)
    {
        await _app.SeedAsync(numbers: false);
        using var created = await _admin.PostAsJsonAsync("/api/admin/numbers", new { address = given, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        Assert.Equal(normalised, body.RootElement.GetProperty("address").GetString());
        Assert.Equal(channel, body.RootElement.GetProperty("channel").GetString());

        var listed = Assert.Single(await ListAsync("numbers"));
        Assert.Equal(normalised, listed.GetProperty("address").GetString());
        Assert.Equal(channel, listed.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task TheFirstNumberOfEachKindInAnOrgIsItsDefault()
    {
        await _app.SeedAsync(numbers: false);
        var sms1 = await CreateNumberAsync("+14155550100");
        var sms2 = await CreateNumberAsync("+14155550101");
        var wa1 = await CreateNumberAsync("whatsapp:+14155238886");
        var wa2 = await CreateNumberAsync("whatsapp:+14155238887");
        var otherOrg = await CreateNumberAsync("+14155550102", OtherOrgId);

        var defaults = await DefaultsAsync();
        Assert.True(defaults[sms1]);
        Assert.False(defaults[sms2]);
        Assert.True(defaults[wa1]);
        Assert.False(defaults[wa2]);
        Assert.True(defaults[otherOrg]);
    }

    [Fact]
    public async Task ALaterNumberMarkedDefaultTakesTheDefaultOverFromTheOldOne()
    {
        await _app.SeedAsync(numbers: false);
        var sms1 = await CreateNumberAsync("+14155550100");
        var wa1 = await CreateNumberAsync("whatsapp:+14155238886");
        var otherOrg = await CreateNumberAsync("+14155550102", OtherOrgId);

        var sms2 = await CreateNumberAsync("+14155550101", isDefault: true);

        var defaults = await DefaultsAsync();
        Assert.True(defaults[sms2]);
        Assert.False(defaults[sms1]);
        Assert.True(defaults[wa1]);
        Assert.True(defaults[otherOrg]);
        Assert.Single(new[] { sms1, sms2 }, id => defaults[id]);
    }

    [Fact]
    public async Task DeletingTheDefaultPromotesAnotherNumberOfTheSameKindAndOrg()
    {
        await _app.SeedAsync(numbers: false);
        var sms1 = await CreateNumberAsync("+14155550100");
        var wa1 = await CreateNumberAsync("whatsapp:+14155238886");
        var wa2 = await CreateNumberAsync("whatsapp:+14155238887");
        var otherOrgSms = await CreateNumberAsync("+14155550102", OtherOrgId);
        var sms2 = await CreateNumberAsync("+14155550101");
        var otherOrgSms2 = await CreateNumberAsync("+14155550103", OtherOrgId);

        using (var delete = await _admin.DeleteAsync($"/api/admin/numbers/{sms1}"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

        var defaults = await DefaultsAsync();
        Assert.True(defaults[sms2]);
        Assert.True(defaults[wa1]);
        Assert.False(defaults[wa2]);
        Assert.True(defaults[otherOrgSms]);
        Assert.False(defaults[otherOrgSms2]);

        using (var delete = await _admin.DeleteAsync($"/api/admin/numbers/{wa1}"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        defaults = await DefaultsAsync();
        Assert.True(defaults[wa2]);
        Assert.True(defaults[sms2]);
    }

    [Fact]
    public async Task DeletingATwilioAccountThatNumbersStillUseIsAConflict()
    {
        await _app.SeedAsync();
        var account = Assert.Single(await ListAsync("twilio-accounts")).GetProperty("id").GetInt64();

        using (var refused = await _admin.DeleteAsync($"/api/admin/twilio-accounts/{account}"))
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Single(await ListAsync("twilio-accounts"));
        Assert.Equal(2, (await ListAsync("numbers")).Count);

        foreach (var number in await ListAsync("numbers"))
            (await _admin.DeleteAsync($"/api/admin/numbers/{number.GetProperty("id").GetInt64()}")).EnsureSuccessStatusCode();
        using (var deleted = await _admin.DeleteAsync($"/api/admin/twilio-accounts/{account}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await ListAsync("twilio-accounts"));
    }

    // ---------- installations: PUT ----------

    [Fact]
    public async Task PuttingAnInstallationReplacesItsConnectionAndSecurityContext()
    {
        const string newContext = "1000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        await _app.SeedAsync(numbers: false);
        var id = Assert.Single(await ListAsync("installations")).GetProperty("id").GetInt64();

        using (var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { connectionLinkName = "newdeskconnection", securityContext = newContext }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            using var body = JsonDocument.Parse(await put.Content.ReadAsStringAsync());
            Assert.Equal("newdeskconnection", body.RootElement.GetProperty("connectionLinkName").GetString());
        }
        var listed = Assert.Single(await ListAsync("installations"));
        Assert.Equal("newdeskconnection", listed.GetProperty("connectionLinkName").GetString());
        Assert.Equal(Fixtures.OrgId, listed.GetProperty("orgId").GetString());

        using var withNew = await _app.PullRawAsync(new { channelState = "" }, securityContext: newContext);
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
        using var withOld = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.Forbidden, withOld.StatusCode);
    }

    [Fact]
    public async Task PuttingAnInstallationWithoutASecurityContextKeepsTheStoredOne()
    {
        await _app.SeedAsync(numbers: false);
        var id = Assert.Single(await ListAsync("installations")).GetProperty("id").GetInt64();

        using (var put = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { connectionLinkName = "renamed" }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task AnEmptyDeskDomainMeansTheDefaultHostAndPutsAnOrgBackOnIt()
    {
        // "" was stored as given: every Invoke call and attachment download of the org went to "https://", and once a
        // data centre was set no PUT could clear it.
        var id = await CreatedIdAsync("installations", new { orgId = Fixtures.OrgId, deskDomain = "" });
        Assert.Equal(JsonValueKind.Null, (await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/installations/{id}")).GetProperty("deskDomain").ValueKind);

        using (var eu = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { deskDomain = "desk.zoho.eu" }))
            Assert.Equal("desk.zoho.eu", (await eu.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deskDomain").GetString());
        using (var cleared = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { deskDomain = "" }))
            Assert.Equal(JsonValueKind.Null, (await cleared.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deskDomain").ValueKind);

        // Rows stored with "" before the fix reach the default host too.
        Assert.Equal("desk.zoho.com", TwilioChannel.Web.Desk.DeskHosts.HostOf(new TwilioChannel.Web.Data.Installation { OrgId = Fixtures.OrgId, DeskDomain = "" }));
    }

    [Fact]
    public async Task PuttingAnUnknownInstallationIsNotFoundAndChangingItsOrgIsRefused()
    {
        await _app.SeedAsync(numbers: false);
        var id = Assert.Single(await ListAsync("installations")).GetProperty("id").GetInt64();

        using (var unknown = await _admin.PutAsJsonAsync($"/api/admin/installations/{id + 1000}", new { connectionLinkName = "x" }))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var otherOrg = await _admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { orgId = OtherOrgId, securityContext = "stolen" });
        Assert.Equal(HttpStatusCode.BadRequest, otherOrg.StatusCode);
        using var problem = JsonDocument.Parse(await otherOrg.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("orgId", out _));
        Assert.Equal(Fixtures.OrgId, Assert.Single(await ListAsync("installations")).GetProperty("orgId").GetString());
        using var pull = await _app.PullRawAsync(new { channelState = "" });
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    // ---------- helpers ----------

    private async Task<List<JsonElement>> ListAsync(string resource)
    {
        using var doc = JsonDocument.Parse(await _admin.GetStringAsync($"/api/admin/{resource}"));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>POSTs, expects 201 with an id and a Location naming that id, and returns the id.</summary>
    private async Task<long> CreatedIdAsync(string resource, object body)
    {
        using var response = await _admin.PostAsJsonAsync($"/api/admin/{resource}", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var id = doc.RootElement.GetProperty("id").GetInt64();
        Assert.True(id > 0);
        Assert.NotNull(response.Headers.Location);
        Assert.Equal($"/api/admin/{resource}/{id}", response.Headers.Location!.OriginalString);
        return id;
    }

    /// <summary>Unknown id: 404; the Location's id: 204, then gone from the list and 404 on a second DELETE.</summary>
    private async Task AssertDeletedAsync(string resource, long id)
    {
        using (var unknown = await _admin.DeleteAsync($"/api/admin/{resource}/{id + 1000}"))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Single(await ListAsync(resource));

        using (var deleted = await _admin.DeleteAsync($"/api/admin/{resource}/{id}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.DoesNotContain(await ListAsync(resource), e => e.GetProperty("id").GetInt64() == id);

        using var again = await _admin.DeleteAsync($"/api/admin/{resource}/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    private async Task<long> CreateNumberAsync(string address, string orgId = Fixtures.OrgId, bool? isDefault = null) =>
        await CreatedIdAsync("numbers", new { address, accountSid = Fixtures.AccountSid, orgId, isDefault });

    private async Task<Dictionary<long, bool>> DefaultsAsync() =>
        (await ListAsync("numbers")).ToDictionary(n => n.GetProperty("id").GetInt64(), n => n.GetProperty("isDefault").GetBoolean());

    private Task<HttpResponseMessage> PostRawAsync(string resource, string body) =>
        _admin.PostAsync($"/api/admin/{resource}", new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

    private async Task AssertValidationProblemAsync(string resource, string body, string field)
    {
        using var response = await PostRawAsync(resource, body);
        await AssertValidationProblemAsync(response, field);
    }

    private static async Task AssertValidationProblemAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.True(problem.RootElement.TryGetProperty("errors", out var errors), $"no errors in {text}");
        Assert.True(errors.TryGetProperty(field, out var messages), $"no error for '{field}' in {text}");
        Assert.NotEqual(0, messages.GetArrayLength());
    }

    private static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain(".cs:line", text);
    }

    private void AssertNotLogged(string secret)
    {
        Assert.NotEmpty(_app.Logs.Lines);
        Assert.DoesNotContain(_app.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
    }
}
