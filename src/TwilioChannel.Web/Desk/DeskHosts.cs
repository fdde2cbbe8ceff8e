using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Desk;

/// <summary>Where an org's Desk lives: its data-centre host (desk.zoho.eu, …), desk.zoho.com when unknown.</summary>
internal static class DeskHosts
{
    public const string Default = "desk.zoho.com";

    /// <remarks>Empty counts as unknown: older versions of the admin API stored "" as given.</remarks>
    public static string HostOf(Installation installation) => string.IsNullOrEmpty(installation.DeskDomain) ? Default : installation.DeskDomain;

    /// <summary>Whether a URL is on the org's Desk host over https: the only place its OAuth token may be sent.</summary>
    public static bool IsOnDesk(Uri url, Installation installation) =>
        url.Scheme == "https" && url.Host.Equals(HostOf(installation), StringComparison.OrdinalIgnoreCase);

    /// <summary>The same, or on Desk:ApiBaseUrl when it is set: it replaces the org's host for every call to Desk (another
    /// data centre, a proxy), so a file an agent's reply shows from there is the org's file too.</summary>
    public static bool IsOnDesk(Uri url, Installation installation, DeskOptions options) =>
        IsOnDesk(url, installation)
        || options.ApiBaseUrl is { Length: > 0 } configured && Uri.TryCreate(configured, UriKind.Absolute, out var api)
            && url.Scheme == api.Scheme && url.Host.Equals(api.Host, StringComparison.OrdinalIgnoreCase) && url.Port == api.Port;

    /// <summary>Scheme and host for calls to the org's Desk: Desk:ApiBaseUrl when set (tests, proxies), else https + its host.</summary>
    public static string ApiBaseOf(DeskOptions options, Installation installation) =>
        options.ApiBaseUrl is { Length: > 0 } configured ? configured.TrimEnd('/') : $"https://{HostOf(installation)}";
}
