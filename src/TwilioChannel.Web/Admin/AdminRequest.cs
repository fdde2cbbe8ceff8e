using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TwilioChannel.Web.Admin;

/// <summary>
/// An admin API body that keeps the fields it doesn't know, so they can be named back to the caller
/// (<see cref="UnknownFieldsWarning"/>): System.Text.Json drops them silently, and a misspelt or unsupported field
/// ("templateSid", a backfill's "until") was answered 201 as if it had been applied.
/// </summary>
internal abstract record AdminRequest
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? UnknownFields { get; init; }

    /// <summary>The body's own fields, as a client writes them.</summary>
    public IEnumerable<string> KnownFields => GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.Name != nameof(UnknownFields) && p.Name != nameof(KnownFields) && p.Name != "EqualityContract")
        .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name));
}
