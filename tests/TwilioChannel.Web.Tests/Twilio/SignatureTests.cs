using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using TwilioChannel.Web.Tests.Infrastructure;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Twilio;

public sealed class SignatureTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    // Twilio's own published vectors (../shared/reference/twilio.md).
    private static readonly Dictionary<string, string> VectorParams = new()
    {
        ["CallSid"] = "CA1234567890ABCDE",
        ["Caller"] = "+14158675309",
        ["Digits"] = "1234",
        ["From"] = "+14158675309",
        ["To"] = "+18005551212",
    };

    [Theory]
    [InlineData("https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]
    [InlineData("https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=")]
    [InlineData("http://mycompany.com/myapp.php?foo=1&bar=2", "OyGYPqTF6ztdbRNCvuQO/oPvqQ4=")]
    [InlineData("http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=")]
    public void TheTestSignerReproducesTwiliosPublishedVectors(string url, string expected) =>
        Assert.Equal(expected, TwilioSigner.Sign(url, VectorParams, "12345"));

    [Theory]
    [InlineData("https://mycompany.com/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=")]
    [InlineData("https://mycompany.com:443/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]
    [InlineData("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=")]
    public void TheValidatorAcceptsASignatureMadeWithOrWithoutTheDefaultPort(string url, string signature) =>
        Assert.True(new SignatureValidators().IsValid("12345", url, VectorParams, signature));

    [Fact]
    public void TheValidatorRejectsAWrongTokenOrAnotherUrl()
    {
        Assert.False(new SignatureValidators().IsValid("54321", "https://mycompany.com/myapp.php?foo=1&bar=2", VectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        Assert.False(new SignatureValidators().IsValid("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", VectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void TheSignedUrlIsThePublicBaseUrlPlusPathAndQueryNotTheUrlTheServerSees()
    {
        var request = new DefaultHttpContext().Request;
        request.Scheme = "http";
        request.Host = new HostString("10.0.0.5", 8080);
        request.Path = "/twilio/messages";
        request.QueryString = new QueryString("?a=1&b=two%20words");
        Assert.Equal("https://channel.example.com/twilio/messages?a=1&b=two%20words", TwilioSignatureFilter.SignedUrl(request, new Uri("https://channel.example.com")));
        Assert.Equal("https://channel.example.com:8443/prefix/twilio/messages?a=1&b=two%20words", TwilioSignatureFilter.SignedUrl(request, new Uri("https://channel.example.com:8443/prefix/")));
        Assert.Equal("http://10.0.0.5:8080/twilio/messages?a=1&b=two%20words", TwilioSignatureFilter.SignedUrl(request, null));
    }

    [Fact]
    public async Task SignedInboundSmsIsAcceptedWithEmptyTwiml()
    {
        var response = await _app.PostInboundAsync(Fixtures.Form("sms-inbound.form"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("<Response/>", await response.Content.ReadAsStringAsync());
        Assert.Single(await StoredAsync());
    }

    [Fact]
    public async Task InboundWhatsAppWithBadSignatureIsRejectedAndNotStored()
    {
        var response = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), token: "not-the-token-0000000000000000000");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task InboundWithoutSignatureIsRejectedAndNotStored()
    {
        var response = await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"), token: null);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task InboundSignedForTheInternalUrlInsteadOfThePublicOneIsRejected()
    {
        var form = Fixtures.Form("sms-inbound.form");
        var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign("http://localhost/twilio/messages", form, Fixtures.AuthToken));
        var response = await _app.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task InboundFromAnUnknownAccountIsRejectedAndNotStored()
    {
        var form = Fixtures.Form("sms-inbound.form");
        form["AccountSid"] = "AC99999999999999999999999999999999";
        var response = await _app.PostInboundAsync(form);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task ATamperedBodyIsRejected()
    {
        var form = Fixtures.Form("sms-inbound.form");
        var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages");
        request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign(ChannelApp.PublicBaseUrl + "/twilio/messages", form, Fixtures.AuthToken));
        form["Body"] = "Please refund me $10,000";
        request.Content = new FormUrlEncodedContent(form);
        Assert.Equal(HttpStatusCode.Forbidden, (await _app.CreateClient().SendAsync(request)).StatusCode);
        Assert.Empty(await StoredAsync());
    }

    [Theory]
    [InlineData("https://Channel.Example.com", "https://Channel.Example.com/twilio/messages")]
    [InlineData("https://Channel.Example.com/Desk-Channel/", "https://Channel.Example.com/Desk-Channel/twilio/messages")]
    [InlineData("https://Channel.Example.com", "https://channel.example.com/twilio/messages")]
    public async Task APublicBaseUrlWrittenWithCapitalsAcceptsWebhooksSignedForItAsWritten(string publicBaseUrl, string signedFor)
    {
        // Twilio signs the URL exactly as its console holds it; Uri lowercases the host, so a PublicBaseUrl copied from
        // the console with capitals had every webhook refused (twilio-csharp fixed the same in its own validator, #522).
        using var app = new ChannelApp(settings: new() { ["PublicBaseUrl"] = publicBaseUrl });
        await app.SeedAsync();
        var form = Fixtures.Sms("Hello from a mixed-case URL");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign(signedFor, form, Fixtures.AuthToken));

        using var response = await app.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.StoredAsync();
        await app.RouteAsync();
        using var pull = await app.PullAsync();
        Assert.Equal("Hello from a mixed-case URL", pull.RootElement.GetProperty("data").GetProperty("threads")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task ASignatureForAnotherHostIsStillRefusedWithACapitalisedPublicBaseUrl()
    {
        using var app = new ChannelApp(settings: new() { ["PublicBaseUrl"] = "https://Channel.Example.com" });
        await app.SeedAsync();
        var form = Fixtures.Sms("forged");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/twilio/messages") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioSigner.Sign("https://Other.Example.com/twilio/messages", form, Fixtures.AuthToken));

        using var response = await app.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task QueryStringIsPartOfTheSignedUrl()
    {
        var form = Fixtures.Form("sms-inbound.form");
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form, path: "/twilio/messages?tenant=a%20b")).StatusCode);
    }

    [Fact]
    public async Task ASignedMessageMissingFromIsABadRequestAndNotStored()
    {
        var form = Fixtures.Form("sms-inbound.form");
        form.Remove("From");
        var response = await _app.PostInboundAsync(form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("From", await response.Content.ReadAsStringAsync());
        Assert.Empty(await StoredAsync());
    }

    private async Task<List<JsonMessage>> StoredAsync() =>
        (await _app.Admin().GetFromJsonAsync<List<JsonMessage>>("/api/admin/messages"))!;

    private sealed record JsonMessage(long Id, string MessageSid, string State);
}
