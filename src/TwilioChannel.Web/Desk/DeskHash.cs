using System.Security.Cryptography;
using System.Text;

namespace TwilioChannel.Web.Desk;

/// <summary>Desk's HASH header: lowercase hex HMAC-SHA256 with the extension secret.</summary>
internal static class DeskHash
{
    public static string Compute(string secret, ReadOnlySpan<byte> message) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));

    public static bool Verify(string secret, ReadOnlySpan<byte> message, string? hash)
    {
        if (string.IsNullOrEmpty(hash) || hash.Length != 64) return false;
        var expected = Encoding.ASCII.GetBytes(Compute(secret, message));
        var actual = Encoding.ASCII.GetBytes(hash.ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
