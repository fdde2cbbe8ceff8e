using System.Text.Json;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Desk;

namespace TwilioChannel.Web.Replies;

/// <summary>POST /desk/push?orgId=…&amp;securityContext=…: an agent's reply, to be sent to the customer exactly once.</summary>
internal static class PushEndpoint
{
    public static async Task<IResult> PushAsync(HttpContext http, ReplyService replies, PublicUrls urls, CancellationToken ct)
    {
        var installation = (Installation)http.Items[DeskCallerFilter.InstallationItem]!;
        DeskReply? reply;
        string? error;
        try
        {
            using var doc = await JsonBody.ReadAsync(http.Request, ct) ?? throw new JsonException("The body is empty.");
            reply = DeskReply.Parse(doc.RootElement, out error);
        }
        catch (JsonException)
        {
            (reply, error) = (null, "The body must be Desk's push payload as JSON.");
        }
        if (reply is null) return TypedResults.Json(new { message = error }, statusCode: StatusCodes.Status400BadRequest);

        var outcome = await replies.HandleAsync(installation, reply, urls.BaseFor(http.Request));
        return TypedResults.Content(outcome.Json, "application/json; charset=utf-8", statusCode: outcome.StatusCode);
    }
}
