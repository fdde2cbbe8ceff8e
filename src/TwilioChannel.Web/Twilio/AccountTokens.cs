using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Auth tokens by AccountSid, decrypted once and cached briefly: every webhook needs one, and a database read plus a
/// Data Protection unprotect per request would cost more than storing the message. Local admin changes invalidate at
/// once; a change made on another instance is read when a signature fails (<see cref="ReloadAfterRefusalAsync"/>),
/// else within <see cref="Lifetime"/>.
/// </summary>
internal sealed class AccountTokens(IServiceScopeFactory scopes, IMemoryCache cache, SecretProtector secrets)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public async ValueTask<string?> FindAsync(string accountSid, CancellationToken ct)
    {
        if (cache.TryGetValue(CacheKey(accountSid), out string? token)) return token;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var stored = await db.TwilioAccounts.AsNoTracking()
            .Where(a => a.AccountSid == accountSid).Select(a => a.AuthTokenProtected).FirstOrDefaultAsync(ct);
        token = stored is null ? null : secrets.Unprotect(stored);
        // Unknown accounts are cached too (shorter), so a flood of forged AccountSids can't hammer the database.
        cache.Set(CacheKey(accountSid), token, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = token is null ? TimeSpan.FromSeconds(5) : Lifetime, Size = 1 });
        return token;
    }

    /// <summary>
    /// The token as stored now, after the cached one failed a webhook's signature: Twilio signs with the new token the
    /// moment an admin promotes it, and an admin change made on another instance reached this cache only after up to
    /// <see cref="Lifetime"/>, refusing real webhooks (Twilio does not retry them) meanwhile. Null when this account
    /// was read again less than <see cref="Common.RefusedRecheck.Spacing"/> ago, so forged signatures can't turn into a database read
    /// each.
    /// </summary>
    public async ValueTask<string?> ReloadAfterRefusalAsync(string accountSid, CancellationToken ct)
    {
        if (!Common.RefusedRecheck.TryBegin(cache, CacheKey(accountSid))) return null;
        Invalidate(accountSid);
        return await FindAsync(accountSid, ct);
    }

    public void Invalidate(string accountSid) => cache.Remove(CacheKey(accountSid));

    private static string CacheKey(string accountSid) => "twilio-token:" + accountSid;
}
