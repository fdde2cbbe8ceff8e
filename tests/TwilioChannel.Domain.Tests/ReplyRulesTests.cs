using System.Text.Json;
using System.Text.Json.Nodes;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Replies;

namespace TwilioChannel.Domain.Tests;

public sealed class ReplyRulesTests
{
    [Fact]
    public void AShortReplyIsOneMessage() => Assert.Equal(["Hello there."], ReplySplitter.Split("Hello there."));

    [Fact]
    public void ALongReplyIsCutAtSentenceEndsWithinTwilioLimitAndLosesNoWord()
    {
        var text = string.Join(" ", Enumerable.Range(1, 200).Select(i => $"This is sentence number {i}."));
        var parts = ReplySplitter.Split(text);
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, ReplySplitter.TwilioBodyLimit));
        Assert.All(parts, p => Assert.EndsWith(".", p));
        Assert.Equal(text, string.Join(" ", parts));
    }

    [Fact]
    public void WithoutSentencesTheCutFallsOnAWord()
    {
        var text = string.Join(" ", Enumerable.Repeat("palavra", 500));
        var parts = ReplySplitter.Split(text);
        Assert.All(parts, p => Assert.DoesNotContain("  ", p));
        Assert.All(parts, p => Assert.StartsWith("palavra", p));
        Assert.Equal(text, string.Join(" ", parts));
    }

    [Fact]
    public void AnUnbrokenRunIsCutWithoutSplittingAnEmoji()
    {
        var text = string.Concat(Enumerable.Repeat("👍", 1000));
        var parts = ReplySplitter.Split(text);
        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.False(char.IsLowSurrogate(p[0])));
    }

    [Fact]
    public void AMonospaceBlockCutBetweenWhatsAppMessagesIsClosedAndReopenedWithinTheLimit()
    {
        var block = string.Join("\n", Enumerable.Range(1, 150).Select(i => $"line {i} of the output"));
        var parts = WhatsAppSplitter.Split($"See:\n```{block}```\nok");

        Assert.Equal(3, parts.Count);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, ReplySplitter.TwilioBodyLimit));
        Assert.All(parts, p => Assert.Equal(0, (p.Length - p.Replace("```", "").Length) / 3 % 2));
        Assert.StartsWith("```line", parts[1]);
        Assert.EndsWith("```\nok", parts[2]);
    }

    [Fact]
    public void TextWithoutWhatsAppMarkersIsSplitAsAnyReply()
    {
        var text = string.Join(" ", Enumerable.Range(1, 200).Select(i => $"This is sentence number {i}."));
        Assert.Equal(ReplySplitter.Split(text), WhatsAppSplitter.Split(text));
    }

    /// <summary>Words up to just before the cut, so what follows them crosses it.</summary>
    private static string Filler(int length) => string.Concat(Enumerable.Repeat("word ", length / 5));

    [Fact]
    public void ABoldSentenceCutBetweenWhatsAppMessagesIsClosedAndReopened()
    {
        var bold = "*" + string.Join(" ", Enumerable.Repeat("this bold sentence runs on", 10)) + ".*";
        var parts = WhatsAppSplitter.Split(Filler(1500) + bold + " After it.");

        Assert.Equal(2, parts.Count);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, ReplySplitter.TwilioBodyLimit));
        // Closed right after the last word of the part, reopened right before the first of the next.
        Assert.Matches(@"\w\*$", parts[0]);
        Assert.Equal(2, parts[0].Count(c => c == '*'));
        Assert.Matches(@"^\*\w", parts[1]);
        Assert.EndsWith("on.* After it.", parts[1]);
        Assert.Equal(Filler(1500) + bold + " After it.", string.Join(" ", parts).Replace("* *", " "));
    }

    [Fact]
    public void NestedRunsCutBetweenWhatsAppMessagesCloseInnerFirstAndReopenOuterFirst()
    {
        var both = "*_" + string.Join(" ", Enumerable.Repeat("bold and italic", 20)) + "_*";
        var parts = WhatsAppSplitter.Split(Filler(1500) + both);

        Assert.Equal(2, parts.Count);
        Assert.EndsWith("_*", parts[0]);
        Assert.StartsWith("*_", parts[1]);
        Assert.EndsWith("italic_*", parts[1]);
    }

    [Theory]
    [InlineData("5 * 3 * 2 = 30 and more words follow here")]
    [InlineData("my_file_name and snake_case words follow here")]
    [InlineData("~20 minutes, about 3~4 km, and more words follow")]
    public void MarkersThatAreNoFormattingGetNothingAddedAtTheCut(string text)
    {
        var whole = Filler(1570) + text + " " + string.Concat(Enumerable.Repeat(text + " ", 3));
        var parts = WhatsAppSplitter.Split(whole);

        Assert.True(parts.Count > 1);
        Assert.Equal(whole.Trim(), string.Join(" ", parts));
    }

    [Fact]
    public void ARunCutAtALineBreakNeedsNothing()
    {
        var whole = Filler(1500) + "*bold line*\n*another bold line*";
        Assert.Equal(whole, string.Join("\n", WhatsAppSplitter.Split(whole, 1530)));
    }

    [Theory]
    [InlineData("STOP", null, OptOutChange.OptOut)]
    [InlineData(" stop ", null, OptOutChange.OptOut)]
    [InlineData("Unsubscribe", null, OptOutChange.OptOut)]
    [InlineData("START", null, OptOutChange.OptIn)]
    [InlineData("unstop", null, OptOutChange.OptIn)]
    [InlineData("yes", null, OptOutChange.OptIn)]
    [InlineData("please stop sending me offers", null, OptOutChange.None)]
    [InlineData("Stop", "START", OptOutChange.OptIn)]
    [InlineData("whatever", "STOP", OptOutChange.OptOut)]
    [InlineData("HELP", "HELP", OptOutChange.None)]
    public void OptOutWordsAreSingleWordsAndOptOutTypeWins(string body, string? type, OptOutChange expected) =>
        Assert.Equal(expected, OptOutWords.Classify(body, type));

    [Theory]
    [InlineData(null, "queued", true)]
    [InlineData("queued", "sent", true)]
    [InlineData("delivered", "sent", false)]
    [InlineData("delivered", "read", true)]
    [InlineData("sent", "failed", true)]
    [InlineData("failed", "delivered", false)]
    [InlineData("undelivered", "read", false)]
    [InlineData("read", "read", false)]
    public void StatusesOnlyMoveForwardAndFailuresAreFinal(string? current, string incoming, bool advances) =>
        Assert.Equal(advances, DeliveryStatus.Advances(current, incoming));

    [Fact]
    public void KnownErrorCodesReadAsPlainWordsWithTheCode()
    {
        Assert.Equal("Customer opted out (sent STOP); they must send START before you can message them again (Twilio error 21610).", TwilioErrors.Describe(21610));
        Assert.Contains("24-hour window closed", TwilioErrors.Describe(63016));
        Assert.Equal("Something odd (Twilio error 12345).", TwilioErrors.Describe(12345, "Something odd."));
        Assert.Equal("Twilio refused the message.", TwilioErrors.Describe(null));
    }

    [Theory]
    [InlineData("undelivered", 30034, "The sending number isn't registered for US A2P 10DLC messaging, so carriers block its messages (Twilio error 30034).")]
    [InlineData("undelivered", 30032, "The sending toll-free number isn't verified, so carriers block its messages (Twilio error 30032).")]
    [InlineData("failed", 63049, "Meta chose not to deliver this WhatsApp marketing message (Twilio error 63049).")]
    [InlineData("undelivered", 30999, "The message was not delivered (Twilio error 30999).")]
    [InlineData("failed", null, "The message was not delivered.")]
    [InlineData("canceled", null, "The message was canceled before it was sent.")]
    public void ALateDeliveryFailureReadsAsWhatHappenedNotAsARefusal(string status, int? code, string reason) =>
        // A status callback's failure was described like a refused create call, "Twilio refused the message (Twilio
        // error 30034)", although Twilio had accepted it; and the most common US failures had no words at all.
        Assert.Equal(reason, TwilioErrors.DescribeDelivery(status, code));

    [Fact]
    public void TheSharedPushFixtureParses()
    {
        var json = File.ReadAllText(FormFixture.Path("desk-push-reply.json"));
        using var doc = JsonDocument.Parse(json);
        var reply = DeskReply.Parse(doc.RootElement, out var error);
        Assert.Null(error);
        Assert.Equal("12346000020202035", reply!.Id);
        Assert.Equal("whatsapp:+5511987654321", reply.ExtParentId);
        Assert.True(reply.IsHtml);
        Assert.Empty(reply.Attachments);
    }

    [Theory]
    [InlineData("{}", "resource")]
    [InlineData("{\"resource\":{\"extParentId\":\"+14155550123\",\"content\":\"x\"}}", "resource.id")]
    [InlineData("{\"resource\":{\"id\":1,\"content\":\"x\"}}", "extParentId")]
    [InlineData("{\"resource\":{\"id\":1,\"extParentId\":\"+14155550123\",\"content\":\" \"}}", "neither content nor attachments")]
    public void AMalformedPushSaysWhatIsWrong(string json, string expected)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Null(DeskReply.Parse(doc.RootElement, out var error));
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData("not a phone")]
    [InlineData(" +14155550123")]
    [InlineData("+1 415 555 0123")]
    [InlineData("+1")]
    [InlineData("+04155550123")]
    [InlineData("+1415555012345678")]
    [InlineData("14155550123")]
    [InlineData("WhatsApp:+14155550123")]
    [InlineData("whatsapp:14155550123")]
    [InlineData("sms:+14155550123")]
    [InlineData("+14155550123#1")]
    [InlineData("+14155550123#02")]
    [InlineData("+14155550123#")]
    [InlineData("$2B14155550123")]
    [InlineData("+1415555012$")]
    public void APushToSomethingThatIsNotOneOfOurTicketsSaysSo(string extParentId)
    {
        using var doc = JsonDocument.Parse(new JsonObject { ["resource"] = new JsonObject { ["id"] = "1", ["extParentId"] = extParentId, ["content"] = "x" } }.ToJsonString());
        Assert.Null(DeskReply.Parse(doc.RootElement, out var error));
        Assert.Contains("resource.extParentId", error);
    }

    [Theory]
    [InlineData("+14155550123")]
    [InlineData("+442071838750")]
    [InlineData("whatsapp:+5511987654321")]
    [InlineData("whatsapp:+5511987654321#2")]
    [InlineData("+14155550123#12")]
    public void APushToOneOfOurTicketsParses(string extParentId)
    {
        using var doc = JsonDocument.Parse(new JsonObject { ["resource"] = new JsonObject { ["id"] = "1", ["extParentId"] = extParentId, ["content"] = "x" } }.ToJsonString());
        Assert.Equal(extParentId, DeskReply.Parse(doc.RootElement, out _)!.ExtParentId);
    }

    [Fact]
    public void ANumericReplyIdIsRead()
    {
        using var doc = JsonDocument.Parse("{\"resource\":{\"id\":12346000020202035,\"extParentId\":\"+14155550123\",\"content\":\"x\"}}");
        Assert.Equal("12346000020202035", DeskReply.Parse(doc.RootElement, out _)!.Id);
    }

    [Fact]
    public void AReplysStatusIsItsFirstFailedPartWhateverTheOthersReached()
    {
        var delivery = DeliveryStatus.OfReply([new PartStatus("delivered"), new PartStatus("failed", 30005, "unknown handset"), new PartStatus("read")]);
        Assert.Equal(new ReplyDelivery("failed", 2, 30005, "unknown handset"), delivery);
    }

    [Fact]
    public void AReplyIsDeliveredOnlyOnceEveryPartIs()
    {
        Assert.Equal("sent", DeliveryStatus.OfReply([new PartStatus("delivered"), new PartStatus("sent"), new PartStatus("read")]).Status);
        Assert.Null(DeliveryStatus.OfReply([new PartStatus("delivered"), null]).Status);
        Assert.Equal("delivered", DeliveryStatus.OfReply([new PartStatus("read"), new PartStatus("delivered")]).Status);
        Assert.Equal("read", DeliveryStatus.OfReply([new PartStatus("read"), new PartStatus("read")]).Status);
    }
}
