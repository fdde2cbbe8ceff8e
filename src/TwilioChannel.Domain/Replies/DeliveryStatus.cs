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
}
