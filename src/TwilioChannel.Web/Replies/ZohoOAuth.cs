using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Replies;

public sealed record ZohoOAuthClient(string ClientId, string ClientSecret, string RefreshToken);

/// <summary>
/// Zoho OAuth access tokens for downloading reply attachments from Desk (the securityContext doesn't grant REST access).
/// Refreshed with the installation's refresh token and cached until shortly before they expire.
/// </summary>
internal sealed class ZohoOAuth(HttpClient http, SecretProtector secrets, IMemoryCache cache, IOptions<DeskOptions> desk, ILogger<ZohoOAuth> logger)
{
    public async Task<string?> AccessTokenAsync(Installation installation, CancellationToken ct)
    {
        if (installation.ZohoOAuthProtected is null) return null;
        var key = "zoho-token:" + installation.OrgId;
        if (cache.TryGetValue(key, out string? cached)) return cached;

        var client = JsonSerializer.Deserialize<ZohoOAuthClient>(secrets.Unprotect(installation.ZohoOAuthProtected))!;
        var accounts = AccountsBase(installation);
        using var response = await http.PostAsync(new Uri(accounts, "oauth/v2/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["refresh_token"] = client.RefreshToken,
            ["client_id"] = client.ClientId,
            ["client_secret"] = client.ClientSecret,
            ["grant_type"] = "refresh_token",
        }), ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        if (!response.IsSuccessStatusCode || !body.RootElement.TryGetProperty("access_token", out var token) || token.GetString() is not { Length: > 0 } accessToken)
        {
            logger.LogWarning("Zoho OAuth refresh for org {OrgId} failed with HTTP {Status}.", installation.OrgId, (int)response.StatusCode);
            return null;
        }
        var lifetime = body.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 3600;
        cache.Set(key, accessToken, TimeSpan.FromSeconds(Math.Max(60, lifetime - 120)));
        return accessToken;
    }

    private Uri AccountsBase(Installation installation)
    {
        if (desk.Value.AccountsBaseUrl is { Length: > 0 } configured) return new Uri(configured.TrimEnd('/') + "/");
        var deskHost = Desk.DeskHosts.HostOf(installation);
        var suffix = deskHost.StartsWith("desk.", StringComparison.OrdinalIgnoreCase) ? deskHost[5..] : "zoho.com";
        return new Uri($"https://accounts.{suffix}/");
    }
}
