using System.Text.Json;

namespace TwilioChannel.Domain.Desk;

public enum ImportVerdict
{
    /// <summary>Desk took the batch.</summary>
    Delivered,
    /// <summary>Desk or the network failed (5xx, timeout): try the same batch again later.</summary>
    Retry,
    /// <summary>429 or Desk's throttling codes: back off, then try again.</summary>
    RateLimited,
    /// <summary>Desk refused the content (400, 415, 422): find the bad item and set it aside.</summary>
    Invalid,
    /// <summary>413: the batch is too large; smaller batches will go through.</summary>
    TooLarge,
    /// <summary>401/403 or an auth error code: the installation was revoked; retrying won't help.</summary>
    Unauthorized,
    /// <summary>404: the installation or the API is gone; like Unauthorized, park instead of discarding items.</summary>
    NotFound,
}

/// <summary>
/// What an Invoke API answer means for delivery. Desk answers the proxy call itself with an HTTP status, and the proxied
/// import's own answer inside <c>{"response": "&lt;json&gt;"}</c>; errors may show in either place (an HTTP 200 whose
/// response carries <c>statusCode</c> 4xx or an <c>errorCode</c>), so both are read. A 2xx is only a delivery when its
/// body is that answer: a proxy, captive portal or load balancer can answer 200 with an HTML page or nothing, and counting
/// that as delivered moves the cursor past threads Desk never got (the pull serves after it too: silent loss).
/// </summary>
public sealed record ImportOutcome(ImportVerdict Verdict, int StatusCode, string Message)
{
    public bool IsDelivered => Verdict == ImportVerdict.Delivered;

    /// <summary>How long Desk asked us to wait (its Retry-After header, on a 429 or 503), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static ImportOutcome Classify(int httpStatus, string? body)
    {
        var (innerStatus, errorCode, message, isInvokeAnswer) = Read(body);
        var status = httpStatus is >= 200 and < 300 && innerStatus is >= 400 ? innerStatus.Value : httpStatus;
        var text = message ?? (string.IsNullOrWhiteSpace(body) ? $"HTTP {status}" : Clip(body));

        if (status is >= 200 and < 300)
        {
            if (errorCode is not null) return new(ByCode(errorCode), status, $"{errorCode}: {text}");
            // Not Desk's answer, so we can't tell whether Desk took the batch: send it again later (same extIds are updates).
            if (!isInvokeAnswer) return new(ImportVerdict.Retry, status, NotAnInvokeAnswer(body));
            return new(ImportVerdict.Delivered, status, text);
        }

        var verdict = status switch
        {
            401 or 403 => ImportVerdict.Unauthorized,
            404 => ImportVerdict.NotFound,
            408 => ImportVerdict.Retry,
            413 => ImportVerdict.TooLarge,
            429 => ImportVerdict.RateLimited,
            >= 500 => ImportVerdict.Retry,
            _ when errorCode is not null && ByCode(errorCode) is ImportVerdict.Unauthorized or ImportVerdict.RateLimited => ByCode(errorCode),
            >= 400 => ImportVerdict.Invalid,
            _ => ImportVerdict.Retry,
        };
        return new(verdict, status, errorCode is null ? text : $"{errorCode}: {text}");
    }

    private static ImportVerdict ByCode(string code) => code.ToUpperInvariant() switch
    {
        "UNAUTHORIZED" or "INVALID_OAUTH" or "INVALID_OAUTHTOKEN" or "OAUTH_TOKEN_EXPIRED" or "FORBIDDEN" or "INVALID_SECURITY_CONTEXT" => ImportVerdict.Unauthorized,
        "THROTTLES_LIMIT_EXCEEDED" or "TOO_MANY_REQUESTS" or "RATE_LIMIT_EXCEEDED" or "API_LIMIT_EXCEEDED" => ImportVerdict.RateLimited,
        "URL_NOT_FOUND" or "RESOURCE_NOT_FOUND" => ImportVerdict.NotFound,
        "INTERNAL_SERVER_ERROR" => ImportVerdict.Retry,
        _ => ImportVerdict.Invalid,
    };

    private static string NotAnInvokeAnswer(string? body) => string.IsNullOrWhiteSpace(body)
        ? "Not the Invoke API's answer: the body was empty; the batch may not have reached Desk and will be sent again."
        : $"Not the Invoke API's answer ({{\"response\": …}} expected), the batch may not have reached Desk and will be sent again. Body: {Clip(body)}";

    /// <summary>Reads statusCode / errorCode / message from the answer, or from the JSON string in its "response";
    /// IsInvokeAnswer: the body is the Invoke API's shape, a JSON object with "response" (a string or an object).</summary>
    private static (int? Status, string? ErrorCode, string? Message, bool IsInvokeAnswer) Read(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return (null, null, null, false);
        try
        {
            using var outer = JsonDocument.Parse(body);
            if (outer.RootElement.ValueKind != JsonValueKind.Object) return (null, null, null, false);
            var (status, code, message) = Fields(outer.RootElement);
            if (outer.RootElement.TryGetProperty("response", out var response))
            {
                var inner = response.ValueKind == JsonValueKind.String ? TryParse(response.GetString()) : response.Clone();
                if (inner is { ValueKind: JsonValueKind.Object } i)
                {
                    var (s, c, m) = Fields(i);
                    return (s ?? status, c ?? code, m ?? message, true);
                }
                // "response" holds the import API's own answer, a JSON object. Anything else in it (an HTML error page
                // of Desk's backend, an empty string) says nothing about the batch: not Desk's answer, so not a delivery.
                return (status, code, message ?? InnerText(response), false);
            }
            return (status, code, message, false);
        }
        catch (JsonException)
        {
            return (null, null, null, false);
        }
    }

    private static string? InnerText(JsonElement response) =>
        response.ValueKind == JsonValueKind.String && response.GetString() is { Length: > 0 } text ? Clip(text) : null;

    private static JsonElement? TryParse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (int? Status, string? ErrorCode, string? Message) Fields(JsonElement e)
    {
        int? status = null;
        if (e.TryGetProperty("statusCode", out var s))
        {
            if (s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var n)) status = n;
            else if (s.ValueKind == JsonValueKind.String && int.TryParse(s.GetString(), out var m)) status = m;
        }
        var code = e.TryGetProperty("errorCode", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        string? message = null;
        foreach (var name in new[] { "message", "statusMessage", "errorMessage" })
        {
            if (!e.TryGetProperty(name, out var m)) continue;
            message = m.ValueKind == JsonValueKind.String ? m.GetString() : m.GetRawText();
            break;
        }
        return (status, string.IsNullOrWhiteSpace(code) ? null : code, message is null ? null : Clip(message));
    }

    private static string Clip(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
