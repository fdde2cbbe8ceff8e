namespace TwilioChannel.Web.Configuration;

/// <summary>The rule for settings that name another service's base URL (Twilio:ApiBaseUrl, Desk:ApiBaseUrl,
/// Desk:AccountsBaseUrl): paths are appended to them, so a path, a query or a fragment would end up inside every URL built.</summary>
internal static class BaseUrl
{
    public static bool IsSchemeAndHost(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.AbsolutePath == "/"
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment) && string.IsNullOrEmpty(uri.UserInfo);
}
