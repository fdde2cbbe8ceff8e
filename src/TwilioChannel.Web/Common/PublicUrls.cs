using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Common;

/// <summary>
/// The absolute base of the URLs Twilio and Desk use to reach us: PublicBaseUrl when set (behind a proxy the request's
/// own URL differs from the one the caller used), else the request's scheme and host. Webhook signatures are checked
/// against it and media/callback URLs are built from it, so both always agree.
/// </summary>
internal sealed class PublicUrls(IOptions<ChannelOptions> options)
{
    public string BaseFor(HttpRequest request) => Base(request, options.Value.PublicBaseUri);

    public static string Base(HttpRequest request, Uri? publicBase) =>
        (publicBase is { } configured
            ? configured.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : $"{request.Scheme}://{request.Host.ToUriComponent()}")
        + request.PathBase.ToUriComponent();
}
