using System.Text;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Desk;

namespace TwilioChannel.Web.Delivery;

/// <summary>What an org's import needs: its Desk host, connection and securityContext (decrypted, kept in memory only).</summary>
internal sealed record ImportCredentials(string OrgId, string DeskBase, string ConnectionLinkName, string SecurityContext)
{
    /// <summary>What <paramref name="i"/> gives the import; null when it gives none (disabled, no securityContext or
    /// connection). Whether Desk:ExtensionSecret is set is the caller's question.</summary>
    public static ImportCredentials? Of(Data.Installation i, Configuration.DeskOptions desk, Secrets.SecretProtector secrets) =>
        i is { Enabled: true, SecurityContextProtected: { } stored, ConnectionLinkName: { Length: > 0 } connection }
            ? new ImportCredentials(i.OrgId, Desk.DeskHosts.ApiBaseOf(desk, i), connection, secrets.Unprotect(stored))
            : null;

    public override string ToString() => $"ImportCredentials {{ OrgId = {OrgId}, DeskBase = {DeskBase} }}"; // never the secret
}

/// <summary>
/// The typed client for Desk's Invoke API (desk-requests.md): POST {host}/api/v1/invoke?orgId=…, a signed form whose
/// requestURL is the channel import API, which Desk calls for us with the org's connection. No automatic retries here:
/// the delivery loop decides (it keeps order, backs off and parks), and a blind retry could import a batch twice.
/// </summary>
internal sealed class DeskInvokeClient(HttpClient http, IOptions<DeskOptions> desk, TimeProvider time, ILogger<DeskInvokeClient> logger)
{
    public const string HttpClientName = "desk-invoke";

    public async Task<ImportOutcome> ImportAsync(ImportCredentials org, string syncObjectJson, CancellationToken ct)
    {
        var secret = desk.Value.ExtensionSecret ?? throw new InvalidOperationException("Desk:ExtensionSecret is required to call the Invoke API.");
        var call = InvokeRequest.Import(org.DeskBase, org.OrgId, syncObjectJson, org.ConnectionLinkName, org.SecurityContext);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{org.DeskBase}/api/v1/invoke?orgId={Uri.EscapeDataString(org.OrgId)}")
        {
            Content = new FormUrlEncodedContent(call.Form()),
        };
        request.Headers.Add("HASH", DeskHash.Compute(secret, Encoding.UTF8.GetBytes(call.SignedText)));

        try
        {
            using var response = await http.SendAsync(request, ct);
            var body = await ReadBoundedAsync(response.Content, ct);
            var outcome = ImportOutcome.Classify((int)response.StatusCode, body) with { RetryAfter = RetryAfterOf(response) };
            if (!outcome.IsDelivered)
                logger.LogWarning("Desk import for org {OrgId} answered {Status}: {Verdict} ({Message}).", org.OrgId, outcome.StatusCode, outcome.Verdict, outcome.Message);
            return outcome;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // Timeout or connection failure: the outcome is unknown. Resending is safe (same extIds are updates).
            logger.LogWarning("Desk import for org {OrgId} failed: {Error}.", org.OrgId, ex.Message);
            return new ImportOutcome(ImportVerdict.Retry, 0, ex is TaskCanceledException ? "Desk did not answer in time." : $"Desk unreachable: {ex.Message}");
        }
    }

    /// <summary>Retry-After as a delay (seconds or an HTTP date); null when absent or already past.</summary>
    private TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
        return wait > TimeSpan.Zero ? wait : null;
    }

    /// <summary>Desk's answers are small; a runaway body must not fill our memory.</summary>
    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        const int limit = 64 * 1024;
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[limit];
        var total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer.AsMemory(total, limit - total), ct)) > 0) total += read;
        return Encoding.UTF8.GetString(buffer, 0, total);
    }
}
