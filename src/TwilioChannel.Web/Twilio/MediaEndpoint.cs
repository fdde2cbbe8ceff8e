using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// GET /media/{token}: streams a customer's attachment from Twilio to Desk. Twilio media URLs need HTTP Basic auth;
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
        if (!tokens.TryRead(token, out var messageId, out var index)) return TypedResults.StatusCode(StatusCodes.Status403Forbidden);

        var message = await db.Messages.AsNoTracking().Where(m => m.Id == messageId)
            .Select(m => new { m.AccountSid, m.RawForm }).FirstOrDefaultAsync(ct);
        var form = message is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(message.RawForm);
        if (message is null || form?.GetValueOrDefault($"MediaUrl{index}") is not { } mediaUrl) return TypedResults.NotFound();
        var authToken = await accounts.FindAsync(message.AccountSid, ct);
        if (authToken is null || TwilioRequest(mediaUrl, message.AccountSid, options.Value) is not { } twilioUrl) return TypedResults.NotFound();

        using var request = new HttpRequestMessage(HttpMethod.Get, twilioUrl);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{message.AccountSid}:{authToken}")));
        var response = await clients.CreateClient(TwilioClient).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        try
        {
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                // The CDN URL is pre-signed: follow it with a client that carries no credentials.
                var target = location.IsAbsoluteUri ? location : new Uri(twilioUrl, location);
                response.Dispose();
                response = await clients.CreateClient(CdnClient).GetAsync(target, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            if (!response.IsSuccessStatusCode)
            {
                logs.CreateLogger(typeof(MediaEndpoint)).LogWarning("Twilio media for message {MessageId} #{Index} answered {Status}.", messageId, index, (int)response.StatusCode);
                return TypedResults.StatusCode(response.StatusCode == System.Net.HttpStatusCode.NotFound ? 404 : 502);
            }
            if (response.Content.Headers.ContentLength > options.Value.MaxMediaBytes) return TypedResults.StatusCode(StatusCodes.Status502BadGateway);

            http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? form.GetValueOrDefault($"MediaContentType{index}") ?? "application/octet-stream";
            if (response.Content.Headers.ContentLength is { } length) http.Response.ContentLength = length;
            http.Response.Headers.CacheControl = "private, max-age=300";
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            await CopyBoundedAsync(body, http.Response.Body, options.Value.MaxMediaBytes, ct);
            return TypedResults.Empty;
        }
        finally
        {
            response.Dispose();
        }
    }

    /// <summary>GET /media/out/{token}: a reply attachment of ours, for Twilio to fetch.</summary>
    public static async Task<IResult> GetOutboundAsync(string token, MediaTokens tokens, ChannelDbContext db, CancellationToken ct)
    {
        if (!tokens.TryReadOutbound(token, out var id)) return TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        var file = await db.OutboundMedia.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, ct);
        return file is null ? TypedResults.NotFound() : TypedResults.File(file.Content, file.ContentType, file.FileName);
    }

    /// <summary>Twilio's media URL re-rooted on the configured API host, if it is a media resource of this account.</summary>
    internal static Uri? TwilioRequest(string mediaUrl, string accountSid, TwilioApiOptions options)
    {
        if (!Uri.TryCreate(mediaUrl, UriKind.Absolute, out var url)) return null;
        if (!url.AbsolutePath.StartsWith($"/2010-04-01/Accounts/{accountSid}/", StringComparison.Ordinal) || url.AbsolutePath.Contains("/../", StringComparison.Ordinal))
            return null;
        return new Uri(options.ApiBaseUri, url.PathAndQuery.TrimStart('/'));
    }

    private static async Task CopyBoundedAsync(Stream source, Stream destination, long limit, CancellationToken ct)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
            if (total > limit) throw new InvalidOperationException("Media larger than Twilio:MaxMediaBytes.");
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
        }
    }
}
