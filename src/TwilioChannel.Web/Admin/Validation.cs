using System.Text.RegularExpressions;

namespace TwilioChannel.Web.Admin;

/// <summary>Collects field errors for a ValidationProblem (RFC 7807 with an "errors" map).</summary>
internal sealed partial class Validation
{
    private readonly Dictionary<string, List<string>> _errors = [];

    public bool IsValid => _errors.Count == 0;

    public Validation Add(string field, string error)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(error);
        return this;
    }

    public Validation Required(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value)) return Add(field, $"{field} is required.");
        return Optional(field, value, maxLength);
    }

    public Validation Optional(string field, string? value, int maxLength) =>
        value is not null && value.Length > maxLength ? Add(field, $"{field} must be at most {maxLength} characters.") : this;

    public Validation Sid(string field, string? value, string prefix, bool required)
    {
        if (string.IsNullOrWhiteSpace(value)) return required ? Add(field, $"{field} is required.") : this;
        return SidPattern().IsMatch(value) && value.StartsWith(prefix, StringComparison.Ordinal)
            ? this
            : Add(field, $"{field} must be '{prefix}' followed by 32 hexadecimal characters.");
    }

    /// <summary>
    /// A SID as Twilio writes it: two capitals and 32 lower-case hex digits. Webhooks and callbacks carry it so, and it is
    /// compared as text: an account typed with upper-case digits was stored as typed, matched no webhook (each one a
    /// 403) and was a second account beside the same one written in lower case. Other values are left for <see cref="Sid"/>.
    /// </summary>
    public static string? TwilioSid(string? value) => value is { Length: 34 } ? value[..2] + value[2..].ToLowerInvariant() : value;

    /// <summary>A Desk org id (required): Desk names the org in the pull's and push's query, so one an installation
    /// can't have would route a number's messages where nothing ever reads them.</summary>
    public Validation OrgId(string? value)
    {
        Required("orgId", value, 64);
        if (value is { Length: > 0 and <= 64 } && !string.IsNullOrWhiteSpace(value) && !OrgIdPattern().IsMatch(value.Trim()))
            Add("orgId", "orgId may contain letters, digits, '-' and '_' only.");
        return this;
    }

    /// <summary>The errors as one sentence, for endpoints that answer a plain {"message"} (Desk's event callback).</summary>
    public string Message => string.Join(" ", _errors.Values.SelectMany(e => e));

    public IResult Problem() => TypedResults.ValidationProblem(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));

    public static IResult Conflict(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static IResult NotFound(string what, long id) => TypedResults.Problem($"No {what} with id {id}.", statusCode: StatusCodes.Status404NotFound, title: "Not Found");

    [GeneratedRegex("^[A-Z]{2}[0-9a-fA-F]{32}$")]
    private static partial Regex SidPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex OrgIdPattern();
}
