using Hangfire;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// A job id the job storage can't read, in a dashboard command (jobs[]=abc, /jobs/actions/delete/abc), answers 400, not
/// 500. The SQLite storage parses ids as 32-bit numbers, and Hangfire's client wraps the FormatException or
/// OverflowException in a BackgroundJobClientException that nothing handles. Only those two inner exceptions are
/// caught: any other failure of a state change is the storage's, and stays a 500.
/// </summary>
internal static class DashboardJobIds
{
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
                await TypedResults.Problem("A job id in the request is not one the job storage can read (job ids are whole numbers); any listed before it were acted on.",
                    statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            }
        }));
}
