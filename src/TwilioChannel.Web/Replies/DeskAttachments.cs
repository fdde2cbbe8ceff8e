using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Fetches the files an agent attached to a reply from the org's Desk host (Authorization: Zoho-oauthtoken) and keeps
/// them for Twilio to fetch from a signed URL of ours. All or nothing: a file that can't be fetched, is too large or of a
/// type Twilio refuses fails the whole reply before anything is sent. The OAuth token only ever goes to the Desk host.
/// </summary>
internal sealed class DeskAttachments(HttpClient http, ZohoOAuth oauth, ChannelDbContext db, IOptions<DeskOptions> desk, TimeProvider time)
{
    // Twilio's limits (shared reference, twilio.md): images ≤ 5 MB on every channel; WhatsApp ≤ 16 MB per message (one
    // file each there); MMS 5 MB in total.
    private const long WhatsAppLimit = 16L * 1024 * 1024;
    private const long ImageLimit = 5L * 1024 * 1024;
    private const long MmsLimit = 5L * 1024 * 1024;

    private static readonly string[] AllowedPrefixes = ["image/", "audio/", "video/"];
    private static readonly HashSet<string> AllowedTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application/pdf", "text/vcard", "text/x-vcard", "text/plain", "text/csv",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    };

    public async Task<(List<OutboundMedia>? Files, string? Error)> FetchAsync(Installation installation, Reply reply, IReadOnlyList<DeskAttachment> attachments, MessagingChannel channel, CancellationToken ct)
    {
        var token = await oauth.AccessTokenAsync(installation, ct);
        if (token is null)
            return (null, installation.ZohoOAuthProtected is null
                ? "This reply has attachments, and sending Desk attachments needs Zoho OAuth credentials for this org, which aren't configured. Send the text without the attachment, or ask an admin to configure Zoho OAuth."
                : "The attachments could not be fetched from Desk: Zoho refused the OAuth credentials configured for this org. Ask an admin to renew them.");
        if (channel == MessagingChannel.Sms && attachments.Count > 10) return (null, "An SMS/MMS carries at most 10 attachments.");

        var files = new List<OutboundMedia>();
        long total = 0;
        foreach (var attachment in attachments)
        {
            var name = attachment.Name ?? "attachment";
            if (DeskUrl(attachment.Href, installation) is not { } url) return (null, $"The attachment '{name}' isn't on this org's Desk host, so it was not fetched.");
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Zoho-oauthtoken", token);
            request.Headers.Add("orgId", installation.OrgId);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode) return (null, $"The attachment '{name}' could not be fetched from Desk (HTTP {(int)response.StatusCode}).");

            var type = response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream";
            if (!AllowedTypes.Contains(type) && !AllowedPrefixes.Any(p => type.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                return (null, $"The attachment '{name}' is of type {type}, which Twilio can't send.");
            var image = type.StartsWith("image/", StringComparison.OrdinalIgnoreCase);
            var limit = channel == MessagingChannel.WhatsApp ? (image ? ImageLimit : WhatsAppLimit) : MmsLimit - total;
            if (response.Content.Headers.ContentLength > limit) return (null, TooLarge(name, channel, image));
            var content = await ReadBoundedAsync(response.Content, limit, ct);
            if (content is null) return (null, TooLarge(name, channel, image));
            total += content.Length;
            files.Add(new OutboundMedia { OrgId = installation.OrgId, ReplyId = reply.Id, FileName = name, ContentType = type, Content = content, CreatedAt = time.GetUtcNow().UtcDateTime });
        }
        db.OutboundMedia.AddRange(files);
        await db.SaveChangesAsync(ct);
        return (files, null);
    }

    private static string TooLarge(string name, MessagingChannel channel, bool image) => (channel, image) switch
    {
        (MessagingChannel.WhatsApp, true) => $"The image '{name}' is larger than the 5 MB Twilio accepts for an image.",
        (MessagingChannel.WhatsApp, false) => $"The attachment '{name}' is larger than WhatsApp's 16 MB limit.",
        _ => $"The attachments are larger than the 5 MB an MMS can carry ('{name}').",
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
        var host = Desk.DeskHosts.HostOf(installation);
        return url.Scheme == "https" && url.Host.Equals(host, StringComparison.OrdinalIgnoreCase) ? url : null;
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, long limit, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
