namespace TwilioChannel.Domain.Replies;

/// <summary>
/// Twilio message statuses ordered for monotonic storage: callbacks come in any order (a late "sent" after
/// "delivered"), so a status only replaces one of lower rank. failed, undelivered and canceled are final.
/// </summary>
public static class DeliveryStatus
{
    public static int Rank(string? status) => status?.ToLowerInvariant() switch
    {
        "accepted" or "scheduled" or "queued" => 1,
        "sending" => 2,
        "sent" => 3,
        "delivered" => 4,
        "read" => 5,
        "failed" or "undelivered" or "canceled" => 10,
        _ => 0,
    };

    public static bool IsFinalFailure(string? status) => status?.ToLowerInvariant() is "failed" or "undelivered" or "canceled";

    /// <summary>True when <paramref name="incoming"/> should replace <paramref name="current"/>.</summary>
    public static bool Advances(string? current, string incoming)
    {
        if (IsFinalFailure(current)) return false;
        return Rank(incoming) > Rank(current);
    }

    /// <summary>
    /// The status of a reply sent as several messages (long text, WhatsApp attachments), from its parts' statuses in
    /// order (null: not heard of yet). A failed part decides it, the first in order if several did, with that part's
    /// number and error, so a later "delivered" of another part can't hide the failure; otherwise it is the least
    /// advanced part's status, delivered only once every part is delivered (read once all are read).
    /// </summary>
    public static ReplyDelivery OfReply(IReadOnlyList<PartStatus?> parts)
    {
        for (var i = 0; i < parts.Count; i++)
            if (parts[i] is { } failed && IsFinalFailure(failed.Status))
                return new ReplyDelivery(failed.Status.ToLowerInvariant(), i + 1, failed.ErrorCode, failed.Reason);
        var least = 0;
        for (var i = 1; i < parts.Count; i++)
            if (Rank(parts[i]?.Status) < Rank(parts[least]?.Status)) least = i;
        return new ReplyDelivery(parts.Count == 0 ? null : parts[least]?.Status.ToLowerInvariant(), least + 1, null, null);
    }
}

/// <summary>One message of a reply as stored: its status and, for a failure, Twilio's error code and our reason.</summary>
public sealed record PartStatus(string Status, int? ErrorCode = null, string? Reason = null);

/// <summary>A reply's combined status (null when no part was heard of); <see cref="Part"/> is the 1-based part it comes from.</summary>
public sealed record ReplyDelivery(string? Status, int Part, int? ErrorCode, string? Reason);
