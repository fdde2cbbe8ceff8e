using TwilioChannel.Domain.Addresses;

namespace TwilioChannel.Web.Data;

// Rows are plain classes configured fluently in ChannelDbContext. Every number, conversation, message and thread
// belongs to exactly one Desk org (OrgId); a message has none only while it is unrouted (its number isn't configured).

public sealed class TwilioAccount
{
    public long Id { get; set; }
    public required string AccountSid { get; set; }
    /// <summary>Data Protection ciphertext; the token itself is never stored, returned or logged.</summary>
    public required string AuthTokenProtected { get; set; }
    public string? FriendlyName { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class Installation
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public string? InstallationId { get; set; }
    public string? DeskDomain { get; set; }
    public string? ConnectionLinkName { get; set; }
    /// <summary>Data Protection ciphertext of the securityContext Desk gave us.</summary>
    public string? SecurityContextProtected { get; set; }
    /// <summary>Data Protection ciphertext of the Zoho OAuth client (id, secret, refresh token) used to fetch reply attachments.</summary>
    public string? ZohoOAuthProtected { get; set; }
    /// <summary>False after onUninstall: pulls and pushes are refused until the org installs again.</summary>
    public bool Enabled { get; set; } = true;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// A number an admin deleted, under the id it had: conversations keep the id of the number their customer last wrote
/// to, and numbers can't be edited, so deleting and adding one again (to set its template or Messaging Service) gave it
/// a new id. Replies look the old id up here to keep going from that address (Replies/ReplyTarget).
/// </summary>
public sealed class RetiredNumber
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public required string Address { get; set; }
    public DateTime DeletedAt { get; set; }
}

public sealed class ChannelNumber
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public required string AccountSid { get; set; }
    /// <summary>As Twilio writes it: "+14155550100" or "whatsapp:+14155238886".</summary>
    public required string Address { get; set; }
    public MessagingChannel Channel { get; set; }
    public string? MessagingServiceSid { get; set; }
    /// <summary>An approved WhatsApp template (ContentSid, HX…) sent when a reply comes outside the 24-hour window.</summary>
    public string? WhatsAppTemplateSid { get; set; }
    public bool IsDefault { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>Reconciliation has compared Twilio's list with our store up to here (it re-reads an overlap before it).</summary>
    public DateTime? ReconciledThrough { get; set; }
    /// <summary>Since when Twilio answers 404 to this number's message list (History/ReconcileJob warns once, when it
    /// starts); null while it lists.</summary>
    public DateTime? ListNotFoundSince { get; set; }
}

/// <summary>Held: stored by a backfill, routed when the backfill has listed everything, in original time order.</summary>
public enum MessageState { Received = 0, Routed = 1, Unrouted = 2, Held = 3 }

public sealed class Message
{
    public long Id { get; set; }
    public required string MessageSid { get; set; }
    public required string AccountSid { get; set; }
    public string? OrgId { get; set; }
    public required string From { get; set; }
    public required string To { get; set; }
    public required string Body { get; set; }
    public string? MessagingServiceSid { get; set; }
    public int NumMedia { get; set; }
    /// <summary>"in" for customer messages; replies ("out") come with the replies issue.</summary>
    public required string Direction { get; set; }
    public MessageState State { get; set; }
    public DateTime ReceivedAt { get; set; }
    /// <summary>Every form field Twilio posted, as JSON: Twilio adds parameters without notice.</summary>
    public required string RawForm { get; set; }
    public long? ConversationId { get; set; }
    public Conversation? Conversation { get; set; }
    /// <summary>The backfill that found this message in Twilio's history (null for webhooks and reconciliation).</summary>
    public long? BackfillId { get; set; }

    /// <summary>The parsed form, when the message comes straight from the webhook (not mapped to a column).</summary>
    [System.ComponentModel.DataAnnotations.Schema.NotMapped]
    public IReadOnlyDictionary<string, string>? Form { get; set; }

    /// <summary>The form as the webhook already parsed it, so routing doesn't parse it again (not mapped).</summary>
    [System.ComponentModel.DataAnnotations.Schema.NotMapped]
    public TwilioChannel.Domain.Twilio.InboundMessage? Inbound { get; set; }
}

public sealed class Conversation
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public required string CustomerAddress { get; set; }
    public int Generation { get; set; } = 1;
    public required string TicketExtId { get; set; }
    /// <summary>The SYNC_TICKET_OBJECT, mapped once when the conversation starts and served as is.</summary>
    public required string TicketJson { get; set; }
    public long? LastNumberId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime LastMessageAt { get; set; }
    public DateTime? LastInboundAt { get; set; }
}

/// <summary>
/// One Desk thread as it will be served: the feed that pull (and later import) reads in Position order. Positions are
/// handed out from <see cref="Counter"/> inside the transaction that writes the rows, under the counter's row lock, so
/// they become visible in increasing order even with several writers (see Routing/MessageRouter).
/// </summary>
public sealed class FeedThread
{
    public long Id { get; set; }
    public long Position { get; set; }
    public required string OrgId { get; set; }
    public long ConversationId { get; set; }
    public Conversation? Conversation { get; set; }
    /// <summary>The stored message this thread carries; 0 for threads that are not a stored message (a reply's status,
    /// a delivery notice). Not nullable on purpose: changing the column would rebuild the feed table on upgrade.</summary>
    public long MessageId { get; set; }
    public required string ExtId { get; set; }
    public int Part { get; set; }
    /// <summary>Attachments of the message, on part 1 only; their URLs are signed when served (they expire).</summary>
    public int MediaCount { get; set; }
    /// <summary>The SYNC_THREAD_OBJECT without attachmentUrls.</summary>
    public required string ThreadJson { get; set; }
}

public sealed class Counter
{
    public required string Name { get; set; }
    public long Value { get; set; }

    public const string Feed = "feed";
}

/// <summary>NotSent: failed with nothing sent for certain (Twilio unreachable or rate-limiting): the next push of the
/// reply sends it afresh, where Failed answers the stored outcome.</summary>
public enum ReplyState { Sending = 0, Sent = 1, Failed = 2, NotSent = 3 }

/// <summary>
/// One agent reply pushed by Desk, keyed by Desk's thread id: the row is claimed before anything is sent, so a repeated
/// or concurrent push of the same id never reaches the customer twice; it answers the stored outcome instead.
/// </summary>
public sealed class Reply
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public required string DeskThreadId { get; set; }
    public string? DeskTicketId { get; set; }
    public required string ExtParentId { get; set; }
    public string? To { get; set; }
    public string? From { get; set; }
    public string? MessagingServiceSid { get; set; }
    /// <summary>The sending number's Twilio account, stored with the outcome: a status callback naming this reply must be
    /// signed by it before it may claim one of the reply's SIDs (Replies/StatusStore).</summary>
    public string? AccountSid { get; set; }
    /// <summary>A status callback naming this reply came while it was still sending: its outcome then claims the
    /// callbacks' rows by SID. Without one it writes no status row at all (see Replies/StatusStore).</summary>
    public bool StatusReported { get; set; }
    public ReplyState State { get; set; }
    /// <summary>The plain text sent (after HTML conversion), for the record and the lookup after an unknown outcome.</summary>
    public string? Body { get; set; }
    public string? FirstSid { get; set; }
    /// <summary>Every SID sent for this reply, in order (long replies and attachments go out as several messages).</summary>
    public string Sids { get; set; } = "[]";
    public int? ErrorCode { get; set; }
    public string? FailureReason { get; set; }
    /// <summary>What we answered Desk (status code and JSON), replayed for a repeated push.</summary>
    public int? ResponseStatus { get; set; }
    public string? ResponseJson { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}

/// <summary>The latest delivery status of one outbound message, applied monotonically (see Domain DeliveryStatus).</summary>
public sealed class OutboundStatus
{
    public required string MessageSid { get; set; }
    public long? ReplyId { get; set; }
    public string? OrgId { get; set; }
    /// <summary>The Twilio account the message is of: the sending number's once a reply claimed the SID, else the
    /// account whose signed callback reported it first. A status from any other account never changes the row
    /// (Replies/StatusStore). Null only on rows from before it was kept that no number could be found for.</summary>
    public string? AccountSid { get; set; }
    public required string Status { get; set; }
    /// <summary>DeliveryStatus.Rank(Status): updates are conditional on it in SQL, so concurrent callbacks can't go back.</summary>
    public int Rank { get; set; }
    public int? ErrorCode { get; set; }
    public string? ErrorReason { get; set; }
    public string? To { get; set; }
    public string? From { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A customer's SMS opt-out for one sender (a number, or the Messaging Service holding it).</summary>
public sealed class OptOut
{
    public long Id { get; set; }
    public required string SenderKey { get; set; }
    public required string CustomerAddress { get; set; }
    public bool OptedOut { get; set; }
    /// <summary>When the customer sent the STOP or START that set it (rows from before: when it was stored), so an
    /// older one stored later (a backfill, the reconciliation) doesn't undo it.</summary>
    public DateTime UpdatedAt { get; set; }
}

/// <summary>What became of a re-engagement template send; only NotSent (Twilio certainly did not take it) lets the next
/// window-closed reply send another one at once.</summary>
public enum TemplateInviteState { Sending = 0, Sent = 1, Unknown = 2, NotSent = 3 }

/// <summary>
/// The latest WhatsApp re-engagement template sent from one sender (the number whose window closed) to one customer:
/// one row per pair, claimed by a conditional upsert before the template goes out, so concurrent window-closed replies
/// (several agents, retries, several instances) send it once (Replies/TemplateInvites). The template's SID is also on
/// its Reply row and in OutboundStatuses, like any reply message.
/// </summary>
public sealed class TemplateInvite
{
    public long Id { get; set; }
    public required string SenderAddress { get; set; }
    public required string CustomerAddress { get; set; }
    public required string OrgId { get; set; }
    /// <summary>The reply whose push sent it.</summary>
    public long ReplyId { get; set; }
    public TemplateInviteState State { get; set; }
    /// <summary>When the send began: the time the next reply is told about, and what the once-a-day rule compares.</summary>
    public DateTime StartedAt { get; set; }
    public string? MessageSid { get; set; }
}

/// <summary>A file an agent attached to a reply, fetched from Desk and offered to Twilio at a signed URL of ours.</summary>
public sealed class OutboundMedia
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public long ReplyId { get; set; }
    public required string FileName { get; set; }
    public required string ContentType { get; set; }
    public required byte[] Content { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// How far Desk has the org's feed. Every position up to <see cref="Position"/> reached Desk, by our import calls or
/// confirmed by a pull (Desk sends back the channelState we gave it): import continues after it. The pull serves after
/// <see cref="ImportedThrough"/> at least, so nothing import delivered is served again, while an older channelState
/// still gets pulled items again (Desk lost its state: re-serving is harmless, skipping would lose threads).
/// One row per org, shared by every instance: the lease makes one instance at a time the org's deliverer, which keeps
/// the feed's order per ticket.
/// </summary>
public sealed class DeliveryCursor
{
    public required string OrgId { get; set; }
    public long Position { get; set; }
    /// <summary>Up to here the import delivered (or set aside as dead letters) everything it was given.</summary>
    public long ImportedThrough { get; set; }
    /// <summary>Why import stopped for good until an admin resumes it (revoked installation); the pull still serves.</summary>
    public string? ParkedReason { get; set; }
    public DateTime? ParkedAt { get; set; }
    public int Failures { get; set; }
    public DateTime? NextAttemptAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>UTC day (yyyy-MM-dd) that <see cref="CallsToday"/> counts, for the daily budget of Desk API calls.</summary>
    public string? BudgetDay { get; set; }
    public int CallsToday { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public DateTime? LastDeliveredAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A feed thread Desk refused as invalid, set aside so the rest keeps flowing; replaying appends it again.</summary>
public sealed class DeadLetter
{
    public long Id { get; set; }
    public required string OrgId { get; set; }
    public long FeedThreadId { get; set; }
    public long Position { get; set; }
    public required string ExtId { get; set; }
    public int StatusCode { get; set; }
    public required string Reason { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? ReplayedAt { get; set; }
}

public enum BackfillState { Queued = 0, Listing = 1, Releasing = 2, Completed = 3, Cancelled = 4, Failed = 5 }

/// <summary>
/// One history backfill of a number: lists Twilio's messages to it (phase 0) and from it (phase 1) since a date, page
/// by page, storing each page's new messages and the next page's URL in one transaction — so a restart resumes exactly
/// where it stopped, without duplicates — then routes what it stored in original time order.
/// </summary>
public sealed class Backfill
{
    public long Id { get; set; }
    public long NumberId { get; set; }
    public required string OrgId { get; set; }
    public required string AccountSid { get; set; }
    public required string Address { get; set; }
    public DateTime Since { get; set; }
    public BackfillState State { get; set; }
    public int Phase { get; set; }
    public string? NextPageUrl { get; set; }
    public int PagesFetched { get; set; }
    public long MessagesFetched { get; set; }
    public long MessagesStored { get; set; }
    public long MessagesRouted { get; set; }
    /// <summary>The oldest DateSent seen in the current phase: progress by dates (Twilio gives no total count).</summary>
    public DateTime? ReachedDate { get; set; }
    public bool CancelRequested { get; set; }
    public string? Error { get; set; }
    public string? JobId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}
