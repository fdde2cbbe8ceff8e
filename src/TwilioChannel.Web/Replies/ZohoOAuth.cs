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
    /// <summary>The access token; null when Zoho refused the credentials (or none are configured), with
    /// <c>Unavailable</c> set instead when Zoho couldn't be asked (unreachable, too slow, a server error): that says
    /// nothing about the credentials, and a later try may work.</summary>
    public async Task<(string? Token, string? Unavailable)> AccessTokenAsync(Installation installation, CancellationToken ct)
    {
        if (installation.ZohoOAuthProtected is null) return (null, null);
        var key = CacheKey(installation);
        if (cache.TryGetValue(key, out string? cached)) return (cached, null);

        var client = JsonSerializer.Deserialize<ZohoOAuthClient>(secrets.Unprotect(installation.ZohoOAuthProtected))!;
        var accounts = AccountsBase(installation);
        int status;
        string text;
        try
        {
            using var response = await http.PostAsync(new Uri(accounts, "oauth/v2/token"), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["refresh_token"] = client.RefreshToken,
                ["client_id"] = client.ClientId,
                ["client_secret"] = client.ClientSecret,
                ["grant_type"] = "refresh_token",
            }), ct);
            status = (int)response.StatusCode;
            text = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException) { return (null, "Zoho could not be reached"); }
        catch (OperationCanceledException) { return (null, "Zoho did not answer in time"); }

        // A server error or rate limit is Zoho's trouble, not a verdict on the credentials (it answers an invalid
        // refresh token with a JSON error, usually with HTTP 200); nor is an answer that isn't JSON (an error page).
        if (status >= 500 || status == 429) return (null, $"HTTP {status}");
        JsonDocument body;
        try { body = JsonDocument.Parse(text); }
        catch (JsonException) { return (null, $"HTTP {status}, not a token answer"); }
        using (body)
        {
            if (status is < 200 or >= 300 || body.RootElement.ValueKind != JsonValueKind.Object
                || !body.RootElement.TryGetProperty("access_token", out var token) || token.ValueKind != JsonValueKind.String || token.GetString() is not { Length: > 0 } accessToken)
            {
                logger.LogWarning("Zoho OAuth refresh for org {OrgId} failed with HTTP {Status}.", installation.OrgId, status);
                return (null, null);
            }
            var lifetime = body.RootElement.TryGetProperty("expires_in", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var seconds) ? seconds : 3600;
            cache.Set(key, accessToken, TimeSpan.FromSeconds(Math.Max(60, lifetime - 120)));
            return (accessToken, null);
        }
    }

    /// <summary>Drops the cached access token: Desk refused it, so the next call refreshes.</summary>
    public void Forget(Installation installation) => cache.Remove(CacheKey(installation));

    /// <summary>
    /// Keyed by the stored client (its ciphertext changes with every PUT) and the org's host too: keyed by org alone, an
    /// admin replacing a revoked refresh token or moving the org to another data centre kept getting the old client's
    /// access token, and every reply with a file failed, for up to an hour.
    /// </summary>
    private static string CacheKey(Installation installation) =>
        $"zoho-token:{installation.OrgId}:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(installation.ZohoOAuthProtected + "|" + installation.DeskDomain)))}";

    private Uri AccountsBase(Installation installation)
    {
        if (desk.Value.AccountsBaseUrl is { Length: > 0 } configured) return new Uri(configured.TrimEnd('/') + "/");
        var deskHost = Desk.DeskHosts.HostOf(installation);
        var suffix = deskHost.StartsWith("desk.", StringComparison.OrdinalIgnoreCase) ? deskHost[5..] : "zoho.com";
        return new Uri($"https://accounts.{suffix}/");
    }
}
