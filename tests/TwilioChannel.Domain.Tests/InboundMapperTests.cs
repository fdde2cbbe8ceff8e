using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Twilio;

namespace TwilioChannel.Domain.Tests;

public sealed class InboundMapperTests
{
    private static readonly DateTime Received = new(2026, 11, 25, 14, 30, 0, DateTimeKind.Utc);

    private static InboundMessage Fixture(string name) =>
        InboundMessage.FromForm(FormFixture.Load(name), Received, out _) ?? throw new InvalidOperationException(name);

    [Fact]
    public void SmsFixtureBecomesOneInboundThreadUnderTheCustomersTicket()
    {
        var m = Fixture("sms-inbound.form");
        var key = new TicketKey(m.From);
        var thread = Assert.Single(InboundMapper.Threads(m, key, 255));

        Assert.Equal("SM9f1c2a7e4b5d6c8e0a1b2c3d4e5f6a7b", thread.ExtId);
        Assert.Equal("+14155550123", thread.ExtParentId);
        Assert.Equal("in", thread.Direction);
        Assert.Equal("+14155550123", thread.From);
        Assert.Equal(["+14155550100"], thread.To);
        Assert.Equal("Hi, my order #58213 hasn't arrived yet. Can you check?", thread.Content);
        Assert.Equal(Received, thread.CreatedTime);
        Assert.True(thread.CanReply);
        Assert.Equal(new SyncActor("+14155550123", "+14155550123", Phone: "+14155550123"), thread.Actor);

        var ticket = InboundMapper.Ticket(m, key);
        Assert.Equal("+14155550123", ticket.ExtId);
        Assert.Equal("SMS · +14155550123: Hi, my order #58213 hasn't arrived yet. Can you check?", ticket.Subject);
    }

    [Theory]
    [InlineData("not a number")]
    [InlineData("MyBrand")]
    [InlineData("+0123456789")]
    [InlineData("+1 415 555 0123")]
    [InlineData("whatsapp:12345")]
    public void ASenderThatIsNotAnE164NumberGivesDeskNoPhone(string from)
    {
        // Desk attaches contacts by phone: only a real number may go there (it carried "not a number" before).
        var m = Fixture("sms-inbound.form") with { From = from };
        var thread = Assert.Single(InboundMapper.Threads(m, new TicketKey(from), 255));
        Assert.Null(thread.Actor!.Phone);
        Assert.Null(InboundMapper.Ticket(m, new TicketKey(from)).Phone);
        Assert.False(string.IsNullOrWhiteSpace(thread.Actor.Name));
    }

    [Fact]
    public void WhatsAppTextKeepsEmojiAndAccentsAndUsesTheProfileName()
    {
        var m = Fixture("whatsapp-text.form");
        var thread = Assert.Single(InboundMapper.Threads(m, new TicketKey(m.From), 255));
        Assert.Equal("Olá! Preciso trocar o tamanho do pedido 👟", thread.Content);
        Assert.Equal("whatsapp:+5511987654321", thread.ExtParentId);
        // Phone without the whatsapp: prefix, so Desk joins the person's SMS and WhatsApp profiles into one contact.
        Assert.Equal(new SyncActor("whatsapp:+5511987654321", "Ana Souza", Phone: "+5511987654321"), thread.Actor);
        Assert.Equal("WhatsApp · Ana Souza (+5511987654321): Olá! Preciso trocar o tamanho do pedido 👟", InboundMapper.Subject(m));
    }

    [Fact]
    public void LocationBecomesLabelAddressAndAMapLink()
    {
        var m = Fixture("whatsapp-location.form");
        var content = InboundMapper.Content(m);
        Assert.Equal("📍 MASP — Av. Paulista, 1578 - Bela Vista, São Paulo\nhttps://www.google.com/maps/search/?api=1&query=-23.561414,-46.655881", content);
        Assert.StartsWith("WhatsApp · Ana Souza (+5511987654321): 📍 MASP — Av. Paulista", InboundMapper.Subject(m));
    }

    [Fact]
    public void ButtonReplyShowsTheButtonText()
    {
        var m = Fixture("whatsapp-button-reply.form") with { Body = "" };
        Assert.Equal("Yes, reschedule", InboundMapper.Text(m));
    }

    [Fact]
    public void ImageKeepsItsCaptionAndMediaOnlyMessagesGetAReadableLine()
    {
        var m = Fixture("whatsapp-image.form");
        Assert.Equal("Foto do produto danificado", InboundMapper.Content(m));
        var media = Assert.Single(m.Media);
        Assert.Equal("image/jpeg", media.ContentType);

        var mediaOnly = m with { Body = "" };
        Assert.Equal("[attachment: image/jpeg]", InboundMapper.Content(mediaOnly));
        Assert.Equal("WhatsApp · Ana Souza (+5511987654321): [attachment: image/jpeg]", InboundMapper.Subject(mediaOnly));
    }

    [Fact]
    public void EmptyMessageOfAnUnknownTypeStillHasContent()
    {
        var m = Fixture("whatsapp-text.form") with { Body = "", MessageType = "reaction" };
        Assert.Equal("[reaction message]", InboundMapper.Content(m));
    }

    [Fact]
    public void LongMessageBecomesOrderedContinuationThreadsThatReassembleExactly()
    {
        var body = string.Concat(Enumerable.Range(0, 60).Select(i => $"Sentence number {i} of a long complaint. "));
        var m = Fixture("whatsapp-text.form") with { Body = body };
        var threads = InboundMapper.Threads(m, new TicketKey(m.From), 255);

        Assert.True(threads.Count >= 9);
        Assert.Equal(body, string.Concat(threads.Select(t => t.Content)));
        Assert.Equal(m.MessageSid, threads[0].ExtId);
        for (var i = 1; i < threads.Count; i++)
        {
            Assert.Equal($"{m.MessageSid}#{i + 1}", threads[i].ExtId);
            Assert.Equal(threads[i - 1].CreatedTime.AddMilliseconds(1), threads[i].CreatedTime);
            Assert.Equal(threads[0].ExtParentId, threads[i].ExtParentId);
        }
    }

    [Fact]
    public void SubjectIsCappedAt255CharactersWithoutCuttingAnEmoji()
    {
        var m = Fixture("whatsapp-text.form") with { Body = string.Concat(Enumerable.Repeat("👟", 300)) };
        var subject = InboundMapper.Subject(m);
        Assert.True(subject.Length <= 255);
        Assert.EndsWith("👟…", subject);
    }

    [Theory]
    [InlineData("Ana\u202E Souza")]
    [InlineData("\u2067Ana Souza\u2069")]
    [InlineData("Ana\u200E \u200FSouza\u061C")]
    [InlineData("\u202AAna\u202B \u202CSouza\u202D\u2066\u2068")]
    public void BidiControlsInTheProfileNameCannotReorderThePhoneInTheSubjectOrContact(string profileName)
    {
        // A right-to-left override in the name displayed the phone after it reversed: one customer could pass for another.
        var m = Fixture("whatsapp-text.form") with { ProfileName = profileName, Body = "Hi \u202Eevil\u202C there" };
        Assert.StartsWith("WhatsApp · Ana Souza (+5511987654321): ", InboundMapper.Subject(m));
        Assert.Equal("Ana Souza", InboundMapper.Actor(m).Name);
        // What the customer wrote stays exactly as written.
        Assert.Equal("Hi \u202Eevil\u202C there", Assert.Single(InboundMapper.Threads(m, new TicketKey(m.From), 255)).Content);
    }

    [Fact]
    public void AProfileNameOfOnlyBidiControlsFallsBackToThePhone()
    {
        var m = Fixture("whatsapp-text.form") with { ProfileName = "\u202E\u2066 \u200F" };
        Assert.StartsWith("WhatsApp · +5511987654321: ", InboundMapper.Subject(m));
        Assert.Equal("+5511987654321", InboundMapper.Actor(m).Name);
    }

    [Fact]
    public void SubjectIsOneLine()
    {
        var m = Fixture("sms-inbound.form") with { Body = "line one\n\nline two\ttabbed" };
        Assert.Equal("SMS · +14155550123: line one line two tabbed", InboundMapper.Subject(m));
    }

    [Fact]
    public void FormWithoutMessageSidFromOrToNamesWhatIsMissing()
    {
        var form = FormFixture.Load("sms-inbound.form");
        foreach (var key in new[] { "MessageSid", "SmsMessageSid", "SmsSid", "From" }) form.Remove(key);
        Assert.Null(InboundMessage.FromForm(form, Received, out var missing));
        Assert.Equal(["MessageSid", "From"], missing);
    }
}
