namespace TwilioChannel.Domain.Mapping;

/// <summary>
/// When a message's threads start in its ticket. Desk orders a ticket's threads by createdTime, and a long message's
/// continuation parts are one millisecond apart after the message's own time (InboundMapper.Threads). A message received
/// while those milliseconds run (a customer's burst: webhooks a few ms apart) would land between another message's parts,
/// so it starts one millisecond after the ticket's last thread instead. Only a message at most <see cref="Window"/>
/// before that thread moves: anything older (history found by a backfill) keeps its own time, and its place in Desk.
/// </summary>
public static class ThreadClock
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <param name="received">The message's own time.</param>
    /// <param name="lastThreadAt">The createdTime of the ticket's latest thread so far; null for a new ticket.</param>
    public static DateTime Start(DateTime received, DateTime? lastThreadAt) =>
        lastThreadAt is { } last && received <= last && last - received <= Window ? last.AddMilliseconds(1) : received;

    /// <summary>The createdTime of the last of <paramref name="threads"/> threads starting at <paramref name="start"/>.</summary>
    public static DateTime LastThread(DateTime start, int threads) => start.AddMilliseconds(Math.Max(threads, 1) - 1);
}
