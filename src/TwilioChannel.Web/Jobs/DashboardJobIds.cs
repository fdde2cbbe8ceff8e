using Hangfire;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// A job id the job storage can't read answers 400, not 500: in a dashboard command (jobs[]=abc,
/// /jobs/actions/delete/abc) or in the job's page (/jobs/details/abc). The SQLite storage parses ids as 32-bit numbers;
/// the FormatException or OverflowException comes out of a command wrapped in Hangfire's BackgroundJobClientException,
/// out of the job's page bare, and nothing handled either. Only those are caught: any other failure of a state change
/// or of the page is the storage's, and stays a 500.
/// </summary>
internal static class DashboardJobIds
{
    private const string Refusal = "A job id in the request is not one the job storage can read (job ids are whole numbers).";

    public static IApplicationBuilder UseDashboardJobIds(this IApplicationBuilder app) =>
        app.UseWhen(http => http.Request.Path.StartsWithSegments(DashboardAuthorization.Path), branch => branch.Use(async (http, next) =>
        {
            try
            {
                await next(http);
            }
            catch (BackgroundJobClientException failed) when (failed.InnerException is FormatException or OverflowException && !http.Response.HasStarted)
            {
                // A batch command acts on its ids in order: those before the unreadable one were acted on.
                await TypedResults.Problem(Refusal + " Any listed before it were acted on.", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            }
            catch (Exception failed) when (failed is FormatException or OverflowException && IsJobPage(http) && !http.Response.HasStarted)
            {
                await TypedResults.Problem(Refusal, statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            }
        }));

    private static bool IsJobPage(HttpContext http) => http.Request.Path.StartsWithSegments(DashboardAuthorization.Path + "/jobs/details");
}
