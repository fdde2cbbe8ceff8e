using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>Desk:NewTicketAfterHours takes fractions of an hour; "1.5" used to stop the service from starting.</summary>
public sealed class NewTicketAfterFractionalHoursTests : ClockedReplyTestsBase
{
    private const string Customer = "+14155550123";

    public NewTicketAfterFractionalHoursTests() : base(new() { ["Desk:NewTicketAfterHours"] = "1.5" }) { }

    public override async Task InitializeAsync() => await _app.SeedAsync();

    [Fact]
    public async Task NinetyMinutesOfSilenceStartANewTicketAndEightyNineDoNot()
    {
        await _app.CustomerWritesAsync(Fixtures.Sms("My order hasn't arrived"));
        _time.Advance(TimeSpan.FromMinutes(89));
        await _app.CustomerWritesAsync(Fixtures.Sms("Any news?"));
        Assert.Equal([Customer], await _app.TicketsAsync());

        _time.Advance(TimeSpan.FromMinutes(91));
        await _app.CustomerWritesAsync(Fixtures.Sms("A new question"));
        Assert.Equal([Customer, Customer + "#2"], await _app.TicketsAsync());
    }
}
