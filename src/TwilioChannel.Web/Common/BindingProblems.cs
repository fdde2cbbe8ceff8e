using System.Text.Json;
using System.Text.RegularExpressions;

namespace TwilioChannel.Web.Common;

/// <summary>
/// Field errors for a request minimal APIs could not bind: a JSON body with a string where a boolean goes, malformed
/// JSON, no body, or a query value of the wrong type (limit=abc). By default these are a bare 400 whose Problem Details
/// say nothing of what was wrong. The binder throws (RouteHandlerOptions.ThrowOnBadRequest) and the exception handler's
/// Problem Details get an "errors" map like the validation's own: the field by its JSON path or parameter name, or
/// "body" when the body as a whole is wrong.
/// </summary>
internal static partial class BindingProblems
{
    public const string BodyField = "body";

    public static void Customize(ProblemDetailsContext context)
    {
        if (context.Exception is not BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad) return;
        var (field, error) = bad.InnerException switch
        {
            // A syntax error: the reader's exception is inside the serializer's.
            JsonException { InnerException: JsonException } json => (BodyField, $"The body is not valid JSON (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1})."),
            JsonException { Path: null or "$" } => (BodyField, "The body must be a JSON object."),
            JsonException json when Duplicate(json) => (FieldOf(json.Path!), $"{FieldOf(json.Path!)} is given more than once; give each field once."),
            JsonException json when NotText(json) => (FieldOf(json.Path!), $"{FieldOf(json.Path!)} must be valid text (UTF-8, with no lone surrogate escapes)."),
            JsonException json => (FieldOf(json.Path!), $"{FieldOf(json.Path!)} must be {Expected(PropertyType(context.HttpContext, FieldOf(json.Path!)), json.Message)}."),
            _ => FromMessage(bad.Message),
        };
        if (field is null) return;
        context.ProblemDetails.Title = "One or more validation errors occurred.";
        context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [error!] };
    }

    /// <summary>ASP.NET's own messages: "Implicit body inferred … but no body was provided" (none, or empty), "… was not
    /// provided from body" (null), "Failed to bind parameter "int? limit" from "abc"".</summary>
    private static (string? Field, string? Error) FromMessage(string message)
    {
        if (message.Contains("no body was provided", StringComparison.Ordinal) || message.Contains("from body", StringComparison.Ordinal))
            return (BodyField, "The body must be a JSON object.");
        var parameter = FailedToBind().Match(message);
        return parameter.Success ? (parameter.Groups[1].Value, $"{parameter.Groups[1].Value} has a value of the wrong type.") : (null, null);
    }

    private static string FieldOf(string path) => path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    /// <summary>A property named twice (the admin API's JSON options refuse duplicates).</summary>
    private static bool Duplicate(JsonException json) => json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase);

    /// <summary>A string whose bytes are not UTF-8, or an escaped lone surrogate ("\ud800"): the reader's complaint names
    /// the encoding ("invalid UTF-8", "incomplete UTF-16"); a wrong token type's doesn't.</summary>
    private static bool NotText(JsonException json) =>
        json.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-", StringComparison.Ordinal);

    /// <summary>
    /// The type of the body's property at <paramref name="field"/> (its JSON name, camelCase or not). System.Text.Json
    /// names the type it failed to build, and for our request records, which it builds through their constructor,
    /// that is the record ("could not be converted to …NumbersApi+CreateRequest"), not the field: every wrong type
    /// was "a value of another JSON type". The endpoint's accepted request type tells the field's.
    /// </summary>
    private static Type? PropertyType(HttpContext http, string field)
    {
        // The exception handler clears the request's endpoint before it writes the problem; its feature keeps it.
        var endpoint = http.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var request = endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        var property = request?.GetProperty(field, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
        return property is null ? null : Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
    }

    /// <summary>The JSON type the binder wanted: the field's own type when known, else from System.Text.Json's message
    /// ("could not be converted to System.Boolean").</summary>
    private static string Expected(Type? field, string message) => (field?.FullName ?? ConvertedTo().Match(message).Groups[1].Value) switch
    {
        var type when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        var type when type.Contains("String", StringComparison.Ordinal) => "a string",
        var type when type.Contains("Int", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) || type.Contains("Double", StringComparison.Ordinal) => "a number",
        var type when type.Contains("DateTime", StringComparison.Ordinal) => "an ISO 8601 date or date and time",
        _ => "a value of another JSON type",
    };

    [GeneratedRegex(@"could not be converted to ([^\s.]+(?:\.[^\s.]+)*)")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex("""Failed to bind parameter "(?:[^"]*\s)?(\w+)" from""")]
    private static partial Regex FailedToBind();
}
