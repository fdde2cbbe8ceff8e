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
    private string? _lastSeen;

    public string BaseFor(HttpRequest request)
    {
        var value = Base(request, options.Value.PublicBaseUri);
        // Read on every webhook, written only on a change: no shared cache line bounced between the cores per request.
        if (!string.Equals(_lastSeen, value, StringComparison.Ordinal)) _lastSeen = value;
        return value;
    }

    /// <summary>
    /// For work outside a request (the import to Desk): PublicBaseUrl, else the base of the last request we answered
    /// (local use without configuration), else the default local URL. Production deployments set PublicBaseUrl.
    /// </summary>
    public string Known => options.Value.PublicBaseUri is { } configured
        ? configured.GetLeftPart(UriPartial.Path).TrimEnd('/')
        : _lastSeen ?? "http://localhost:5080";

    public static string Base(HttpRequest request, Uri? publicBase) =>
        (publicBase is { } configured
            ? configured.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : $"{request.Scheme}://{request.Host.ToUriComponent()}")
        + request.PathBase.ToUriComponent();
}
