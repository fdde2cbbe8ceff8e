using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>Root-level settings: where the service is reachable from the internet and where it keeps its files.</summary>
public sealed class ChannelOptions : IValidatableObject
{
    /// <summary>The https URL Twilio and Desk call (e.g. https://channel.example.com). Signatures are checked against it
    /// and callback/media URLs are built from it. Unset: the request's own URL (local use, zero configuration).</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Folder for the embedded database, the generated admin key and the data-protection keys.</summary>
    [Required]
    public string DataPath { get; set; } = "data";

    /// <summary>Largest request body accepted anywhere (Twilio forms are a few KB; Desk payloads a few tens).</summary>
    [Range(16 * 1024, 64 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    private Uri? _publicBaseUri;

    /// <summary>Parsed once: every webhook's signature check needs it. Never throws: the start's validation reads every
    /// property, and a value without a scheme stopped it with a bare UriFormatException instead of the message below.</summary>
    public Uri? PublicBaseUri => string.IsNullOrWhiteSpace(PublicBaseUrl) ? null
        : _publicBaseUri ??= Uri.TryCreate(PublicBaseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var uri) ? uri : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(PublicBaseUrl)) yield break;
        if (!Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            yield return new ValidationResult("PublicBaseUrl must be an absolute http(s) URL without query or fragment, e.g. https://channel.example.com", [nameof(PublicBaseUrl)]);
    }
}
