using System.Net.Http.Headers;
using System.Text;
using Hangfire.Dashboard;
using TwilioChannel.Web.Admin;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// The Hangfire dashboard at /admin/jobs takes the admin key as the password of HTTP Basic auth (any user name), until
/// the admin UI brings a sign-in page. No exception for localhost: behind a reverse proxy every request is local.
/// </summary>
internal static class DashboardAuthorization
{
    public const string Path = "/admin/jobs";

    /// <summary>Challenges the browser for the key before the dashboard sees the request.</summary>
    public static IApplicationBuilder UseDashboardBasicAuth(this IApplicationBuilder app) =>
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Path), branch => branch.Use(async (http, next) =>
        {
            if (IsAdmin(http)) { await next(http); return; }
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"TwilioChannel jobs\", charset=\"UTF-8\"";
            await http.Response.WriteAsync("Sign in with any user name and the admin key as the password.");
        }));

    public static bool IsAdmin(HttpContext http) => IsBearerAdmin(http) || IsBasicAdmin(http);

    /// <summary>The key as a Bearer token: a script's request, as no browser attaches one on its own (DashboardAntiforgery).</summary>
    public static bool IsBearerAdmin(HttpContext http) =>
        Credentials(http, "Bearer") is { } token && http.RequestServices.GetRequiredService<AdminKey>().Matches(token);

    /// <summary>The key as the password of HTTP Basic auth, any user name: a browser's request.</summary>
    private static bool IsBasicAdmin(HttpContext http)
    {
        if (Credentials(http, "Basic") is not { } encoded) return false;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':');
            return colon >= 0 && http.RequestServices.GetRequiredService<AdminKey>().Matches(decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The Authorization header's parameter when it uses <paramref name="scheme"/>.</summary>
    private static string? Credentials(HttpContext http, string scheme) =>
        AuthenticationHeaderValue.TryParse(http.Request.Headers.Authorization, out var header)
        && header.Scheme.Equals(scheme, StringComparison.OrdinalIgnoreCase) ? header.Parameter : null;

    /// <summary>Hangfire's own check, in case the dashboard is ever mapped without the middleware above.</summary>
    public sealed class Filter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => IsAdmin(context.GetHttpContext());
    }
}
