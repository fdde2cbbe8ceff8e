using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>What the push endpoint refuses before anything is claimed or sent: malformed bodies, text that is not text, parents that are not our tickets, wrong callers.</summary>
public sealed class PushValidationTests : ReplyTestsBase
{
    [Fact]
    public async Task AMalformedPushIsABadRequestAndSendsNothing()
    {
        var client = _app.CreateClient();
        var url = $"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}";
        foreach (var body in new[] { "not json", "{}", "{\"resource\":{\"content\":\"no id\"}}", "{\"resource\":{\"id\":\"1\",\"extParentId\":\"+1\",\"content\":\"\"}}" })
        {
            var response = await client.PostAsync(url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("\"message\"", await response.Content.ReadAsStringAsync());
        }
        Assert.Empty(_twilio.Sent);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\r\n\t \n")]
    [InlineData("\uFEFF\n")]
    public async Task APushWithoutAPayloadIsABadRequestEvenWhenItIsWhitespace(string body)
    {
        // The pull takes a blank body as "no params"; a push without its payload stays an error.
        var (status, text) = await PostRawPushAsync(System.Text.Encoding.UTF8.GetBytes(body));

        Assert.Equal(400, status);
        Assert.Contains("message", text);
        Assert.Empty(_twilio.Sent);
    }

    [Theory]
    [InlineData("content", "\"a\\ud800b\"")]        // the reviewer's case: a lone high surrogate
    [InlineData("content", "\"a\\udc00\\ud800b\"")] // a pair in the wrong order
    [InlineData("x\\udfff", "1")]                      // in a property name nobody reads
    public async Task APushWithALoneSurrogateEscapeIsABadRequestAndSendsNothing(string property, string value)
    {
        _twilio.AcceptMessages();
        var json = $$$"""{"resource":{"id":"ls","extParentId":"{{{Bob}}}","{{{property}}}":{{{value}}},"content":"x","contentType":"text/plain"}}""";
        if (property == "content") json = json.Replace(",\"content\":\"x\"", "");

        var (status, body) = await PostRawPushAsync(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal(400, status);
        Assert.Contains("message", body);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithBytesThatAreNotUtf8IsABadRequestAndSendsNothing()
    {
        _twilio.AcceptMessages();
        var json = System.Text.Encoding.UTF8.GetBytes($$$"""{"resource":{"id":"bad-utf8","extParentId":"{{{Bob}}}","content":"a#b","contentType":"text/plain"}}""");
        json[Array.IndexOf(json, (byte)'#')] = 0xFF;

        var (status, body) = await PostRawPushAsync(json);

        Assert.Equal(400, status);
        Assert.Contains("message", body);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithAnEscapedSurrogatePairAndABomIsSentAsText()
    {
        _twilio.AcceptMessages();
        var json = System.Text.Encoding.UTF8.GetBytes($$$"""{"resource":{"id":"pair","extParentId":"{{{Bob}}}","content":"ok \ud83d\ude00","contentType":"text/plain"}}""");

        var (status, _) = await PostRawPushAsync([0xEF, 0xBB, 0xBF, .. json]);

        Assert.Equal(200, status);
        Assert.Equal("ok \U0001F600", Assert.Single(_twilio.Sent)["Body"]);
    }

    private async Task<(int Status, string Body)> PostRawPushAsync(byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new("application/json");
        var response = await _app.CreateClient().PostAsync($"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(Fixtures.SecurityContext)}", content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("not a phone")]
    [InlineData(" +14155550123")]
    [InlineData("+1 415 555 0123")]
    [InlineData("+14155550123#1")]
    public async Task APushWhoseParentIsNotOneOfOurTicketsIsABadRequestAndSendsNothing(string extParentId)
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Form("sms-inbound.form"));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(extParentId, "Hello"));

        Assert.Equal(400, status);
        Assert.Contains("extParentId", (string?)body["message"]);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task APushWithAWrongSecurityContextIsForbiddenAndSendsNothing()
    {
        _twilio.AcceptMessages();
        var (status, _) = await _app.PushAsync(ReplyApp.Push(Bob, "Hello"), securityContext: "forged");
        Assert.Equal(403, status);
        Assert.Empty(_twilio.Sent);
    }
}
