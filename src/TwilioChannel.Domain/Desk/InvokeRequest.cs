using System.Text.Json;

namespace TwilioChannel.Domain.Desk;

/// <summary>
/// One call of Desk's Invoke API (desk-requests.md, "Import API … through the Desk Invoke API"): Desk proxies
/// <see cref="RequestUrl"/> with the org's connection, so we never hold a Zoho OAuth token for imports. The form is
/// signed with HASH = HMAC-SHA256(extension secret, <see cref="SignedText"/>).
/// </summary>
public sealed record InvokeRequest(string RequestUrl, string RequestType, string PostBody, string Headers, string ConnectionLinkName, string SecurityContext)
{
    /// <summary>Desk replaces the placeholder with the installation's id, so the URL is right even before we learn it.</summary>
    public const string InstallationPlaceholder = "{{installationId}}";

    /// <summary>The channel import call for <paramref name="orgId"/>; <paramref name="deskBase"/> is scheme and host.</summary>
    public static InvokeRequest Import(string deskBase, string orgId, string syncObjectJson, string connectionLinkName, string securityContext) =>
        new($"{deskBase.TrimEnd('/')}/api/v1/channels/{InstallationPlaceholder}/import", "POST", syncObjectJson,
            JsonSerializer.Serialize(new Dictionary<string, string> { ["orgId"] = orgId, ["Content-Type"] = "application/json" }),
            connectionLinkName, securityContext);

    /// <summary>The text HASH signs: the parameters in this order, values as sent but not URL-encoded.</summary>
    public string SignedText =>
        $"requestURL={RequestUrl}&requestType={RequestType}&postBody={PostBody}&headers={Headers}&connectionLinkName={ConnectionLinkName}";

    /// <summary>The x-www-form-urlencoded fields of the call.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Form() =>
    [
        new("securityContext", SecurityContext),
        new("requestURL", RequestUrl),
        new("requestType", RequestType),
        new("headers", Headers),
        new("connectionLinkName", ConnectionLinkName),
        new("postBody", PostBody),
    ];
}
