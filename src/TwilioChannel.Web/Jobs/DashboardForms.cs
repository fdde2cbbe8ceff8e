using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// A dashboard request without the form Hangfire reads from it answers 400 with the reason, not 500. Hangfire reads a
/// form for /stats and for every batch command (/jobs/failed/requeue, /recurring/trigger, …), whatever the method,
/// through HttpRequest.ReadFormAsync, which throws on a request with no form (curl -X POST without a body, a JSON body).
/// Requiring a form of every POST up front would be wrong: the single-job commands (/jobs/actions/delete/{id}) read
/// none, and the dashboard's own script posts them without a body. So the dashboard's requests get a form reader of
/// their own: it refuses what ASP.NET's would have thrown on, only when Hangfire asks for the form, and the refusal
/// becomes a 400 Problem Details here.
/// </summary>
internal static class DashboardForms
{
    public const string FormType = "application/x-www-form-urlencoded";

    /// <summary>Runs after the key check (DashboardAuthorization), so anonymous requests still get the 401 challenge.</summary>
    public static IApplicationBuilder UseDashboardForms(this IApplicationBuilder app) =>
        app.UseWhen(http => http.Request.Path.StartsWithSegments(DashboardAuthorization.Path), branch => branch.Use(async (http, next) =>
        {
            var options = http.RequestServices.GetRequiredService<IOptions<FormOptions>>().Value;
            http.Features.Set<IFormFeature>(new Reader(http.Request, new FormFeature(http.Request, options)));
            try
            {
                await next(http);
            }
            catch (NoFormException refused) when (!http.Response.HasStarted)
            {
                await TypedResults.Problem(refused.Message, statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            }
        }));

    /// <summary>Thrown by the reader below only; carries the reason the client gets.</summary>
    private sealed class NoFormException(string message) : Exception(message);

    /// <summary>ASP.NET's form reader, with the check Hangfire doesn't make before it reads.</summary>
    private sealed class Reader(HttpRequest request, FormFeature inner) : IFormFeature
    {
        public bool HasFormContentType => inner.HasFormContentType;

        public IFormCollection? Form
        {
            get => inner.Form;
            set => inner.Form = value;
        }

        public IFormCollection ReadForm()
        {
            RequireForm();
            return inner.ReadForm();
        }

        public Task<IFormCollection> ReadFormAsync(CancellationToken cancellationToken)
        {
            RequireForm();
            return inner.ReadFormAsync(cancellationToken);
        }

        /// <summary>The form the dashboard's script posts; multipart too would only widen what a client can make us parse.</summary>
        private void RequireForm()
        {
            if (inner.Form is not null) return;
            if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals(FormType, StringComparison.OrdinalIgnoreCase))
                throw new NoFormException($"This dashboard request takes a form: Content-Type {FormType}, e.g. jobs[]=42 for a command on jobs.");
        }
    }
}
