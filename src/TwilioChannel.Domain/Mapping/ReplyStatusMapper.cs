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
    /// The reply's thread with its latest status. Desk documents thread content as string(255) (Desk:ThreadContentLimit),
    /// and the restatement may replace the text Desk holds: the first part within the limit is the reply's thread, the
    /// rest follow as ordered continuation threads ("SID#2", 1 ms apart) like a long inbound message, so no text is lost.
    /// Restating them again with a later status only updates the same extIds.
    /// </summary>
    public static IReadOnlyList<SyncThread> StatusUpdate(SentReply reply, string status, int? errorCode, string? reason, int contentLimit)
    {
        var value = new Dictionary<string, object?> { ["status"] = status, ["errorCode"] = errorCode, ["error"] = reason };
        var parts = ContentSplitter.Split(Content(reply.Body), contentLimit);
        var baseId = ExtId.Encode(reply.FirstSid);
        var threads = new SyncThread[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            threads[i] = new SyncThread(
                ExtId.Part(baseId, i + 1), reply.TicketExtId, reply.CreatedUtc.AddMilliseconds(i), parts[i], "out", reply.From, [reply.To],
                Sender(reply.From), CanReply: true,
                Extra: i == 0 ? new SyncExtra("twilio_status_{{thread.id}}", value, status) : null);
        }
        return threads;
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
