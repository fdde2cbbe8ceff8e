using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// GET (and HEAD) /media/{token}: streams a customer's attachment from Twilio to Desk. Twilio media URLs need HTTP Basic auth;
/// the credentials go only to the Twilio API host (Twilio:ApiBaseUrl), and only for the message's own account. Twilio
/// answers with a redirect to a short-lived CDN URL, which we follow without credentials.
/// </summary>
internal static class MediaEndpoint
{
    public const string TwilioClient = "twilio-media";
    public const string CdnClient = "twilio-media-cdn";

    public static async Task<IResult> GetAsync(
        string token, HttpContext http, MediaTokens tokens, ChannelDbContext db, AccountTokens accounts,
        IHttpClientFactory clients, IOptions<TwilioApiOptions> options, ILoggerFactory logs, CancellationToken ct)
    {
        if (!tokens.TryRead(token, out var messageId, out var index)) return InvalidLink();

        var message = await db.Messages.AsNoTracking().Where(m => m.Id == messageId)
            .Select(m => new { m.AccountSid, m.RawForm }).FirstOrDefaultAsync(ct);
        var form = message is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(message.RawForm);
        if (message is null || form?.GetValueOrDefault($"MediaUrl{index}") is not { } mediaUrl) return TypedResults.NotFound();
        var authToken = await accounts.FindAsync(message.AccountSid, ct);
        if (authToken is null || TwilioRequest(mediaUrl, message.AccountSid, options.Value) is not { } twilioUrl) return TypedResults.NotFound();

        using var request = new HttpRequestMessage(HttpMethod.Get, twilioUrl);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{message.AccountSid}:{authToken}")));
        var log = logs.CreateLogger(typeof(MediaEndpoint));
        var timeout = TimeSpan.FromSeconds(options.Value.MediaTimeoutSeconds);
        using var upstream = CancellationTokenSource.CreateLinkedTokenSource(ct);
        upstream.CancelAfter(timeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await clients.CreateClient(TwilioClient).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, upstream.Token);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                // The CDN URL is pre-signed: follow it with a client that carries no credentials.
                var target = location.IsAbsoluteUri ? location : new Uri(twilioUrl, location);
                response.Dispose();
                response = await clients.CreateClient(CdnClient).GetAsync(target, HttpCompletionOption.ResponseHeadersRead, upstream.Token);
            }
            if (!response.IsSuccessStatusCode)
            {
                log.LogWarning("Twilio media for message {MessageId} #{Index} answered {Status}.", messageId, index, (int)response.StatusCode);
                return TypedResults.StatusCode(response.StatusCode == System.Net.HttpStatusCode.NotFound ? 404 : 502);
            }
            var limit = options.Value.MaxMediaBytes;
            if (response.Content.Headers.ContentLength > limit) return TooLarge(log, messageId, index, limit);

            var upstreamName = response.Content.Headers.ContentDisposition is { } disposition ? disposition.FileNameStar ?? disposition.FileName?.Trim('"') : null;
            var contentType = response.Content.Headers.ContentType?.ToString() ?? form.GetValueOrDefault($"MediaContentType{index}");
            MediaHeaders.Apply(http.Response, contentType, upstreamName, unnamed: MediaHeaders.DefaultName(contentType, index));
            if (response.Content.Headers.ContentLength is { } length) http.Response.ContentLength = length;
            http.Response.Headers.CacheControl = "private, max-age=300";
            // HEAD: the upstream request is still a GET (the CDN URL is signed for GET), its body left unread.
            if (HttpMethods.IsHead(http.Request.Method)) return TypedResults.Empty;
            await using var body = await response.Content.ReadAsStreamAsync(upstream.Token);
            var (outcome, sent) = await MediaCopy.CopyAsync(body, http.Response, limit, upstream, timeout, ct);
            if (outcome == MediaCopy.Outcome.TooLargeNothingSent)
            {
                http.Response.Clear(); // the file's headers, for a file that is not coming
                return TooLarge(log, messageId, index, limit);
            }
            if (outcome == MediaCopy.Outcome.TooLargePartSent)
            {
                // The status (200) and part of the file are out: ending the response normally would hand Desk a short
                // file as if it were whole. Only a cut connection tells it the download failed.
                log.LogWarning("Twilio media for message {MessageId} #{Index} is larger than Twilio:MaxMediaBytes ({Limit} bytes) and came without a Content-Length: the download was cut off after {Sent} bytes.",
                    messageId, index, limit, sent);
                http.Abort();
            }
            return TypedResults.Empty;
        }
        catch (Exception ex) when (ex is HttpRequestException or HttpIOException || ex is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // Twilio or its CDN is slow or unreachable: the gateway's answer, one warning line, no stack trace.
            var timedOut = ex is OperationCanceledException;
            log.LogWarning("Twilio media for message {MessageId} #{Index} failed: {Reason}.", messageId, index,
                timedOut ? $"no answer within {options.Value.MediaTimeoutSeconds} s (Twilio:MediaTimeoutSeconds)" : ex.Message);
            if (http.Response.HasStarted)
            {
                // Part of the file is out already: only a cut connection tells Desk it is incomplete.
                http.Abort();
                return TypedResults.Empty;
            }
            http.Response.Clear(); // the file's headers (Content-Length, Content-Disposition) if its body never came
            return TypedResults.Problem(
                timedOut ? $"Twilio did not deliver the file within {options.Value.MediaTimeoutSeconds} s." : "Twilio could not be reached for the file.",
                statusCode: timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway);
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>A link we didn't sign, or signed for a time that is over: said in words (it was a bare 403), without
    /// telling which of the two.</summary>
    private static IResult InvalidLink() =>
        TypedResults.Problem("This media link is not valid, or it has expired.", statusCode: StatusCodes.Status403Forbidden);

    /// <summary>GET /media/out/{token}: a reply attachment of ours, for Twilio to fetch.</summary>
    public static async Task<IResult> GetOutboundAsync(string token, HttpContext http, MediaTokens tokens, ChannelDbContext db, CancellationToken ct)
    {
        if (!tokens.TryReadOutbound(token, out var id)) return InvalidLink();
        var file = await db.OutboundMedia.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, ct);
        if (file is null) return TypedResults.NotFound();
        // A download for Twilio, named as the agent named it; served from our origin all the same.
        MediaHeaders.Apply(http.Response, file.ContentType, file.FileName, download: true);
        return TypedResults.Bytes(file.Content, http.Response.ContentType);
    }

    /// <summary>Twilio's media URL re-rooted on the configured API host, if it is a media resource of this account.</summary>
    internal static Uri? TwilioRequest(string mediaUrl, string accountSid, TwilioApiOptions options)
    {
        if (!Uri.TryCreate(mediaUrl, UriKind.Absolute, out var url)) return null;
        if (!url.AbsolutePath.StartsWith($"/2010-04-01/Accounts/{accountSid}/", StringComparison.Ordinal) || url.AbsolutePath.Contains("/../", StringComparison.Ordinal))
            return null;
        return new Uri(options.ApiBaseUri, url.PathAndQuery.TrimStart('/'));
    }

    /// <summary>A file over Twilio:MaxMediaBytes, known before anything of it was sent: the gateway's answer, one warning.</summary>
    private static IResult TooLarge(ILogger log, long messageId, int index, long limit)
    {
        log.LogWarning("Twilio media for message {MessageId} #{Index} is larger than Twilio:MaxMediaBytes ({Limit} bytes); not passed on.", messageId, index, limit);
        return TypedResults.Problem($"The file is larger than the {limit} bytes this service passes on (Twilio:MaxMediaBytes).",
            statusCode: StatusCodes.Status502BadGateway);
    }
}
