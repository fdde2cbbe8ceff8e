using System.Text;
using Microsoft.Net.Http.Headers;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Headers for a file whose type and name someone outside chose (a customer's attachment, an agent's reply file) and
/// that we serve from our own origin, the one the /admin dashboard lives on. Only types a browser can't run script in
/// are shown inline; anything else (HTML, SVG, XML, JavaScript, unknown) is a download in a CSP sandbox, so it never
/// runs as our origin. nosniff always, so a browser believes the type instead of guessing HTML from the bytes.
/// </summary>
internal static class MediaHeaders
{
    private static readonly string[] InlinePrefixes = ["image/", "audio/", "video/"];
    private static readonly HashSet<string> InlineTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application/pdf", "text/plain", "text/csv", "text/vcard", "text/x-vcard", "text/calendar",
    };

    private const int MaxFileNameLength = 150;

    /// <param name="download">Content-Disposition attachment even for a safe type (files only Twilio fetches).</param>
    /// <param name="unnamed">The name to give when <paramref name="fileName"/> is missing or has nothing usable left.</param>
    public static void Apply(HttpResponse response, string? contentType, string? fileName, bool download = false, string? unnamed = null)
    {
        var type = MediaTypeHeaderValue.TryParse(contentType, out var parsed) && parsed.SubType.HasValue && !parsed.MatchesAllSubTypes
            ? parsed : new MediaTypeHeaderValue("application/octet-stream");
        response.ContentType = type.ToString();
        response.Headers.XContentTypeOptions = "nosniff";

        var inline = IsInlineSafe(type.MediaType.Value!);
        if (!inline) response.Headers.ContentSecurityPolicy = "sandbox";
        var name = SafeFileName(fileName) ?? unnamed;
        if (inline && !download && name is null) return;
        var disposition = new ContentDispositionHeaderValue(inline && !download ? "inline" : "attachment");
        // filename= in ASCII for old clients, filename*=UTF-8''… (RFC 6266) with the real name.
        if (name is not null) disposition.SetHttpFileName(name);
        response.Headers.ContentDisposition = disposition.ToString();
    }

    /// <summary>
    /// The name of a customer's file Twilio gave none (WhatsApp photos and voice notes come without one): "media-1.jpg",
    /// its place in the message and an extension from its type. Without it Desk had only our URL to go by, a token with
    /// no extension, and agents got attachments their computer couldn't open.
    /// </summary>
    internal static string DefaultName(string? contentType, int index) => $"media-{index + 1}{Extension(contentType)}";

    /// <summary>Twilio's common types first (the framework's table lists .jpe before .jpg, .mpga before .mp3), then the
    /// ASP.NET Core static-files table read backwards; none for an unknown type.</summary>
    private static string Extension(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } type) return "";
        return Preferred.TryGetValue(type, out var preferred) ? preferred : FromTable.Value.GetValueOrDefault(type, "");
    }

    private static readonly Dictionary<string, string> Preferred = new(StringComparer.OrdinalIgnoreCase)
    {
        ["image/jpeg"] = ".jpg", ["image/png"] = ".png", ["image/gif"] = ".gif", ["image/webp"] = ".webp",
        ["audio/ogg"] = ".ogg", ["audio/mpeg"] = ".mp3", ["audio/amr"] = ".amr", ["audio/mp4"] = ".m4a", ["audio/aac"] = ".aac",
        ["video/mp4"] = ".mp4", ["video/3gpp"] = ".3gp", ["application/pdf"] = ".pdf",
        ["text/vcard"] = ".vcf", ["text/x-vcard"] = ".vcf", ["text/plain"] = ".txt", ["text/csv"] = ".csv",
    };

    private static readonly Lazy<Dictionary<string, string>> FromTable = new(() =>
    {
        var byType = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (extension, type) in new Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider().Mappings)
            byType.TryAdd(type, extension);
        return byType;
    });

    internal static bool IsInlineSafe(string mediaType) =>
        InlineTypes.Contains(mediaType)
        || InlinePrefixes.Any(p => mediaType.StartsWith(p, StringComparison.OrdinalIgnoreCase))
            && !mediaType.Contains("svg", StringComparison.OrdinalIgnoreCase) && !mediaType.Contains("xml", StringComparison.OrdinalIgnoreCase);

    /// <summary>The last path segment, without control characters (CR/LF), quotes or backslashes, at most 150 characters;
    /// null when nothing usable is left.</summary>
    internal static string? SafeFileName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var last = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        var clean = new StringBuilder(last.Length);
        foreach (var rune in last.EnumerateRunes())
        {
            if (Rune.IsControl(rune) || rune.Value is '"' or '\\' || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format) continue;
            if (clean.Length + rune.Utf16SequenceLength > MaxFileNameLength) break;
            clean.Append(rune.ToString());
        }
        var result = clean.ToString().Trim().Trim('.').Trim();
        return result.Length == 0 ? null : result;
    }
}
