using System.Collections.Concurrent;
using Twilio.Security;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// The SDK's RequestValidator, kept per auth token instead of built per webhook: constructing one creates an HMAC-SHA1
/// and a SHA-256 (native OpenSSL contexts that the SDK never disposes, so each webhook left two for the finalizer).
/// A validator is not thread-safe (its HMAC holds state while hashing), so each token has a small pool and a request
/// uses one validator at a time. A rotated token simply gets a new pool; the map is cleared if it ever holds more tokens
/// than any deployment has accounts. The tokens stay in memory only, as they already do in AccountTokens' cache.
/// </summary>
internal sealed class SignatureValidators
{
    private const int PooledPerToken = 32;
    private const int MaxTokens = 1_000;
    private readonly ConcurrentDictionary<string, ConcurrentBag<RequestValidator>> _pools = new(StringComparer.Ordinal);

    public bool IsValid(string authToken, string url, IDictionary<string, string> fields, string signature)
    {
        if (_pools.Count > MaxTokens) _pools.Clear();
        var pool = _pools.GetOrAdd(authToken, static _ => []);
        var validator = pool.TryTake(out var pooled) ? pooled : new RequestValidator(authToken);
        var valid = IsValid(validator, url, fields, signature);
        if (pool.Count < PooledPerToken) pool.Add(validator);
        return valid;
    }

    /// <summary>
    /// RequestValidator adds the default port to a URL without one, but doesn't try removing it from a URL that has
    /// one; Twilio may sign either form, so both are tried here.
    /// </summary>
    private static bool IsValid(RequestValidator validator, string url, IDictionary<string, string> fields, string signature)
    {
        if (validator.Validate(url, fields, signature)) return true;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.IsDefaultPort || !url.Contains($":{uri.Port}/", StringComparison.Ordinal)) return false;
        var withoutPort = new UriBuilder(uri) { Port = -1 }.Uri.AbsoluteUri;
        return validator.Validate(withoutPort, fields, signature);
    }
}
