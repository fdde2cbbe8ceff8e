using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Signed, expiring references to one attachment of one stored message, used in the URLs we give Desk
/// (GET /media/{token}). Data Protection encrypts and authenticates them, so they can't be forged or altered, and the
/// time limit is inside the protected payload, so they can't be used after expiry.
/// </summary>
internal sealed class MediaTokens(IDataProtectionProvider provider, IOptions<TwilioApiOptions> options, TimeProvider time)
{
    private readonly ITimeLimitedDataProtector _protector = provider.CreateProtector("TwilioChannel.Media.v1").ToTimeLimitedDataProtector();

    public string Create(long messageId, int mediaIndex) =>
        _protector.Protect($"{messageId}:{mediaIndex}", time.GetUtcNow() + options.Value.MediaUrlLifetime);

    /// <summary>A reply attachment of ours (OutboundMedia) for Twilio to fetch.</summary>
    public string CreateOutbound(long outboundMediaId) =>
        _protector.Protect($"out:{outboundMediaId}", time.GetUtcNow() + options.Value.MediaUrlLifetime);

    public bool TryReadOutbound(string token, out long outboundMediaId)
    {
        outboundMediaId = 0;
        return TryUnprotect(token, out var payload) && payload.StartsWith("out:", StringComparison.Ordinal)
            && long.TryParse(payload.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out outboundMediaId);
    }

    public bool TryRead(string token, out long messageId, out int mediaIndex)
    {
        messageId = 0;
        mediaIndex = 0;
        if (!TryUnprotect(token, out var payload)) return false;
        var parts = payload.Split(':');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out messageId)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out mediaIndex);
    }

    private bool TryUnprotect(string token, out string payload)
    {
        payload = "";
        if (string.IsNullOrEmpty(token) || token.Length > 2048) return false;
        try
        {
            payload = _protector.Unprotect(token, out var expiration);
            return expiration >= time.GetUtcNow();
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
