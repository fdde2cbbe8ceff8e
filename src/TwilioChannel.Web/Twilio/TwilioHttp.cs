using System.Text.Json;
using System.Text.Json.Nodes;
using Twilio.Http;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// The SDK's HTTP client with one correction. An error answer whose body isn't Twilio's JSON error (an HTML page from a
/// load balancer or gateway in front of the API: a 502 or 503 from the edge, a 403 from a proxy) reaches the SDK in
/// Twilio's error shape, with its real HTTP status. Left as it was, the SDK threw an ApiException with status 0 for it:
/// a 4xx, which certainly sent nothing, counted as an unknown outcome (looked for at Twilio, then sent again), a 404 of
/// a message list wasn't recognised as one, and the agent read "Twilio answered HTTP 0". The page itself is dropped: it
/// is no message for an agent, and may be large.
/// </summary>
internal sealed class TwilioHttp(System.Net.Http.HttpClient http) : SystemNetHttpClient(http)
{
    public override Response MakeRequest(Request request) => Normalise(base.MakeRequest(request));

    public override async Task<Response> MakeRequestAsync(Request request) => Normalise(await base.MakeRequestAsync(request));

    private static Response Normalise(Response response)
    {
        if ((int)response.StatusCode < 400 || IsTwilioError(response.Content)) return response;
        var status = (int)response.StatusCode;
        var body = new JsonObject
        {
            ["status"] = status,
            ["message"] = $"Twilio answered HTTP {status}{Reason(status)} without an error description",
        };
        return new Response(response.StatusCode, body.ToJsonString(), response.Headers);
    }

    /// <summary>Twilio's own error body: a JSON object with a message or a code (the SDK reads both).</summary>
    private static bool IsTwilioError(string? content)
    {
        if (string.IsNullOrWhiteSpace(content) || content.TrimStart()[0] != '{') return false;
        try
        {
            using var doc = JsonDocument.Parse(content);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && (doc.RootElement.TryGetProperty("message", out _) || doc.RootElement.TryGetProperty("code", out _));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Reason(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? $" ({phrase})" : "";
}
