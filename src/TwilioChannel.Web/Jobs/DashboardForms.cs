using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// A dashboard request without the form Hangfire reads from it, or with one over the limits, answers 400 with the
/// reason, not 500. Hangfire reads a form for /stats and for every batch command (/jobs/failed/requeue,
/// /recurring/trigger, …), whatever the method, through HttpRequest.ReadFormAsync, which throws on a request with no
/// form (curl -X POST without a body, a JSON body) and on a form over FormOptions' limits.
/// Requiring a form of every POST up front would be wrong: the single-job commands (/jobs/actions/delete/{id}) read
/// none, and the dashboard's own script posts them without a body. So the dashboard's requests get a form reader of
/// their own: it refuses what ASP.NET's would have thrown on, only when Hangfire asks for the form, and the refusal
/// becomes a 400 Problem Details here.
/// </summary>
internal static class DashboardForms
{
    public const string FormType = "application/x-www-form-urlencoded";

    /// <summary>The dashboard's page sizes go up to 5000 jobs, and "select all" posts each as a jobs[] field; the
    /// service-wide limit (200, sized for Twilio's webhooks) refused that with an exception, a 500. Bodies stay bounded
    /// by MaxRequestBodyBytes all the same.</summary>
    public const int ValueCountLimit = 10_000;

    /// <summary>Runs after the key check (DashboardAuthorization), so anonymous requests still get the 401 challenge.</summary>
    public static IApplicationBuilder UseDashboardForms(this IApplicationBuilder app)
    {
        var service = app.ApplicationServices.GetRequiredService<IOptions<FormOptions>>().Value;
        var options = new FormOptions
        {
            ValueCountLimit = Math.Max(service.ValueCountLimit, ValueCountLimit),
            KeyLengthLimit = service.KeyLengthLimit,
            ValueLengthLimit = service.ValueLengthLimit,
        };
        return app.UseWhen(http => http.Request.Path.StartsWithSegments(DashboardAuthorization.Path), branch => branch.Use(async (http, next) =>
        {
            http.Features.Set<IFormFeature>(new Reader(http.Request, new FormFeature(http.Request, options)));
            try
            {
                await next(http);
            }
            catch (BadFormException refused) when (!http.Response.HasStarted)
            {
                await TypedResults.Problem(refused.Message, statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            }
        }));
    }

    /// <summary>Thrown by the reader below only; carries the reason the client gets.</summary>
    private sealed class BadFormException(string message) : Exception(message);

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
            try
            {
                return inner.ReadForm();
            }
            catch (InvalidDataException unreadable)
            {
                throw Unreadable(unreadable);
            }
        }

        public async Task<IFormCollection> ReadFormAsync(CancellationToken cancellationToken)
        {
            RequireForm();
            try
            {
                return await inner.ReadFormAsync(cancellationToken);
            }
            catch (InvalidDataException unreadable)
            {
                throw Unreadable(unreadable);
            }
        }

        /// <summary>Over a limit above ("Form value count limit 10000 exceeded."): the client's fault, in ASP.NET's words.</summary>
        private static BadFormException Unreadable(InvalidDataException unreadable) => new($"The form could not be read: {unreadable.Message}");

        /// <summary>The form the dashboard's script posts; multipart too would only widen what a client can make us parse.</summary>
        private void RequireForm()
        {
            if (inner.Form is not null) return;
            if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals(FormType, StringComparison.OrdinalIgnoreCase))
                throw new BadFormException($"This dashboard request takes a form: Content-Type {FormType}, e.g. jobs[]=42 for a command on jobs.");
        }
    }
}
