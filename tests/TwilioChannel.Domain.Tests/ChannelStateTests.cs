using System.Text.Json;
using TwilioChannel.Domain.Desk;

namespace TwilioChannel.Domain.Tests;

public sealed class ChannelStateTests
{
    [Fact]
    public void SerializedStateReadsBack() => Assert.Equal(new ChannelState(42), ChannelState.Parse(new ChannelState(42).Serialize()));

    [Fact]
    public void TheFixturesStateFormIsRead() => Assert.Equal(42, ChannelState.Parse("{\"v\":1,\"after\":42}").After);

    [Fact]
    public void AStateDeskDecodedIntoAnObjectIsRead()
    {
        using var doc = JsonDocument.Parse("""{"channelState":{"v":1,"after":7}}""");
        Assert.Equal(7, ChannelState.Parse(doc.RootElement.GetProperty("channelState")).After);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("{\"after\":-5}")]
    [InlineData("{\"my_pending_data\":\"298092\"}")]
    [InlineData("[1,2]")]
    public void EmptyOrUnreadableStateMeansFromTheStart(string? text) => Assert.Equal(ChannelState.Start, ChannelState.Parse(text));
}
