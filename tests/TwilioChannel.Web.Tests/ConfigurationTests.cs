using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests;

/// <summary>Settings checked on start: a bad value stops the service with a message naming it, instead of failing the
/// first request that reads it.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Desk:AccountsBaseUrl", "accounts.zoho.eu")]
    [InlineData("Desk:AccountsBaseUrl", "https://accounts.zoho.eu/oauth/v2")]
    [InlineData("Desk:ApiBaseUrl", "https://desk.zoho.com?region=eu")]
    [InlineData("Twilio:ApiBaseUrl", "https://api.twilio.com#x")]
    [InlineData("Twilio:ApiBaseUrl", "api.twilio.com")]
    public void ABaseUrlThatIsNotASchemeAndHostStopsTheStartNamingTheSetting(string key, string value)
    {
        using var app = new ChannelApp(settings: new() { [key] = value });

        var error = Record.Exception(() => app.CreateClient().Dispose());

        Assert.NotNull(error);
        Assert.Contains($"{key} must be a scheme and host", error.ToString());
    }

    [Theory]
    [InlineData("channel.example.com")]
    [InlineData("https://channel.example.com/?x=1")]
    public void APublicBaseUrlThatIsNotAnAbsoluteUrlStopsTheStartWithItsMessage(string value)
    {
        // Without a scheme the start's validation, reading PublicBaseUri, stopped on a bare UriFormatException.
        using var app = new ChannelApp(settings: new() { ["PublicBaseUrl"] = value });

        var error = Record.Exception(() => app.CreateClient().Dispose());

        Assert.NotNull(error);
        Assert.Contains("PublicBaseUrl must be an absolute http(s) URL", error.ToString());
    }

    [Fact]
    public async Task ASchemeAndHostWithOrWithoutItsSlashStarts()
    {
        using var app = new ChannelApp(settings: new() { ["Desk:AccountsBaseUrl"] = "https://accounts.zoho.eu/", ["Desk:ApiBaseUrl"] = "http://127.0.0.1:8080" });
        using var client = app.CreateClient();

        using var live = await client.GetAsync("/health/live");

        Assert.Equal(System.Net.HttpStatusCode.OK, live.StatusCode);
    }
}
