using System.Text.Json;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Delivery;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// POST /desk/pull?orgId=…&amp;securityContext=…: Desk's pull every 4 minutes. The body holds the extension's non-secure
/// config params, as a flat object or a [{name, value}] array; channelState among them is our cursor.
/// </summary>
internal static class PullEndpoint
{
    /// <summary>How long a pull waits for webhooks answered just before it to leave the inbox; after that it serves what
    /// is in the feed, and the next pull serves the rest.</summary>
    private static readonly TimeSpan CatchUpBound = TimeSpan.FromSeconds(2);

    public static async Task<IResult> PullAsync(HttpContext http, PullFeed feed, PublicUrls urls, DeliveryStore deliveries, InboundProjector projector, CancellationToken ct)
    {
        var installation = (Installation)http.Items[DeskCallerFilter.InstallationItem]!;
        JsonElement? state;
        try
        {
            state = await ReadChannelStateAsync(http.Request, ct);
        }
        catch (JsonException)
        {
            return TypedResults.Json(new { message = "The body must be JSON in UTF-8: the config params as an object or a [{name, value}] array." }, statusCode: StatusCodes.Status400BadRequest);
        }

        // Desk sending back "after N" proves it has everything up to N (the import then goes on after it); what the
        // import delivered is not served again. The cursor returned is the last position served (or the start).
        var orgId = installation.OrgId;
        var acknowledged = ChannelState.Parse(state).After;
        // Every state we hand out (pull or import) is 0 or the position of one of this org's own threads. Positions are
        // shared by all orgs' feeds, so another org's cursor, a forged one, or one from before our database was replaced
        // names a position that is not among them (another org's thread, or beyond the feed's end). Like any unreadable
        // state it means "from the start": kept, it would skip, and confirm as delivered, every thread of ours below it.
        if (acknowledged > 0 && !await feed.IsOwnPositionAsync(orgId, acknowledged, ct)) acknowledged = 0;
        if (acknowledged > 0) await deliveries.ConfirmPulledAsync(orgId, acknowledged);
        var imported = (await deliveries.FindAsync(orgId, ct))?.ImportedThrough ?? 0;
        var after = Math.Max(acknowledged, imported);

        await projector.CaughtUpAsync(CatchUpBound, ct);
        var entries = await feed.ReadAsync(orgId, after, urls.BaseFor(http.Request), ct);
        var cursor = new ChannelState(entries.Count > 0 ? entries[^1].Position : after);
        return TypedResults.Text(PullFeed.Compose(entries, cursor), "application/json; charset=utf-8");
    }

    /// <summary>The channelState config param from either body shape; null when absent. An empty body is no params.</summary>
    internal static async Task<JsonElement?> ReadChannelStateAsync(HttpRequest request, CancellationToken ct)
    {
        using var doc = await JsonBody.ReadAsync(request, ct); // checked as text: else a bad string throws where it is read, a 500
        if (doc is null) return null;
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
