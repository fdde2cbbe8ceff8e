using Microsoft.AspNetCore.Antiforgery;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// A dashboard command (delete, requeue, trigger, …) needs the antiforgery token of a dashboard page. Basic auth alone
/// doesn't stop a cross-site request forgery: a browser signed in to the dashboard resends the key with any form another
/// site makes it post. Another site can't read our pages, so it can't have their token.
/// Hangfire.AspNetCore does the work once IAntiforgery is registered: each page carries the token (meta csrf-header and
/// csrf-token; the pairing cookie is set on the dashboard's path), its script sends it in the RequestVerificationToken
/// header, and its middleware refuses a POST without it. But its refusal is a bare 403; this check runs first, with
/// ASP.NET's own validation, and says why. GET, HEAD, OPTIONS and TRACE pass, as in ASP.NET's and Hangfire's checks:
/// Hangfire acts on commands whatever the method, but reads their ids from a form body, which no browser sends
/// cross-site with those methods.
/// A request with the key as a Bearer token needs no token: a browser never attaches a Bearer header on its own, and
/// another site's script can't set one without a CORS preflight this service doesn't answer, so only a holder of the key
/// sends one, and scripts go on posting commands with the key alone. Everything else needs the token: Basic auth now,
/// a sign-in cookie when the admin UI brings one. Hangfire's own check is switched off for Bearer requests only, by
/// mounting the dashboard a second time for them (JobsExtensions): its switch is per mount, and it also decides whether
/// pages carry the token, so it stays on for browsers.
/// </summary>
internal static class DashboardAntiforgery
{
    private const string Refusal = "This dashboard command needs the antiforgery token of a dashboard page, which the " +
        "dashboard's own buttons send: reload the page and try again. A script can send the admin key as a Bearer token instead.";

    /// <summary>Runs after the key check (anonymous requests get the 401 challenge) and after DashboardForms (a token
    /// sent as a form field is read within the dashboard's form limits).</summary>
    public static IApplicationBuilder UseDashboardAntiforgery(this IApplicationBuilder app) =>
        app.UseWhen(NeedsToken, branch => branch.Use(async (http, next) =>
        {
            try
            {
                await http.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(http);
            }
            catch (AntiforgeryValidationException refused)
            {
                // ASP.NET's reason names what was missing or wrong (the cookie, the header, a mismatch) and no secret.
                await TypedResults.Problem($"{Refusal} ({refused.Message})", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(http);
                return;
            }
            await next(http);
        }));

    /// <summary>A dashboard request from a script with the key as a Bearer token.</summary>
    public static bool IsExempt(HttpContext http) =>
        http.Request.Path.StartsWithSegments(DashboardAuthorization.Path) && DashboardAuthorization.IsBearerAdmin(http);

    private static bool NeedsToken(HttpContext http) =>
        http.Request.Path.StartsWithSegments(DashboardAuthorization.Path) && !IsSafe(http.Request.Method) && !IsExempt(http);

    private static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);
}
