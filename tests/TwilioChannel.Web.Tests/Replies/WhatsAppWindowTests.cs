using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class WhatsAppWindowTests : ClockedReplyTestsBase
{
    private const string Ana = "whatsapp:+5511987654321";

    public override async Task InitializeAsync()
    {
        _twilio.AcceptMessages();
        await _app.SeedAsync();
        await _app.CustomerWritesAsync(Fixtures.Form("whatsapp-text.form"));
    }

    [Fact]
    public async Task WithinTwentyFourHoursAFreeFormReplyIsSent()
    {
        _time.Advance(TimeSpan.FromHours(23));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Ana, "Still within the window"))).Status);
        Assert.Single(_twilio.Sent);
    }

    [Fact]
    public async Task OutsideTheWindowAFreeFormReplyFailsAtOnceWithTheReason()
    {
        _time.Advance(TimeSpan.FromHours(25));
        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Too late"));
        Assert.Equal(400, status);
        Assert.Contains("24-hour window closed", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task TheTemplatesDeliveryIsNoReplyThreadInTheTicketButItsFailureIsANotice()
    {
        // The template's SID is kept as the failed reply's, and its "delivered" restated the reply's thread: Desk,
        // which had marked the reply failed, got a second outgoing thread "[reply]" shown as delivered.
        await UseTemplateAsync();
        using var first = await _app.PullAsync();
        var state = first.RootElement.GetProperty("channelState").GetString();
        _time.Advance(TimeSpan.FromHours(30));
        Assert.Equal(400, (await _app.PushAsync(ReplyApp.Push(Ana, "Too late, but we have a template"))).Status);
        string template;
        await using (var scope = _app.Services.CreateAsyncScope())
            template = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Replies.Single().FirstSid!;

        (await _app.StatusCallbackAsync(template, "delivered")).EnsureSuccessStatusCode();
        (await _app.StatusCallbackAsync(template, "read")).EnsureSuccessStatusCode();
        using (var next = await _app.PullAsync(state))
            Assert.Empty(next.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());

        (await _app.StatusCallbackAsync(template, "failed", "63049")).EnsureSuccessStatusCode();
        using var last = await _app.PullAsync(state);
        var notice = Assert.Single(last.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
        Assert.Equal(template + "-undelivered", notice.GetProperty("extId").GetString());
        Assert.Contains("Meta chose not to deliver", notice.GetProperty("content").GetString());
    }

    [Fact]
    public async Task OutsideTheWindowTheNumbersTemplateIsSentAndTheReplyFailsWithInstructions()
    {
        await UseTemplateAsync();
        _time.Advance(TimeSpan.FromHours(30));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Too late, but we have a template"));

        Assert.Equal(400, status);
        Assert.Equal("WhatsApp window closed — a template was sent inviting the customer to reply; when they answer, send your message as a new reply (resending this one repeats this answer).", (string?)body["message"]);
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("HX11111111111111111111111111111111", sent["ContentSid"]);
        Assert.False(sent.ContainsKey("Body"));
    }

    [Fact]
    public async Task AReplyRefusedForTheClosedWindowGoesOutOnceWhenPushedAgainAfterTheCustomerWrote()
    {
        // Desk's resend of the failed reply (the same id) got the stored refusal for ever, also once the customer had
        // written again. While the window stays closed it still does, word for word.
        _time.Advance(TimeSpan.FromHours(30));
        var push = ReplyApp.Push(Ana, "Your replacement is ready", id: "77001");
        await _app.RefusedAlikeTwiceAsync(push);
        Assert.Empty(_twilio.Sent);

        await _app.CustomerWritesAsync(Fixtures.WhatsApp("Hi, what's up?"));
        await _app.SentAndAnsweredAlikeTwiceAsync(push);

        Assert.Equal("Your replacement is ready", Assert.Single(_twilio.Sent)["Body"]);
    }

    [Fact]
    public async Task AReplyWhoseTemplateWentOutKeepsItsAnswerWhenPushedAgainAfterTheCustomerWrote()
    {
        // The template is recorded as that reply's message (its statuses, its notice if it fails): the reply itself is
        // sent again as a new reply, as the answer says.
        await UseTemplateAsync();
        _time.Advance(TimeSpan.FromHours(30));
        var push = ReplyApp.Push(Ana, "Your replacement is ready", id: "77002");
        var (_, refused) = await _app.PushAsync(push);
        await _app.CustomerWritesAsync(Fixtures.WhatsApp("Hi, what's up?"));

        var (again, refusedAgain) = await _app.PushAsync(push);

        Assert.Equal(400, again);
        Assert.Equal(refused.ToJsonString(), refusedAgain.ToJsonString());
        Assert.Equal("HX11111111111111111111111111111111", Assert.Single(_twilio.Sent)["ContentSid"]);
    }

    [Fact]
    public async Task ANewCustomerMessageReopensTheWindow()
    {
        _time.Advance(TimeSpan.FromHours(48));
        await _app.CustomerWritesAsync(Fixtures.WhatsApp("I'm back"));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Ana, "Welcome back"))).Status);
    }

    [Fact]
    public async Task AReplyInTheOlderTicketUsesTheWindowTheCustomerOpenedInTheirNewTicket()
    {
        // With NewTicketAfterHours the customer's message after two silent days opens ticket "…#2"; the agent may still
        // answer in the old ticket, and the customer has just written: the window is open for both.
        await using var app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:NewTicketAfterHours"] = "24" })
        {
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
        };
        await app.SeedAsync();
        await app.CustomerWritesAsync(Fixtures.WhatsApp("First question"));
        _time.Advance(TimeSpan.FromHours(48));
        await app.CustomerWritesAsync(Fixtures.WhatsApp("I'm back"));
        await using (var scope = app.Services.CreateAsyncScope())
            Assert.Contains(Ana + "#2", scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Conversations.Select(c => c.TicketExtId).ToList());

        var (status, body) = await app.PushAsync(ReplyApp.Push(Ana, "Answering your first question"));

        Assert.True(status == 200, body.ToJsonString());
        var sent = Assert.Single(_twilio.Sent);
        Assert.Equal("Answering your first question", sent["Body"]);
        Assert.False(sent.ContainsKey("ContentSid"));
    }

    [Fact]
    public async Task AReplyToATicketGenerationWeHaveNoRecordOfIsWithinTheWindowTheCustomerOpened()
    {
        // Session 19: it was refused for a closed window, although the customer had just written (an acceptance-style
        // run). The customer is one we know: their window is theirs, whatever ticket Desk holds.
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Ana + "#7", "Hello?"));
        Assert.Equal(200, status);
        Assert.Equal(Ana, Assert.Single(_twilio.Sent)["To"]);
    }

    [Fact]
    public async Task AReplyToACustomerWhoNeverWroteIsRefusedForTheClosedWindow()
    {
        var (status, body) = await _app.PushAsync(ReplyApp.Push("whatsapp:+5511900000077", "Hello?"));
        Assert.Equal(400, status);
        Assert.Contains("24-hour window closed", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task ATemplateCanBeConfiguredThroughTheAdminApiOnlyOnWhatsAppSenders()
    {
        var admin = _app.Admin();
        var ok = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "whatsapp:+14155238887", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, whatsAppTemplateSid = "HX22222222222222222222222222222222" });
        Assert.Equal(System.Net.HttpStatusCode.Created, ok.StatusCode);
        Assert.Contains("HX22222222222222222222222222222222", await ok.Content.ReadAsStringAsync());
        var bad = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = "+14155550155", accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, whatsAppTemplateSid = "HX22222222222222222222222222222222" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
    }

    /// <summary>Gives the WhatsApp number its re-engagement template, as the admin API would.</summary>
    private async Task UseTemplateAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
        db.Numbers.Single(n => n.Address == Fixtures.WhatsAppNumber).WhatsAppTemplateSid = "HX11111111111111111111111111111111";
        await db.SaveChangesAsync();
        // Numbers are cached in memory; the admin API invalidates on change, this direct edit must too.
        scope.ServiceProvider.GetRequiredService<Routing.NumberDirectory>().Invalidate();
    }
}
