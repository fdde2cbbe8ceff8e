using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>SMS opt-out: STOP and START per sender, and a reply to an opted-out customer failing without calling Twilio.</summary>
public sealed class ReplyOptOutTests : ReplyTestsBase
{
    private const string OptOutService = "MG22222222222222222222222222222222"; // sms-opt-out-stop.form's

    [Fact]
    public async Task AnOptedOutSmsCustomerFailsAtOnceAndStartOptsThemBackIn()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Sms("STOP", from: Bob));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "Are you there?"));
        Assert.Equal(400, status);
        Assert.Contains("opted out", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);

        await _app.CustomerWritesAsync(Fixtures.Sms("start", from: Bob));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "Welcome back"))).Status);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task AnOptOutAppliesOnlyToTheSenderItWasSentTo()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550101", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.Sms("STOP", from: Bob, to: Fixtures.SmsNumber));
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi again, on the other number", from: Bob, to: "+14155550101"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Replying from the second number"));

        Assert.Equal(200, status);
        Assert.Equal("+14155550101", Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task TheOptOutFixtureWithOptOutTypeMarksTheCustomerForItsMessagingService()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550111", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, messagingServiceSid = "MG22222222222222222222222222222222" })).EnsureSuccessStatusCode();
        var form = Fixtures.Form("sms-opt-out-stop.form");
        form["To"] = "+14155550111";
        await _app.CustomerWritesAsync(form);

        var (status, body) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Hello?"));

        Assert.Equal(400, status);
        Assert.Contains("21610", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AStopThroughAMessagingServiceBlocksRepliesFromTheNumberItArrivedOn()
    {
        // The reviewer's case: the number is configured without a Messaging Service, but Twilio delivered the STOP
        // through one (the fixture's MG2222…). Twilio blocks the number too, so the reply must not reach it.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Hello?"));

        Assert.Equal(400, status);
        Assert.Contains("opted out", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStartOnTheNumberWithOrWithoutItsMessagingServiceClearsAStopThatCameThroughTheService(bool throughService)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));
        var start = Fixtures.Sms("START", from: "+12125550188");
        if (throughService) start["MessagingServiceSid"] = OptOutService;
        await _app.CustomerWritesAsync(start);

        var (status, _) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Welcome back"));

        Assert.Equal(200, status);
        Assert.Equal(Fixtures.SmsNumber, Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task AStopThroughAServiceOnAnotherNumberDoesNotBlockANumberOutsideThatService()
    {
        _twilio.AcceptMessages();
        (await _app.Admin().PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550101", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId })).EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi again, on the other number", from: "+12125550188", to: "+14155550101"));

        var (status, _) = await _app.PushAsync(ReplyApp.Push("+12125550188", "Replying from the second number"));

        Assert.Equal(200, status);
        Assert.Equal("+14155550101", Assert.Single(_twilio.Sent)["From"]);
    }

    [Fact]
    public async Task AReplyRefusedForAnOptOutIsRefusedAgainWordForWordWhilePushedAgainAndGoesOutOnceAfterStart()
    {
        // Desk offers to resend a failed reply (the same reply id): the stored refusal was answered for ever, even after
        // the customer sent START.
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-opt-out-stop.form"));
        var push = ReplyApp.Push("+12125550188", "Your order shipped", id: "88001");
        await _app.RefusedAlikeTwiceAsync(push);
        Assert.Empty(_twilio.Sent);

        await _app.CustomerWritesAsync(Fixtures.Sms("START", from: "+12125550188"));
        await _app.SentAndAnsweredAlikeTwiceAsync(push);

        Assert.Equal("Your order shipped", Assert.Single(_twilio.Sent)["Body"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TwilioRefusingAReplyWith21610RecordsTheOptOutSoTheNextReplyIsRefusedWithoutCallingTwilio(bool customerWroteFirst)
    {
        // We never saw this customer's STOP (sent before the number was added here), but Twilio knows it. Without a
        // conversation the reply goes from the org's default SMS number, and the customer's opt-outs are read by the
        // ticket's own address (Replies/ReplyTarget.ReadFactsAsync).
        _twilio.RefuseMessages(400, 21610, "Attempt to send to unsubscribed recipient");
        if (customerWroteFirst) await _app.CustomerWritesAsync(Fixtures.Sms("Hi", from: Bob));

        var (status, refused) = await _app.PushAsync(ReplyApp.Push(Bob, "Your order shipped", id: "88101"));
        Assert.Equal(400, status);
        Assert.Contains("opted out", (string?)refused["message"]);
        Assert.Contains("21610", (string?)refused["message"]);
        Assert.True(await OptedOutAsync(Fixtures.SmsNumber, Bob));

        var (next, refusedAgain) = await _app.PushAsync(ReplyApp.Push(Bob, "Did you get it?", id: "88102"));
        Assert.Equal(400, next);
        Assert.Equal((string?)refused["message"], (string?)refusedAgain["message"]);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task AStartAfterA21610RefusalLetsANewReplyAndTheRefusedOneOnceGoOut()
    {
        _twilio.RefuseMessages(400, 21610, "Attempt to send to unsubscribed recipient");
        await _app.CustomerWritesAsync(Fixtures.Sms("Hi", from: Bob));
        var refusedPush = ReplyApp.Push(Bob, "Your order shipped", id: "88201");
        Assert.Equal(400, (await _app.PushAsync(refusedPush)).Status);

        _twilio.Server.ResetMappings();
        _twilio.AcceptMessages();
        // Pushed again before the START: still held by the recorded opt-out, so the stored refusal is repeated.
        await _app.RefusedAlikeTwiceAsync(refusedPush);
        Assert.Single(_twilio.Sent);
        await _app.CustomerWritesAsync(Fixtures.Sms("START", from: Bob));

        Assert.False(await OptedOutAsync(Fixtures.SmsNumber, Bob));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Bob, "Welcome back", id: "88202"))).Status);
        await _app.SentAndAnsweredAlikeTwiceAsync(refusedPush);
        Assert.Equal(["Your order shipped", "Welcome back", "Your order shipped"], _twilio.Sent.Select(f => f["Body"]));
    }

    [Fact]
    public async Task A21610RefusalOnWhatsAppIsNotRecordedAsAnSmsOptOut()
    {
        // Opt-outs are checked and cleared (STOP/START) for SMS only: a WhatsApp row would never be read nor cleared.
        _twilio.RefuseMessages(400, 21610, "Attempt to send to unsubscribed recipient");
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Hello"));

        Assert.Equal(400, status);
        Assert.Contains("21610", (string?)body["message"]);
        Assert.Single(_twilio.Sent);
        await using var scope = _app.Services.CreateAsyncScope();
        Assert.Empty(scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OptOuts);
    }

    private async Task<bool> OptedOutAsync(string senderKey, string customer)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var row = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().OptOuts
            .Single(o => o.SenderKey == senderKey && o.CustomerAddress == customer);
        return row.OptedOut;
    }
}
