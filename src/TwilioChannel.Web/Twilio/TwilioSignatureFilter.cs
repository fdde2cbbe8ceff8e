using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Checks X-Twilio-Signature on every /twilio webhook before anything is stored: the URL Twilio called (PublicBaseUrl +
/// path + query, or the request's own URL when unset) and the posted form, HMAC-SHA1 with the auth token of the account
/// named by AccountSid (so Messaging-Service pools and proxies work). twilio-csharp's RequestValidator does the check,
/// including the with/without default port variants (Twilio/SignatureValidators). Anything unauthenticated is a 403.
/// </summary>
internal sealed class TwilioSignatureFilter(AccountTokens tokens, SignatureValidators validators, IOptions<ChannelOptions> channel, Common.RefusalLog refusals, Common.PublicUrls urls) : IEndpointFilter
{
    public const string FormItem = "twilio.form";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var signature = http.Request.Headers["X-Twilio-Signature"].ToString();
        if (string.IsNullOrEmpty(signature) || !http.Request.HasFormContentType) return Forbidden("missing signature or not a form");

        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits (body too large: 413) keep their status.
            return TypedResults.Problem("The request body could not be read: " + ex.Message, statusCode: ex.StatusCode);
        }
        catch (InvalidDataException ex)
        {
            // FormOptions' bounds (field count and lengths; a Twilio message body is at most 1,600 characters).
            return TypedResults.Problem("The form exceeds this endpoint's limits: " + ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (IOException)
        {
            return TypedResults.Problem("The request body could not be read.", statusCode: StatusCodes.Status400BadRequest);
        }

        var fields = new Dictionary<string, string>(form.Count, StringComparer.Ordinal);
        foreach (var (key, value) in form) fields[key] = value.ToString();

        var accountSid = fields.GetValueOrDefault("AccountSid");
        if (string.IsNullOrEmpty(accountSid) || accountSid.Length > 64) return Forbidden("no AccountSid");
        var token = await tokens.FindAsync(accountSid, http.RequestAborted);
        if (token is null) return Forbidden("unknown account");

        if (!IsSigned(token)
            // The token may have been rotated through another instance since this one cached it.
            && !(await tokens.ReloadAfterRefusalAsync(accountSid, http.RequestAborted) is { } current && current != token && IsSigned(current)))
            return Forbidden("bad signature");
        // Without PublicBaseUrl, the import's attachment URLs use the last authenticated request's base: Twilio's
        // webhooks count (their URL is signed), else after a start every import before Desk's first pull pointed at
        // the local default URL. With PublicBaseUrl set there is nothing to learn.
        if (channel.Value.PublicBaseUri is null) urls.BaseFor(http.Request);

        http.Items[FormItem] = fields;
        return await next(context);

        bool IsSigned(string authToken)
        {
            var url = SignedUrl(http.Request, channel.Value.PublicBaseUri);
            return validators.IsValid(authToken, url, fields, signature)
                || (SignedUrlAsWritten(http.Request, channel.Value.PublicBaseUrl) is { } written && written != url && validators.IsValid(authToken, written, fields, signature));
        }

        IResult Forbidden(string why)
        {
            refusals.Refused($"a Twilio webhook: {why}", http.Request.Path);
            return TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        }
    }

    /// <summary>The URL Twilio signed: our public base URL (behind proxies the request's own URL differs) + path + query.</summary>
    public static string SignedUrl(HttpRequest request, Uri? publicBase) =>
        Common.PublicUrls.Base(request, publicBase) + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();

    /// <summary>
    /// The same with PublicBaseUrl exactly as written. Twilio signs the URL as configured in its console, host case
    /// included, while Uri lowercases the host: "https://Support.Example.com" in both places had every webhook refused.
    /// Null when PublicBaseUrl is unset.
    /// </summary>
    public static string? SignedUrlAsWritten(HttpRequest request, string? publicBaseUrl) =>
        string.IsNullOrWhiteSpace(publicBaseUrl) ? null
            : publicBaseUrl.Trim().TrimEnd('/') + request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
}
