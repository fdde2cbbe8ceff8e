using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;
using TwilioChannel.Domain.Twilio;

namespace TwilioChannel.Domain.Tests;

/// <summary>What WhatsApp says about a message (ad, reply-to, forwarded) reaches the agent as lines under the text.</summary>
public sealed class ContextLinesTests
{
    private static readonly DateTime Received = new(2026, 11, 25, 14, 30, 0, DateTimeKind.Utc);

    private static InboundMessage Text(string body, params (string Key, string Value)[] extra)
    {
        var form = FormFixture.Load("whatsapp-text.form");
        form["Body"] = body;
        foreach (var (key, value) in extra) form[key] = value;
        return InboundMessage.FromForm(form, Received, out _)!;
    }

    private static readonly (string, string)[] Ad =
    [
        ("ReferralHeadline", "Black Friday: 40% off sneakers"),
        ("ReferralBody", "Only this week, free shipping in São Paulo."),
        ("ReferralSourceUrl", "https://fb.me/3xAmPlE"),
        ("ReferralSourceType", "ad"),
        ("ReferralSourceId", "120210000000000001"),
        ("ReferralCtwaClid", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"),
        ("ReferralMediaUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1/Media/ME1"),
        ("ReferralNumMedia", "1"),
    ];

    [Fact]
    public void AnAdReferralAddsTheAdsHeadlineLinkAndTextAfterTheCustomersWords()
    {
        var m = Text("Oi, vi o anúncio!", Ad);
        Assert.Equal(
            "Oi, vi o anúncio!\n📣 From an ad: Black Friday: 40% off sneakers — https://fb.me/3xAmPlE (ad 120210000000000001)\n"
            + "Ad text: Only this week, free shipping in São Paulo.",
            InboundMapper.Content(m));
        // The click id is for ad attribution and the media URL needs Twilio credentials: neither helps an agent.
        Assert.DoesNotContain("ARAkLkA8", InboundMapper.Content(m));
        Assert.DoesNotContain("api.twilio.com", InboundMapper.Content(m));
    }

    [Fact]
    public void AnAdWithOnlyAnIdStillSaysTheConversationCameFromAnAd()
    {
        var m = Text("Hi", ("ReferralSourceType", "post"), ("ReferralSourceId", "987"));
        Assert.Equal("Hi\n📣 From an ad (post 987)", InboundMapper.Content(m));
    }

    [Fact]
    public void TheTicketSubjectIsTheCustomersTextWithoutTheContextLines()
    {
        var m = Text("I saw your ad", Ad);
        Assert.Equal("WhatsApp · Ana Souza (+5511987654321): I saw your ad", InboundMapper.Subject(m));
    }

    [Fact]
    public void AdTextsAreOneShortLineWithoutBidiControls()
    {
        var m = Text("Hi", ("ReferralHeadline", "Sale\n\u202Etoday"), ("ReferralBody", new string('x', 500)));
        var lines = InboundMapper.Content(m).Split('\n');
        Assert.Equal(["Hi", "📣 From an ad: Sale today", "Ad text: " + new string('x', 199) + "…"], lines);
    }

    [Theory]
    [InlineData("whatsapp:+14155238886", "↩ In reply to our message SM0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5e")]
    [InlineData("whatsapp:+5511987654321", "↩ In reply to their own message SM0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5e")]
    [InlineData(null, "↩ In reply to message SM0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5e")]
    public void AReplyToAnEarlierMessageNamesThatMessageAndWhoSentIt(string? sender, string expected)
    {
        var extra = new List<(string, string)> { ("OriginalRepliedMessageSid", "SM0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5e") };
        if (sender is not null) extra.Add(("OriginalRepliedMessageSender", sender));
        var m = Text("Sim, esse mesmo", [.. extra]);
        Assert.Equal("Sim, esse mesmo\n" + expected, InboundMapper.Content(m));
    }

    [Fact]
    public void AButtonReplyIsTheButtonsTextAlone()
    {
        // It always answers the message its button was on: a "↩ In reply to our message SM…" line added only a SID.
        var m = InboundMessage.FromForm(FormFixture.Load("whatsapp-button-reply.form"), Received, out _)!;
        Assert.Equal("Yes, reschedule", InboundMapper.Content(m));
    }

    [Theory]
    [InlineData("true", "false", "Hi\n↪ Forwarded message")]
    [InlineData("True", null, "Hi\n↪ Forwarded message")]
    [InlineData("true", "true", "Hi\n↪ Frequently forwarded message")]
    [InlineData(null, "true", "Hi\n↪ Frequently forwarded message")]
    [InlineData("false", "false", "Hi")]
    [InlineData("yes", "", "Hi")]
    public void AForwardedMessageIsMarkedAsSuch(string? forwarded, string? frequently, string expected)
    {
        var extra = new List<(string, string)>();
        if (forwarded is not null) extra.Add(("Forwarded", forwarded));
        if (frequently is not null) extra.Add(("FrequentlyForwarded", frequently));
        Assert.Equal(expected, InboundMapper.Content(Text("Hi", [.. extra])));
    }

    [Fact]
    public void EmptyOrUnknownContextFieldsAddNothing()
    {
        var m = Text("Hi", ("ReferralNumMedia", "0"), ("ReferralHeadline", " "), ("OriginalRepliedMessageSid", ""),
            ("Forwarded", ""), ("ReferralSomethingNew", "x"), ("ChannelMetadata", "{}"));
        Assert.Null(m.Context);
        Assert.Equal("Hi", InboundMapper.Content(m));
    }

    [Fact]
    public void ContextLinesFollowALongMessageWithoutCuttingAnyOfIt()
    {
        var body = string.Concat(Enumerable.Range(0, 30).Select(i => $"Frase {i} de uma reclamação longa 📦. "));
        var m = Text(body, [.. Ad, ("Forwarded", "true")]);
        var threads = InboundMapper.Threads(m, new TicketKey(m.From), 255);

        var all = string.Concat(threads.Select(t => t.Content));
        Assert.StartsWith(body, all);
        Assert.Equal(body + "\n" + string.Join("\n", ContextLines.For(m)), all);
        // The customer's text is split exactly as it would be without context, and no context line is torn in two.
        var alone = InboundMapper.Threads(m with { Context = null }, new TicketKey(m.From), 255);
        Assert.Equal(alone.Select(t => t.Content), threads.Take(alone.Count).Select(t => t.Content));
        Assert.Equal(alone.Count + 1, threads.Count);
        Assert.Equal("\n" + string.Join("\n", ContextLines.For(m)), threads[^1].Content);
        Assert.All(threads, t => Assert.InRange(t.Content.Length, 1, 255));
    }

    [Fact]
    public void ShortContextJoinsTheLastPartOfALongMessage()
    {
        var body = string.Concat(Enumerable.Range(0, 30).Select(i => $"Frase {i} de uma reclamação longa 📦. "));
        var m = Text(body, ("Forwarded", "true"));
        var threads = InboundMapper.Threads(m, new TicketKey(m.From), 255);
        var alone = InboundMapper.Threads(m with { Context = null }, new TicketKey(m.From), 255);
        Assert.Equal(alone.Count, threads.Count);
        Assert.Equal(alone[^1].Content + "\n↪ Forwarded message", threads[^1].Content);
        Assert.Equal(InboundMapper.Content(m), string.Concat(threads.Select(t => t.Content)));
    }

    [Fact]
    public void AForwardedPhotoWithoutCaptionKeepsItsAttachmentLine()
    {
        var form = FormFixture.Load("whatsapp-image.form");
        form["Body"] = "";
        form["Forwarded"] = "true";
        var m = InboundMessage.FromForm(form, Received, out _)!;
        Assert.Equal("[attachment: image/jpeg]\n↪ Forwarded message", InboundMapper.Content(m));
    }
}
