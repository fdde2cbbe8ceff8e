using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Admin;

/// <summary>An installation's Zoho OAuth client (Admin/InstallationsApi): set with all three fields, kept by a PUT that
/// doesn't name them, removed by a PUT with all three as empty strings.</summary>
public sealed class InstallationZohoOAuthTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();
    private HttpClient _admin = null!;
    private long _id;

    public async Task InitializeAsync()
    {
        await _app.SeedAsync(numbers: false);
        _admin = _app.Admin();
        _id = (await _admin.GetFromJsonAsync<JsonElement[]>("/api/admin/installations"))![0].GetProperty("id").GetInt64();
        await PutAsync(new { zohoClientId = "1000.CLIENT", zohoClientSecret = "client-secret", zohoRefreshToken = "1000.refresh" }, HttpStatusCode.OK);
        Assert.True(await HasZohoOAuthAsync());
    }

    public Task DisposeAsync() { _admin.Dispose(); _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task APutWithAllThreeOAuthFieldsEmptyRemovesTheClient()
    {
        await PutAsync(new { zohoClientId = "", zohoClientSecret = "", zohoRefreshToken = "" }, HttpStatusCode.OK);

        Assert.False(await HasZohoOAuthAsync());
    }

    [Fact]
    public async Task APutThatDoesNotNameTheOAuthFieldsKeepsTheClient()
    {
        await PutAsync(new { connectionLinkName = "twiliochannel" }, HttpStatusCode.OK);

        Assert.True(await HasZohoOAuthAsync());
    }

    [Theory]
    [InlineData("{\"zohoRefreshToken\": \"\"}")]
    [InlineData("{\"zohoClientId\": \"\", \"zohoClientSecret\": \"\"}")]
    [InlineData("{\"zohoClientId\": \"\", \"zohoClientSecret\": \"\", \"zohoRefreshToken\": \"1000.other\"}")]
    public async Task OnlySomeOfTheOAuthFieldsEmptyIsAValidationProblemAndKeepsTheClient(string body)
    {
        using var response = await _admin.PutAsync($"/api/admin/installations/{_id}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("zohoRefreshToken", out _));

        Assert.True(await HasZohoOAuthAsync());
    }

    private async Task PutAsync(object body, HttpStatusCode expected)
    {
        using var response = await _admin.PutAsJsonAsync($"/api/admin/installations/{_id}", body);
        Assert.Equal(expected, response.StatusCode);
    }

    private async Task<bool> HasZohoOAuthAsync() =>
        (await _admin.GetFromJsonAsync<JsonElement>($"/api/admin/installations/{_id}")).GetProperty("hasZohoOAuth").GetBoolean();
}
