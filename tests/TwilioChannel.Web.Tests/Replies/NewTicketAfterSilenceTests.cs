using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>Desk:NewTicketAfterHours starts a new ticket after that much silence; an agent's reply breaks the silence.</summary>
public sealed class NewTicketAfterSilenceTests : ClockedReplyTestsBase
{
    private const string Customer = "+14155550123";

    public NewTicketAfterSilenceTests() : base(new() { ["Desk:NewTicketAfterHours"] = "24" }) { }

    public override async Task InitializeAsync()
    {
        _twilio.AcceptMessages();
        await _app.SeedAsync();
    }

    [Fact]
    public async Task TheCustomersAnswerToAnAgentsLateReplyStaysInTheTicketTheAgentAnswered()
    {
        // The customer writes on Friday, the agent answers on Monday, the customer answers the agent ten minutes
        // later: the conversation was silent for ten minutes, not for three days. The answer used to open "…#2", away
        // from the agent who had just written.
        await _app.CustomerWritesAsync(Fixtures.Sms("My order hasn't arrived"));
        _time.Advance(TimeSpan.FromDays(3));
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Customer, "Sorry for the wait, it ships today"));
        Assert.Equal(200, status);

        _time.Advance(TimeSpan.FromMinutes(10));
        await _app.CustomerWritesAsync(Fixtures.Sms("Thanks!"));

        Assert.Equal([Customer], await _app.TicketsAsync());
    }

    [Fact]
    public async Task AfterTheSilenceAlsoFollowsTheAgentsReplyANewTicketStarts()
    {
        await _app.CustomerWritesAsync(Fixtures.Sms("My order hasn't arrived"));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Customer, "It ships today"))).Status);

        _time.Advance(TimeSpan.FromDays(2));
        await _app.CustomerWritesAsync(Fixtures.Sms("A new question"));

        Assert.Equal([Customer, Customer + "#2"], await _app.TicketsAsync());
    }
}
