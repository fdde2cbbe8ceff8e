using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>Section "Twilio". Named so it doesn't clash with the SDK's own types.</summary>
public sealed class TwilioApiOptions : IValidatableObject
{
    public const string Section = "Twilio";

    /// <summary>Every call to Twilio (SDK and media downloads) goes to this host; tests point it at WireMock.</summary>
    [Required]
    public string ApiBaseUrl { get; set; } = "https://api.twilio.com";

    /// <summary>How long a signed media URL of ours stays valid. Desk fetches attachments when it imports a thread.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan MediaUrlLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Largest media file streamed through /media (WhatsApp allows 16 MB; Desk's attachment limit is similar).</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxMediaBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How long /media waits for Twilio and its CDN: for the response headers (both hops together), then for
    /// each next piece of the body. Past it the request answers 504 instead of holding Desk's download open.</summary>
    [Range(1, 600)]
    public int MediaTimeoutSeconds { get; set; } = 30;

    /// <summary>How often reconciliation compares each number's Twilio message list with what we stored (Hangfire's
    /// recurring jobs run on whole minutes: rounded up to one).</summary>
    [Range(60, 86_400)]
    public int ReconcileIntervalSeconds { get; set; } = 300;

    /// <summary>Never throws for a bad value (the start's validation reads every property, and a URL without a scheme
    /// stopped it with a bare UriFormatException); that validation refuses such a value first.</summary>
    public Uri ApiBaseUri => Uri.TryCreate((ApiBaseUrl ?? "").TrimEnd('/') + "/", UriKind.Absolute, out var uri) ? uri : new Uri("https://api.twilio.com/");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!BaseUrl.IsSchemeAndHost(ApiBaseUrl))
            yield return new ValidationResult("Twilio:ApiBaseUrl must be a scheme and host (and port), e.g. https://api.twilio.com", [nameof(ApiBaseUrl)]);
    }
}
