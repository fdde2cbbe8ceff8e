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
/// </summary>
internal static class DashboardAntiforgery
{
    private const string Refusal = "This dashboard command needs the antiforgery token of a dashboard page, which the " +
        "dashboard's own buttons send: reload the page and try again.";

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

    private static bool NeedsToken(HttpContext http) =>
        http.Request.Path.StartsWithSegments(DashboardAuthorization.Path) && !IsSafe(http.Request.Method);

    private static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);
}
