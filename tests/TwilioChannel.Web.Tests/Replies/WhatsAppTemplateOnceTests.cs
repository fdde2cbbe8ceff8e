using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// At most one re-engagement template per sender and customer while the WhatsApp window stays closed: found by a
/// black-box review, two window-closed pushes seconds apart each sent the template (billed twice, and spam).
/// Each test starts with the customer's message 30 hours old and the WhatsApp number configured with a template.
/// </summary>
public sealed class WhatsAppTemplateOnceTests : ClockedReplyTestsBase
{
    private const string Ana = "whatsapp:+5511987654321";
    private const string Template = "HX11111111111111111111111111111111";
    private const string Invited = "WhatsApp window closed — a template was sent inviting the customer to reply; when they answer, send your message as a new reply (resending this one repeats this answer).";

    public override async Task InitializeAsync()
    {
        await _app.SeedAsync(numbers: false);
        using var admin = _app.Admin();
        (await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Fixtures.WhatsAppNumber, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId, whatsAppTemplateSid = Template }))
            .EnsureSuccessStatusCode();
        await _app.CustomerWritesAsync(Fixtures.WhatsApp("Hello, anyone there?"));
        _time.Advance(TimeSpan.FromHours(30));
    }

    [Fact]
    public async Task ASecondWindowClosedReplySendsNoSecondTemplateAndSaysWhenTheFirstWentOut()
    {
        _twilio.AcceptMessages();
        var sentAt = _time.GetUtcNow();
        var first = ReplyApp.Push(Ana, "Sorry for the wait");
        Assert.Equal((400, Invited), Message(await _app.PushAsync(first)));
        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal((400, AlreadySent(sentAt)), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Are you still there?"))));

        var template = Assert.Single(_twilio.Sent);
        Assert.Equal(Template, template["ContentSid"]);
        // The template stays on the record of the reply that sent it, and its status callbacks are that reply's.
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>();
        var reply = db.Replies.Single(r => r.DeskThreadId == (string)first["resource"]!["id"]!);
        Assert.Equal(63016, reply.ErrorCode);
        Assert.StartsWith("SM", reply.FirstSid);
        (await _app.StatusCallbackAsync(reply.FirstSid!, "sent")).EnsureSuccessStatusCode();
        Assert.Equal(reply.Id, db.OutboundStatuses.Single(s => s.MessageSid == reply.FirstSid).ReplyId);
        var invite = db.TemplateInvites.Single();
        Assert.Equal((Data.TemplateInviteState.Sent, reply.FirstSid, reply.Id), (invite.State, invite.MessageSid, invite.ReplyId));
    }

    [Fact]
    public async Task WindowClosedRepliesPushedAtTheSameMomentSendOneTemplate()
    {
        _twilio.AcceptMessages();
        var sentAt = _time.GetUtcNow();

        var answers = (await Task.WhenAll(Enumerable.Range(1, 4).Select(i => _app.PushAsync(ReplyApp.Push(Ana, $"Agent {i} answering"))))).Select(Message).ToList();

        Assert.Single(_twilio.Sent);
        Assert.Single(answers, a => a == (400, Invited));
        Assert.Equal(3, answers.Count(a => a == (400, AlreadySent(sentAt))));
    }

    [Fact]
    public async Task ACustomerWhoAnswersAndFallsSilentAgainMayBeInvitedOnceMore()
    {
        _twilio.AcceptMessages();
        Assert.Equal((400, Invited), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Sorry for the wait"))));
        Assert.Equal(400, (await _app.PushAsync(ReplyApp.Push(Ana, "Hello?"))).Status);

        _time.Advance(TimeSpan.FromHours(3));
        await _app.CustomerWritesAsync(Fixtures.WhatsApp("Yes, I'm here"));
        Assert.Equal(200, (await _app.PushAsync(ReplyApp.Push(Ana, "Great, here is your answer"))).Status);

        _time.Advance(TimeSpan.FromHours(25));
        var secondAt = _time.GetUtcNow();
        Assert.Equal((400, Invited), Message(await _app.PushAsync(ReplyApp.Push(Ana, "One more question"))));
        Assert.Equal((400, AlreadySent(secondAt)), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Still there?"))));

        Assert.Equal([Template, null, Template], _twilio.Sent.Select(s => s.TryGetValue("ContentSid", out var sid) ? sid : null));
    }

    [Fact]
    public async Task ACustomerWhoNeverAnswersMayBeInvitedAgainTheNextDay()
    {
        _twilio.AcceptMessages();
        var firstAt = _time.GetUtcNow();
        Assert.Equal((400, Invited), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Sorry for the wait"))));

        _time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));
        Assert.Equal((400, AlreadySent(firstAt)), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Hello?"))));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((400, Invited), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Hello again"))));

        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task ATemplateTwilioRefusedDoesNotBlockTheNextReply()
    {
        _twilio.RefuseMessages(400, 21655, "The ContentSid is Invalid");
        var (status, body) = Message(await _app.PushAsync(ReplyApp.Push(Ana, "Sorry for the wait")));
        Assert.Equal(400, status);
        Assert.EndsWith("Sending the re-engagement template failed too.", body);
        _twilio.Server.ResetMappings();
        _twilio.AcceptMessages();

        var sentAt = _time.GetUtcNow();
        Assert.Equal((400, Invited), Message(await _app.PushAsync(ReplyApp.Push(Ana, "Trying again"))));
        Assert.Equal((400, AlreadySent(sentAt)), Message(await _app.PushAsync(ReplyApp.Push(Ana, "And again"))));

        Assert.Equal(2, _twilio.Sent.Count);
    }

    [Fact]
    public async Task ATemplateWhoseOutcomeIsUnknownCountsAsSent()
    {
        // Twilio may have created it: a second template would risk the customer getting it twice.
        _twilio.RefuseMessages(500, 20500, "Internal Server Error");
        var sentAt = _time.GetUtcNow();
        var (status, body) = Message(await _app.PushAsync(ReplyApp.Push(Ana, "Sorry for the wait")));
        Assert.Equal(400, status);
        Assert.Contains($"a template inviting the customer to reply was sent at {Utc(sentAt)}, but Twilio answered HTTP 500: it may or may not have reached them.", body);
        _twilio.Server.ResetMappings();
        _twilio.AcceptMessages();

        var (_, next) = Message(await _app.PushAsync(ReplyApp.Push(Ana, "Hello?")));
        Assert.StartsWith($"WhatsApp window closed — a template inviting the customer to reply may have been sent at {Utc(sentAt)} (Twilio's answer is not known)", next);
        Assert.Single(_twilio.Sent);
    }

    private static (int Status, string? Message) Message((int Status, JsonObject Body) answer) => (answer.Status, (string?)answer.Body["message"]);

    private static string AlreadySent(DateTimeOffset at) =>
        $"WhatsApp window closed — a template inviting the customer to reply was already sent at {Utc(at)}; when they answer, send your message as a new reply (resending this one repeats this answer). " +
        $"If they don't, another invitation can be sent from {Utc(at.AddHours(24))}.";

    private static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";
}
