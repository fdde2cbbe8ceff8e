using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Fetches the files an agent attached to a reply, and the images inline in its text, from the org's Desk host
/// (Authorization: Zoho-oauthtoken) and keeps them for Twilio to fetch from a signed URL of ours. All or nothing: a file
/// that can't be fetched, is too large or of a type Twilio refuses fails the whole reply before anything is sent. The
/// OAuth token only ever goes to the Desk host.
/// </summary>
internal sealed class DeskAttachments(HttpClient http, ZohoOAuth oauth, ChannelDbContext db, IOptions<DeskOptions> desk, TimeProvider time)
{
    // Twilio's limits (shared reference, twilio.md): images ≤ 5 MB on every channel; WhatsApp ≤ 16 MB per message (one
    // file each there); MMS 5 MB in total.
    private const long WhatsAppLimit = 16L * 1024 * 1024;
    private const long ImageLimit = 5L * 1024 * 1024;
    private const long MmsLimit = 5L * 1024 * 1024;

    /// <summary>Twilio's limit of files on one MMS (checked by the sender before anything is fetched).</summary>
    internal const int MaxMmsFiles = 10;

    private static readonly string[] AllowedPrefixes = ["image/", "audio/", "video/"];
    private static readonly HashSet<string> AllowedTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application/pdf", "text/vcard", "text/x-vcard", "text/plain", "text/csv",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    };

    /// <summary>A file to fetch from Desk: an attachment of the reply, or an image inline in its text (so named in reasons).</summary>
    public sealed record DeskFile(string Name, string? Href, bool Inline)
    {
        public static DeskFile Attached(DeskAttachment a) => new(a.Name ?? "attachment", a.Href, false);

        /// <summary>Named after its URL's last segment: inline images carry no name of their own.</summary>
        public static DeskFile InlineImage(Uri url) =>
            new(Uri.UnescapeDataString(url.Segments[^1].Trim('/')) is { Length: > 0 } last ? last : "image", url.ToString(), true);

        public string Noun => Inline ? "inline image" : "attachment";
    }

    /// <returns>The files kept for Twilio, or why the reply fails: refused (the agent must change something), or
    /// not sent for now (Zoho or Desk unreachable, too slow, a server error), which a later push of the reply retries.</returns>
    public async Task<(List<OutboundMedia>? Files, PushOutcome? Failure)> FetchAsync(Installation installation, Reply reply, IReadOnlyList<DeskFile> files, MessagingChannel channel, CancellationToken ct)
    {
        var (token, unavailable) = await oauth.AccessTokenAsync(installation, ct);
        if (token is null) return (null, NoToken(installation, files, unavailable));
        var renewed = false;

        var fetched = new List<OutboundMedia>();
        long total = 0;
        foreach (var file in files)
        {
            if (DeskUrl(file.Href, installation) is not { } url) return (null, PushOutcome.Refused($"The {file.Noun} '{file.Name}' isn't on this org's Desk host, so it was not fetched."));
            // Desk unreachable, too slow or failing is no fault of the file: nothing was sent, and the agent (or Desk)
            // may push the reply again. It used to fail as "an internal error", for good.
            string NotFetched(string why) => $"The {file.Noun} '{file.Name}' could not be fetched from Desk ({why}); nothing was sent. Try again.";
            try
            {
                var (media, failure) = await FetchOneAsync(installation, reply, file, url, token, channel, total, NotFetched, ct);
                // A cached access token Zoho no longer honours (the credentials were replaced or revoked) was used until
                // it would have expired, up to an hour of replies failing with HTTP 401: once per reply, a fresh one.
                if (failure == Unauthorized && !renewed)
                {
                    renewed = true;
                    oauth.Forget(installation);
                    (token, unavailable) = await oauth.AccessTokenAsync(installation, ct);
                    if (token is null) return (null, NoToken(installation, files, unavailable));
                    (media, failure) = await FetchOneAsync(installation, reply, file, url, token, channel, total, NotFetched, ct);
                }
                if (failure == Unauthorized) failure = PushOutcome.Refused($"The {file.Noun} '{file.Name}' could not be fetched from Desk (HTTP 401).");
                if (media is null) return (null, failure);
                total += media.Content.Length;
                fetched.Add(media);
            }
            catch (HttpRequestException) { return (null, PushOutcome.NotSent(NotFetched("Desk could not be reached"))); }
            catch (OperationCanceledException) { return (null, PushOutcome.NotSent(NotFetched("Desk did not send it in time"))); }
        }
        db.OutboundMedia.AddRange(fetched);
        await db.SaveChangesAsync(ct);
        return (fetched, null);
    }

    /// <summary>Why there is no token: none configured, Zoho refused the credentials, or Zoho couldn't be asked.</summary>
    private static PushOutcome NoToken(Installation installation, IReadOnlyList<DeskFile> files, string? unavailable) =>
        unavailable is not null
            ? PushOutcome.NotSent($"Zoho's sign-in service could not give a token to fetch the {Carried(files, plural: true)} from Desk ({unavailable}); nothing was sent. Try again.")
            : PushOutcome.Refused(installation.ZohoOAuthProtected is null
                ? $"This reply has {Carried(files)}, and sending files from Desk needs Zoho OAuth credentials for this org, which aren't configured. Send the reply without the files, or ask an admin to configure Zoho OAuth."
                : $"The {Carried(files, plural: true)} could not be fetched from Desk: Zoho refused the OAuth credentials configured for this org. Ask an admin to renew them.");

    /// <summary>Desk refused the access token (HTTP 401): <see cref="FetchAsync"/> renews it once.</summary>
    private static readonly PushOutcome Unauthorized = PushOutcome.Refused("Desk refused the Zoho access token.");

    private async Task<(OutboundMedia? Media, PushOutcome? Failure)> FetchOneAsync(
        Installation installation, Reply reply, DeskFile file, Uri url, string token, MessagingChannel channel, long total, Func<string, string> notFetched, CancellationToken ct)
    {
        var name = file.Name;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Zoho-oauthtoken", token);
        request.Headers.Add("orgId", installation.OrgId);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var status = (int)response.StatusCode;
        if (status >= 500 || status == 429) return (null, PushOutcome.NotSent(notFetched($"HTTP {status}")));
        if (status == 401) return (null, Unauthorized);
        if (!response.IsSuccessStatusCode) return (null, PushOutcome.Refused($"The {file.Noun} '{name}' could not be fetched from Desk (HTTP {status})."));

        var type = response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream";
        if (!AllowedTypes.Contains(type) && !AllowedPrefixes.Any(p => type.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            return (null, PushOutcome.Refused($"The {file.Noun} '{name}' is of type {type}, which Twilio can't send."));
        var image = type.StartsWith("image/", StringComparison.OrdinalIgnoreCase);
        var limit = channel == MessagingChannel.WhatsApp ? (image ? ImageLimit : WhatsAppLimit) : MmsLimit - total;
        if (response.Content.Headers.ContentLength > limit) return (null, PushOutcome.Refused(TooLarge(file, channel, image)));
        var content = await ReadBoundedAsync(response.Content, limit, ct);
        if (content is null) return (null, PushOutcome.Refused(TooLarge(file, channel, image)));
        return (new OutboundMedia { OrgId = installation.OrgId, ReplyId = reply.Id, FileName = name, ContentType = type, Content = content, CreatedAt = time.GetUtcNow().UtcDateTime }, null);
    }

    /// <summary>What the reply carries, for reasons: "attachments", "an inline image", "attachments and inline images"…</summary>
    private static string Carried(IReadOnlyList<DeskFile> files, bool plural = false)
    {
        var inline = files.Count(f => f.Inline);
        var images = inline == 1 && !plural ? "an inline image" : "inline images";
        return inline == 0 ? "attachments" : inline == files.Count ? images : $"attachments and {images}";
    }

    private static string TooLarge(DeskFile file, MessagingChannel channel, bool image) => (channel, image) switch
    {
        (MessagingChannel.WhatsApp, true) => $"The {(file.Inline ? "inline image" : "image")} '{file.Name}' is larger than the 5 MB Twilio accepts for an image.",
        (MessagingChannel.WhatsApp, false) => $"The {file.Noun} '{file.Name}' is larger than WhatsApp's 16 MB limit.",
        _ => $"The attachments are larger than the 5 MB an MMS can carry ('{file.Name}').",
    };

    /// <summary>The href re-rooted on Desk:ApiBaseUrl when configured, else accepted only on the org's Desk host.</summary>
    private Uri? DeskUrl(string? href, Installation installation)
    {
        if (!Uri.TryCreate(href, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http")) return null;
        if (desk.Value.ApiBaseUrl is { Length: > 0 } configured)
        {
            var target = new Uri(configured);
            return new UriBuilder(url) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
        }
        return Desk.DeskHosts.IsOnDesk(url, installation) ? url : null;
    }

    /// <summary>
    /// The body, or null past <paramref name="limit"/>. Sized to the declared length (Desk declares it; the caller
    /// refused it above the limit), a file is held once: a growing buffer doubled up to twice its size and was then
    /// copied out, three copies of a 16 MB file at the peak, per file, per reply being sent.
    /// </summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, long limit, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream(content.Headers.ContentLength is { } declared && declared <= limit ? (int)declared : 0);
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        // The buffer itself when it holds exactly the file (the declared length was right), else a copy of what was read.
        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }
}
