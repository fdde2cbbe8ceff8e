using TwilioChannel.Domain.Mapping;

namespace TwilioChannel.Domain.Tests;

public sealed class ThreadClockTests
{
    private static readonly DateTime T = new(2026, 11, 26, 9, 0, 0, 500, DateTimeKind.Utc);

    [Fact]
    public void TheFirstMessageOfATicketKeepsItsTime() => Assert.Equal(T, ThreadClock.Start(T, null));

    [Fact]
    public void AMessageAfterTheTicketsLastThreadKeepsItsTime() => Assert.Equal(T, ThreadClock.Start(T, T.AddMilliseconds(-1)));

    [Fact]
    public void AMessageReceivedWhileAnotherMessagesPartsRunStartsAfterTheLastPart()
    {
        var lastPart = ThreadClock.LastThread(T, threads: 7); // parts at T … T+6 ms
        Assert.Equal(T.AddMilliseconds(6), lastPart);
        Assert.Equal(T.AddMilliseconds(7), ThreadClock.Start(T.AddMilliseconds(2), lastPart));
        Assert.Equal(T.AddMilliseconds(7), ThreadClock.Start(T.AddMilliseconds(6), lastPart));
    }

    [Fact]
    public void HistoryOlderThanTheWindowKeepsItsOwnTime()
    {
        var older = T - ThreadClock.Window - TimeSpan.FromMilliseconds(1);
        Assert.Equal(older, ThreadClock.Start(older, T));
        Assert.Equal(T.AddDays(-3), ThreadClock.Start(T.AddDays(-3), T));
    }

    [Fact]
    public void ASingleThreadEndsWhereItStarts() => Assert.Equal(T, ThreadClock.LastThread(T, threads: 1));
}
