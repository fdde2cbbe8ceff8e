using System.Security.Cryptography;
using System.Text;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>
/// Signs like Twilio does (URL + POST params sorted by name, HMAC-SHA1, base64): written from Twilio's documentation,
/// independently of the SDK the service uses, and checked against Twilio's published vectors in SignatureTests.
/// </summary>
public static class TwilioSigner
{
    public static string Sign(string url, IEnumerable<KeyValuePair<string, string>> form, string authToken)
    {
        var data = new StringBuilder(url);
        foreach (var (key, value) in form.OrderBy(kv => kv.Key, StringComparer.Ordinal)) data.Append(key).Append(value);
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
    }
}
