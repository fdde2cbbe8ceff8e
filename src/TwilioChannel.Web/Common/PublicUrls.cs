using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Common;

/// <summary>Builds the absolute URLs we hand to Desk and Twilio: from PublicBaseUrl, else from the request itself.</summary>
internal sealed class PublicUrls(IOptions<ChannelOptions> options)
{
    public string BaseFor(HttpRequest request) =>
        options.Value.PublicBaseUri is { } configured
            ? configured.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}";
}
