using System.Text.Json;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Mapping;

namespace TwilioChannel.Domain.Tests;

public sealed class DeskImportTests
{
    [Fact]
    public void TheInvokeHashSignsTheParametersInTheDocumentedOrderWithoutEncoding()
    {
        var call = InvokeRequest.Import("https://desk.zoho.eu", "60001", """{"data":{"threads":[]}}""", "twilioconnection", "ctx&=1");

        Assert.Equal("https://desk.zoho.eu/api/v1/channels/{{installationId}}/import", call.RequestUrl);
        Assert.Equal(
            "requestURL=https://desk.zoho.eu/api/v1/channels/{{installationId}}/import&requestType=POST" +
            """&postBody={"data":{"threads":[]}}&headers={"orgId":"60001","Content-Type":"application/json"}&connectionLinkName=twilioconnection""",
            call.SignedText);
    }

    [Fact]
    public void TheInvokeFormCarriesEveryDocumentedField()
    {
        var form = InvokeRequest.Import("https://desk.zoho.com/", "1\"2", "{}", "conn", "secret-ctx").Form().ToDictionary();

        Assert.Equal(["securityContext", "requestURL", "requestType", "headers", "connectionLinkName", "postBody"], form.Keys);
        Assert.Equal("secret-ctx", form["securityContext"]);
        Assert.Equal("POST", form["requestType"]);
        // The org id is JSON-escaped inside the headers field, never spliced in raw.
        Assert.Equal("1\"2", JsonDocument.Parse(form["headers"]).RootElement.GetProperty("orgId").GetString());
    }

    [Theory]
    [InlineData(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""", ImportVerdict.Delivered)]
    [InlineData(200, """{"response":"{\"statusCode\":\"422\",\"message\":\"extParentId invalid\"}"}""", ImportVerdict.Invalid)]
    [InlineData(200, """{"response":"{\"statusCode\":401}"}""", ImportVerdict.Unauthorized)]
    [InlineData(200, """{"errorCode":"THROTTLES_LIMIT_EXCEEDED","message":"slow down"}""", ImportVerdict.RateLimited)]
    [InlineData(400, """{"errorCode":"INVALID_DATA","message":"content too long"}""", ImportVerdict.Invalid)]
    [InlineData(422, "", ImportVerdict.Invalid)]
    [InlineData(401, """{"errorCode":"INVALID_OAUTH"}""", ImportVerdict.Unauthorized)]
    [InlineData(403, "forbidden", ImportVerdict.Unauthorized)]
    [InlineData(404, """{"errorCode":"URL_NOT_FOUND"}""", ImportVerdict.NotFound)]
    [InlineData(413, "", ImportVerdict.TooLarge)]
    [InlineData(429, "", ImportVerdict.RateLimited)]
    [InlineData(500, "<html>oops</html>", ImportVerdict.Retry)]
    [InlineData(503, "", ImportVerdict.Retry)]
    // A 2xx that is not the Invoke API's answer (a proxy's or captive portal's page, nothing) proves nothing reached Desk.
    [InlineData(200, "not json at all", ImportVerdict.Retry)]
    [InlineData(200, "<html><body>Sign in to the Wi-Fi</body></html>", ImportVerdict.Retry)]
    [InlineData(200, "", ImportVerdict.Retry)]
    [InlineData(204, "", ImportVerdict.Retry)]
    [InlineData(200, "{}", ImportVerdict.Retry)]
    [InlineData(200, "[]", ImportVerdict.Retry)]
    [InlineData(200, """{"response":null}""", ImportVerdict.Retry)]
    // Desk's proxy answered, but what it wraps is not the import API's answer: nothing says the batch was taken.
    [InlineData(200, """{"response":"<html><body>502 Bad Gateway</body></html>"}""", ImportVerdict.Retry)]
    [InlineData(200, """{"response":""}""", ImportVerdict.Retry)]
    [InlineData(200, """{"response":{"statusMessage":"SUCCESS"}}""", ImportVerdict.Delivered)]
    public void DeskAnswersAreClassifiedByStatusAndErrorCode(int status, string body, ImportVerdict expected) =>
        Assert.Equal(expected, ImportOutcome.Classify(status, body).Verdict);

    [Fact]
    public void AnAnswerThatIsNotTheInvokeApisSaysSoForTheAdmin()
    {
        var outcome = ImportOutcome.Classify(200, "<html>captive portal</html>");
        Assert.Contains("Not the Invoke API's answer", outcome.Message);
        Assert.Contains("<html>captive portal</html>", outcome.Message);
        Assert.Contains("body was empty", ImportOutcome.Classify(200, "").Message);
    }

    [Fact]
    public void TheReasonOfARefusalIsKeptForTheAdmin()
    {
        var outcome = ImportOutcome.Classify(200, """{"response":"{\"statusCode\":422,\"errorCode\":\"INVALID_DATA\",\"message\":\"extId has invalid characters\"}"}""");
        Assert.Equal(422, outcome.StatusCode);
        Assert.Equal("INVALID_DATA: extId has invalid characters", outcome.Message);
    }

    private static readonly SentReply Reply = new("whatsapp:+14155550123", "SM0001", "Your order shipped today.",
        new DateTime(2026, 11, 2, 9, 20, 41, DateTimeKind.Utc), "whatsapp:+14155238886", "whatsapp:+14155550123");

    [Fact]
    public void AStatusChangeRestatesTheReplyThreadWithTheStatusInExtra()
    {
        var thread = Assert.Single(ReplyStatusMapper.StatusUpdate(Reply, "failed", 63016, "WhatsApp 24-hour window closed", 255));

        Assert.Equal("SM0001", thread.ExtId);
        Assert.Equal("whatsapp:+14155550123", thread.ExtParentId);
        Assert.Equal("out", thread.Direction);
        Assert.Equal(Reply.Body, thread.Content);
        Assert.Equal(Reply.CreatedUtc, thread.CreatedTime);
        Assert.Equal("failed", thread.Extra!.QueriableValue);
        Assert.Equal(63016, thread.Extra.Value["errorCode"]);
    }

    [Fact]
    public void ALongReplyIsRestatedWithinTheContentLimitAndLosesNoText()
    {
        var body = string.Join(' ', Enumerable.Repeat("word", 400));
        var threads = ReplyStatusMapper.StatusUpdate(Reply with { Body = body }, "delivered", null, null, 255);

        Assert.Equal(body, string.Concat(threads.Select(t => t.Content)));
        Assert.All(threads, t => Assert.InRange(t.Content.Length, 1, 255));
        Assert.Equal(["SM0001", "SM0001#2"], threads.Take(2).Select(t => t.ExtId));
        Assert.Equal("delivered", threads[0].Extra!.QueriableValue);
        Assert.All(threads.Skip(1), t => Assert.Null(t.Extra));
        Assert.All(threads, t => Assert.Equal("out", t.Direction));
        Assert.Equal(threads.Select(t => t.CreatedTime).Order(), threads.Select(t => t.CreatedTime));
    }

    [Fact]
    public void AFailedReplyAddsAClearlyMarkedNoticeThatCannotBeRepliedTo()
    {
        var at = new DateTime(2026, 11, 2, 9, 21, 0, DateTimeKind.Utc);
        var notice = ReplyStatusMapper.DeliveryNotice(Reply, "SM0002", "customer opted out (sent STOP)", at, 255);

        Assert.Equal("SM0002-undelivered", notice.ExtId);
        Assert.Equal(Reply.TicketExtId, notice.ExtParentId);
        Assert.StartsWith("⚠ Not delivered to the customer: customer opted out", notice.Content);
        Assert.False(notice.CanReply);
        Assert.Equal(at, notice.CreatedTime);
        Assert.All(notice.ExtId, c => Assert.True(ExtId.IsAllowed(c)));
    }

    [Fact]
    public void TheNoticeOfAReplySentAsSeveralMessagesSaysWhichPartFailed()
    {
        var notice = ReplyStatusMapper.DeliveryNotice(Reply, "SM0002", "unknown handset", Reply.CreatedUtc, 255, part: 2, parts: 3);
        Assert.Equal("⚠ Not delivered to the customer (part 2 of 3): unknown handset", notice.Content);
    }
}
