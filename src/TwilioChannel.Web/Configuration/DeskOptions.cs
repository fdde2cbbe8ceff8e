using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>Section "Desk".</summary>
public sealed class DeskOptions : IValidatableObject
{
    public const string Section = "Desk";

    /// <summary>Scheme and host without path (https://desk.zoho.com); overrides the installation's data-centre host.</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>The extension manifest's secret: verifies event callbacks and signs Invoke API calls.</summary>
    public string? ExtensionSecret { get; set; }

    /// <summary>Desk documents thread content as string(255); longer content is split into continuation threads.</summary>
    [Range(64, 1_000_000)]
    public int ThreadContentLimit { get; set; } = 255;

    /// <summary>Start a new ticket ("address#2") when a customer writes after this many hours of silence. 0 = never
    /// (one ticket per customer for ever, the default). Fractions are hours too (1.5 = 90 minutes): an admin writing
    /// one used to stop the service from starting.</summary>
    [Range(0d, 100_000d)]
    public double NewTicketAfterHours { get; set; }

    /// <summary>Zoho Accounts host for OAuth token refresh; unset: derived from the org's Desk host (desk.zoho.eu → accounts.zoho.eu).</summary>
    public string? AccountsBaseUrl { get; set; }

    /// <summary>Bounds everything one push does (Desk's own wait is undocumented).</summary>
    [Range(2, 120)]
    public int PushTimeoutSeconds { get; set; } = 10;

    /// <summary>Desk API calls the import may spend per org and UTC day (Desk's credits are per org and day); when
    /// spent, the org falls back to the pull until midnight UTC.</summary>
    [Range(1, 10_000_000)]
    public int DailyApiCallBudget { get; set; } = 20_000;

    /// <summary>How long one import call may take before it counts as failed (and is retried later).</summary>
    [Range(1, 300)]
    public int ImportTimeoutSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(ApiBaseUrl) && !BaseUrl.IsSchemeAndHost(ApiBaseUrl))
            yield return new ValidationResult("Desk:ApiBaseUrl must be a scheme and host without path, e.g. https://desk.zoho.com", [nameof(ApiBaseUrl)]);
        // Read only when an agent's reply first carries a file: a bad value failed that reply with "an internal error",
        // and every one after it, instead of stopping the start.
        if (!string.IsNullOrWhiteSpace(AccountsBaseUrl) && !BaseUrl.IsSchemeAndHost(AccountsBaseUrl))
            yield return new ValidationResult("Desk:AccountsBaseUrl must be a scheme and host without path, e.g. https://accounts.zoho.eu", [nameof(AccountsBaseUrl)]);
    }
}
