using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>Desk's extension event callbacks (POST /desk/events), signed as Desk signs them.</summary>
public static class DeskEventPosts
{
    public static string Event(string name, string orgId, string? securityContext) =>
        JsonSerializer.Serialize(securityContext is null
            ? new Dictionary<string, string> { ["event"] = name, ["orgId"] = orgId }
            : new Dictionary<string, string> { ["event"] = name, ["orgId"] = orgId, ["securityContext"] = securityContext });

    /// <summary>Lowercase hex HMAC-SHA256 of the body's UTF-8 bytes, written from Desk's description.</summary>
    public static string Hash(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    /// <summary>Posts the exact bytes of the body, signed with the test secret.</summary>
    public static Task<HttpResponseMessage> PostEventAsync(this ChannelApp app, string body) =>
        app.PostEventAsync(body, Hash(ChannelApp.ExtensionSecret, body));

    /// <summary>Posts the exact bytes of the body with the given HASH header (null: no header at all).</summary>
    public static Task<HttpResponseMessage> PostEventAsync(this ChannelApp app, string body, string? hash)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/desk/events") { Content = content };
        if (hash is not null) request.Headers.TryAddWithoutValidation("HASH", hash);
        return app.CreateClient().SendAsync(request);
    }
}
