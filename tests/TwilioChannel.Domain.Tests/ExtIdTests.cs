using TwilioChannel.Domain.Desk;

namespace TwilioChannel.Domain.Tests;

public sealed class ExtIdTests
{
    [Theory]
    [InlineData("SM9f1c2a7e4b5d6c8e0a1b2c3d4e5f6a7b")]
    [InlineData("whatsapp:+5511987654321")]
    [InlineData("+14155550123")]
    public void TwilioSidsAndAddressesPassUnchanged(string raw) => Assert.Equal(raw, ExtId.Encode(raw));

    [Theory]
    [InlineData("messenger:Ana Souza", "messenger:Ana$20Souza")]
    [InlineData("a$b", "a$24b")]
    [InlineData("a#b", "a$23b")]
    [InlineData("São", "S$C3$A3o")]
    public void DisallowedCharactersAreEscapedAsUtf8Hex(string raw, string expected) => Assert.Equal(expected, ExtId.Encode(raw));

    [Theory]
    [InlineData("plain")]
    [InlineData("with space/slash?and=query")]
    [InlineData("emoji 👟 and RTL مرحبا and $ and # and %")]
    [InlineData("$23 looks like an escape")]
    public void EncodingIsReversibleAndUsesOnlyAllowedCharacters(string raw)
    {
        var encoded = ExtId.Encode(raw);
        Assert.All(encoded, c => Assert.True(ExtId.IsAllowed(c), $"'{c}' is not allowed in an extId"));
        Assert.Equal(raw, ExtId.Decode(encoded));
    }

    [Fact]
    public void EncodedDataNeverContainsTheSeparator() => Assert.DoesNotContain('#', ExtId.Encode("a#b#c"));

    [Fact]
    public void MalformedEscapeIsRejected() => Assert.Throws<FormatException>(() => ExtId.Decode("abc$2"));

    [Fact]
    public void FirstPartIsTheBaseAndLaterPartsCarryASuffix()
    {
        Assert.Equal("SM1", ExtId.Part("SM1", 1));
        Assert.Equal("SM1#3", ExtId.Part("SM1", 3));
    }

    [Fact]
    public void TicketGenerationOneIsTheBareAddressAndLaterGenerationsRoundTrip()
    {
        Assert.Equal("whatsapp:+5511987654321", new TicketKey("whatsapp:+5511987654321").ExtId);
        var second = new TicketKey("whatsapp:+5511987654321", 2);
        Assert.Equal("whatsapp:+5511987654321#2", second.ExtId);
        Assert.Equal(second, TicketKey.Parse(second.ExtId));
        Assert.Equal(new TicketKey("odd#address"), TicketKey.Parse(new TicketKey("odd#address").ExtId));
    }
}
