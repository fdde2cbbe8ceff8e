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
        if (string.IsNullOrWhiteSpace(sid) || sid.Length > 64)
            return TypedResults.Problem("A status callback needs MessageSid (or SmsSid), at most 64 characters.", statusCode: StatusCodes.Status400BadRequest);
        if (string.IsNullOrWhiteSpace(status) || status.Length > 32)
            return TypedResults.Problem("A status callback needs MessageStatus (or SmsStatus), at most 32 characters.", statusCode: StatusCodes.Status400BadRequest);
        int? code = int.TryParse(form.GetValueOrDefault("ErrorCode"), out var c) ? c : null;
        // The signature filter checked the form against AccountSid's token; whether the SID is that account's is the
        // store's check (a status from another account than the message's changes nothing, and is logged there).
        // Such a callback is still answered 204, not 403: Twilio never sends one (it signs a message's callbacks with
        // the message's own account), so the answer only reaches whoever forged it, and a 403 where an unknown SID gets
        // 204 would tell them that the SID exists here under another tenant. The refusal is in the log for operators.
        // The reply our send named in the URL (Replies/ReplySender); the URL is signed, and the store still checks the
        // reply's account and SIDs. Any other value is not ours and names nothing.
        long? reply = long.TryParse(http.Request.Query["reply"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var r) ? r : null;
        await statuses.ApplyCallbackAsync(sid, form["AccountSid"], status, code, form.GetValueOrDefault("To"), form.GetValueOrDefault("From"), reply);
        return TypedResults.NoContent();
    }
}
