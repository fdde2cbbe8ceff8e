using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>The name Desk gets for a customer's file Twilio sent without one (Twilio/MediaHeaders.DefaultName).</summary>
public sealed class MediaNameTests
{
    [Theory]
    [InlineData("image/jpeg", 0, "media-1.jpg")]
    [InlineData("audio/ogg; codecs=opus", 1, "media-2.ogg")] // a WhatsApp voice note
    [InlineData("AUDIO/MPEG", 0, "media-1.mp3")]
    [InlineData("application/vnd.openxmlformats-officedocument.wordprocessingml.document", 2, "media-3.docx")] // from the framework's table
    [InlineData("application/x-made-up", 0, "media-1")]
    [InlineData(null, 0, "media-1")]
    [InlineData("not a type", 4, "media-5")]
    public void AFileWithoutANameIsNamedByItsPlaceAndType(string? contentType, int index, string expected) =>
        Assert.Equal(expected, MediaHeaders.DefaultName(contentType, index));
}
