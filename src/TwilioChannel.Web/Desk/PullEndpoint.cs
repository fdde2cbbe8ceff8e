using System.Text.Json;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// POST /desk/pull?orgId=…&amp;securityContext=…: Desk's pull every 4 minutes. The body holds the extension's non-secure
/// config params, as a flat object or a [{name, value}] array; channelState among them is our cursor.
/// </summary>
internal static class PullEndpoint
{
    public static async Task<IResult> PullAsync(HttpContext http, PullFeed feed, PublicUrls urls, CancellationToken ct)
    {
        var installation = (Installation)http.Items[DeskCallerFilter.InstallationItem]!;
        JsonElement? state;
        try
        {
            state = await ReadChannelStateAsync(http.Request, ct);
        }
        catch (JsonException)
        {
            return TypedResults.Json(new { message = "The body must be JSON: the config params as an object or a [{name, value}] array." }, statusCode: StatusCodes.Status400BadRequest);
        }

        var page = await feed.ReadAsync(installation.OrgId, ChannelState.Parse(state), urls.BaseFor(http.Request), ct);
        return TypedResults.Text(page, "application/json; charset=utf-8");
    }

    /// <summary>The channelState config param from either body shape; null when absent. An empty body is no params.</summary>
    internal static async Task<JsonElement?> ReadChannelStateAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length == 0) return null;

        using var doc = JsonDocument.Parse(buffer.ToArray());
        var root = doc.RootElement;
        switch (root.ValueKind)
        {
            case JsonValueKind.Object:
                if (root.TryGetProperty("channelState", out var flat)) return flat.Clone();
                // Tolerate the push's wrapping ({"configParams": {...}}) too.
                return root.TryGetProperty("configParams", out var wrapped) && wrapped.ValueKind == JsonValueKind.Object
                    && wrapped.TryGetProperty("channelState", out var inner) ? inner.Clone() : null;
            case JsonValueKind.Array:
                foreach (var item in root.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var name)
                        && name.ValueKind == JsonValueKind.String && name.GetString() == "channelState")
                        return item.TryGetProperty("value", out var value) ? value.Clone() : null;
                }
                return null;
            default:
                throw new JsonException("Config params must be an object or an array.");
        }
    }
}
