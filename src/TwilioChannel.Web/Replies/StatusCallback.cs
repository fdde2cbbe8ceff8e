using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Replies;

/// <summary>POST /twilio/status: Twilio's delivery status callbacks for our replies (signed like inbound).</summary>
internal static class StatusCallback
{
    public static async Task<IResult> ReceiveAsync(HttpContext http, StatusStore statuses)
    {
        var form = (Dictionary<string, string>)http.Items[TwilioSignatureFilter.FormItem]!;
        var sid = form.GetValueOrDefault("MessageSid") ?? form.GetValueOrDefault("SmsSid");
        var status = form.GetValueOrDefault("MessageStatus") ?? form.GetValueOrDefault("SmsStatus");
        if (string.IsNullOrWhiteSpace(sid) || sid.Length > 64 || string.IsNullOrWhiteSpace(status) || status.Length > 32)
            return TypedResults.BadRequest();
        int? code = int.TryParse(form.GetValueOrDefault("ErrorCode"), out var c) ? c : null;
        await statuses.ApplyAsync(sid, status, code, orgId: null, form.GetValueOrDefault("To"), form.GetValueOrDefault("From"));
        return TypedResults.NoContent();
    }
}
