using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>Section "Admin".</summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>Bearer key of the admin API. Unset: generated on first start into a file only the service user can read.</summary>
    [MinLength(24, ErrorMessage = "Admin:ApiKey must be at least 24 characters.")]
    public string? ApiKey { get; set; }
}
