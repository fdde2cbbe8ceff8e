using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;

namespace TwilioChannel.Domain.Mapping;

/// <summary>What an agent's reply looked like when we sent it: enough to restate its Desk thread with a new status.</summary>
public sealed record SentReply(string TicketExtId, string FirstSid, string Body, DateTime CreatedUtc, string From, string To);

/// <summary>
/// Delivery status of agent replies, as Desk threads. The reply already is a thread in Desk (extId = the first message
/// SID, which the push answered), so a status change is an update of that thread: same extId, the status and error in
/// <c>extra</c>. A reply that failed or was not delivered also gets a short notice thread of its own, because an agent
/// rarely looks at a thread's extra data; that notice is incoming (agents watch for those) and can't be replied to.
/// </summary>
public static class ReplyStatusMapper
{
    public const string NoticeSuffix = "-undelivered";

    /// <summary>
    /// The reply's thread with its latest status. The content is the full text the customer was sent, never split:
    /// continuation parts would add threads to an agent's reply, and Desk already holds that reply at its full length.
    /// </summary>
    public static SyncThread StatusUpdate(SentReply reply, string status, int? errorCode, string? reason)
    {
        var value = new Dictionary<string, object?> { ["status"] = status, ["errorCode"] = errorCode, ["error"] = reason };
        return new SyncThread(
            ExtId.Encode(reply.FirstSid), reply.TicketExtId, reply.CreatedUtc, Content(reply.Body), "out", reply.From, [reply.To],
            Sender(reply.From), CanReply: true,
            Extra: new SyncExtra("twilio_status_{{thread.id}}", value, status));
    }

    /// <summary>
    /// "Not delivered to the customer: &lt;reason&gt;", one per failed message SID (redelivery is an update). For a reply
    /// sent as several messages it says which one failed ("part 2 of 3"): the others may have reached the customer.
    /// </summary>
    public static SyncThread DeliveryNotice(SentReply reply, string failedSid, string reason, DateTime atUtc, int contentLimit, int part = 1, int parts = 1)
    {
        var which = parts > 1 ? $" (part {part} of {parts})" : "";
        var text = InboundMapper.Shorten($"⚠ Not delivered to the customer{which}: {reason}", contentLimit);
        return new SyncThread(
            ExtId.Encode(failedSid) + NoticeSuffix, reply.TicketExtId, atUtc, text, "in", "Twilio", [reply.To],
            new SyncActor("twilio-delivery-status", "Delivery status"), CanReply: false,
            Extra: new SyncExtra("twilio_notice_{{thread.id}}", new Dictionary<string, object?> { ["sid"] = failedSid, ["error"] = reason }, "undelivered"));
    }

    private static string Content(string body) => string.IsNullOrWhiteSpace(body) ? "[reply]" : body;

    private static SyncActor Sender(string from)
    {
        var phone = from.StartsWith("MG", StringComparison.Ordinal) ? from : ChannelAddress.Parse(from).Phone;
        return new SyncActor(ExtId.Encode(from), phone, Phone: phone);
    }
}
