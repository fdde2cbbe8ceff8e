using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>Images inline in an HTML reply, without Zoho OAuth (with it: ReplyAttachmentTests). None is ever dropped
/// silently: it is sent, kept as its address, or fails the reply.</summary>
public sealed class ReplyInlineImageTests : ReplyTestsBase
{
    [Fact]
    public async Task AnInlineDeskImageWithoutZohoOAuthFailsTheReplyNamingTheImageAndSendsNothing()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob,
            "<div>Tap this button:</div><img src=\"https://desk.zoho.com/api/v1/threads/1/inlineImages/button.png\">", contentType: "text/html"));

        Assert.Equal(400, status);
        Assert.StartsWith("This reply has an inline image, and sending files from Desk needs Zoho OAuth credentials", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AnImageElsewhereIsSentAsItsAddressInTheTextAndNotFetched()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob,
            "<div>Find us here:</div><img src=\"https://maps.example.com/shop.png\" alt=\"Our shop\">", contentType: "text/html"));

        Assert.Equal(200, status);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("Find us here:\nOur shop (https://maps.example.com/shop.png)", sent["Body"]);
        Assert.False(sent.ContainsKey("MediaUrl"));
    }

    [Theory]
    [InlineData("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==", "The reply contains a pasted image that can't be sent; attach the file instead.")]
    [InlineData("", "The reply contains an image without a web address it can be sent from; attach the file instead.")]
    public async Task AnImageThatCantBeSentFailsTheReplyInsteadOfGoingWithoutIt(string src, string reason)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, $"<p>Here is the screenshot:</p><p><img src=\"{src}\" alt=\"screenshot\"></p>", contentType: "text/html"));

        Assert.Equal(400, status);
        Assert.Equal(reason, (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }
}
