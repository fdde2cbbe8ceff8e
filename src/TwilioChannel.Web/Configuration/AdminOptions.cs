using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>Section "Admin".</summary>
public sealed class AdminOptions : IValidatableObject
{
    public const string Section = "Admin";

    /// <summary>Bearer key of the admin API. Unset: generated on first start into a file only the service user can read.</summary>
    public string? ApiKey { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(ApiKey) && ApiKey.Trim().Length < 24)
            yield return new ValidationResult("Admin:ApiKey must be at least 24 characters (or unset, to have one generated).", [nameof(ApiKey)]);
    }
}
