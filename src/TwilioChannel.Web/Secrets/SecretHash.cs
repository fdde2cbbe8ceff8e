using System.Security.Cryptography;
using System.Text;

namespace TwilioChannel.Web.Secrets;

/// <summary>Compares a presented secret (admin key, Desk securityContext) with a known one in constant time. Both sides
/// are SHA-256 digests, so neither the content nor the length leaks through timing.</summary>
internal static class SecretHash
{
    public static byte[] Of(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(byte[] expectedHash, string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(expectedHash, Of(candidate));
}
