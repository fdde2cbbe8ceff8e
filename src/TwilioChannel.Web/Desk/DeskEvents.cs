using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// POST /desk/events: the extension's platform event callbacks (onInstall, onZohoAuthorise, onConfigParamAdd, …,
/// onUninstall). The body must carry HASH = HMAC-SHA256(raw body, Desk:ExtensionSecret). Without a configured secret
/// every event is refused: a forged event must never replace an org's securityContext (admins set it through the API).
/// </summary>
internal static class DeskEvents
{
    /// <summary>The longest securityContext a pull or push may carry (DeskCallerFilter).</summary>
    private const int MaxSecurityContext = 4096;

    private static readonly HashSet<string> Uninstall = new(StringComparer.OrdinalIgnoreCase) { "onUninstall", "onTPARevoke" };

    /// <summary>The events that install, authorise or update an org (../shared/reference/desk-requests.md; both spellings
    /// of "authorise" occur in Zoho's samples). Anything else is acknowledged and changes nothing.</summary>
    private static readonly HashSet<string> Install = new(StringComparer.OrdinalIgnoreCase)
    {
        "onInstall", "onZohoAuthorise", "onZohoAuthorize", "onTPAAuthorise", "onTPAAuthorize", "onUpdate", "onConfigParamAdd", "onConfigParamDelete",
    };

    public static async Task<IResult> ReceiveAsync(HttpContext http, ChannelDbContext db, SecretProtector secrets, DeskCallers callers,
        Delivery.DeliveryStore deliveries, Delivery.DeskDelivery delivery, IOptions<DeskOptions> desk, TimeProvider time, ILoggerFactory logs,
        RefusalLog refusals, CancellationToken ct)
    {
        var logger = logs.CreateLogger(typeof(DeskEvents));
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, ct);
        var raw = buffer.ToArray();

        if (desk.Value.ExtensionSecret is not { Length: > 0 } secret || !DeskHash.Verify(secret, raw, http.Request.Headers["HASH"]))
        {
            refusals.Refused(desk.Value.ExtensionSecret is { Length: > 0 } ? "a Desk event: bad HASH" : "a Desk event: no Desk:ExtensionSecret configured");
            return TypedResults.Json(new { message = "Event signature not valid." }, statusCode: StatusCodes.Status403Forbidden);
        }

        var evt = DeskEvent.Parse(raw);
        if (evt is not { Event.Length: > 0 and <= 64, OrgId.Length: > 0 })
            return TypedResults.Json(new { message = "Expected {\"event\", \"orgId\", \"securityContext\"}." }, statusCode: StatusCodes.Status400BadRequest);
        // The admin API's rule for org ids, not a copy of it: an org id it would refuse can't be named by the pull's and
        // push's query, so an installation under it would never be used, and the two ways to install must agree.
        if (new Admin.Validation().OrgId(evt.OrgId) is { IsValid: false } invalid)
        {
            refusals.Refused("a Desk event: invalid orgId", evt.OrgId);
            return TypedResults.Json(new { message = invalid.Message }, statusCode: StatusCodes.Status400BadRequest);
        }
        var orgId = evt.OrgId.Trim();
        if (!Install.Contains(evt.Event) && !Uninstall.Contains(evt.Event))
        {
            // Signed by Desk, so not refused: a newer event type must not fail Desk's callback, nor enable an org.
            logger.LogInformation("Desk event {Event} for org {OrgId} is not one this service acts on; ignored.", Common.RefusalLog.Clean(evt.Event), Common.RefusalLog.Clean(orgId));
            return TypedResults.Ok(new { message = "ignored" });
        }

        // A context no pull or push could match (blanks; longer than the 4,096 characters DeskCallerFilter takes) was
        // stored, or dropped while the org was enabled and Desk told "ok": either way every later call was a 403.
        var context = evt.SecurityContext?.Trim();
        if (Install.Contains(evt.Event) && evt.SecurityContext is { Length: > 0 } && context is { Length: 0 or > MaxSecurityContext })
            return TypedResults.Json(new { message = $"securityContext must be 1 to {MaxSecurityContext} characters, not blank." }, statusCode: StatusCodes.Status400BadRequest);

        var now = time.GetUtcNow().UtcDateTime;
        var installation = await db.Installations.FirstOrDefaultAsync(i => i.OrgId == orgId, ct);
        if (installation is null && Uninstall.Contains(evt.Event)) return TypedResults.Ok(new { message = "ok" });
        if (installation is null)
        {
            installation = new Installation { OrgId = orgId, CreatedAt = now };
            db.Installations.Add(installation);
        }
        installation.UpdatedAt = now;
        var renewed = false;
        if (Uninstall.Contains(evt.Event))
        {
            installation.Enabled = false;
        }
        else
        {
            installation.Enabled = true;
            if (context is { Length: > 0 })
            {
                renewed = !SameContext(secrets, installation.SecurityContextProtected, context);
                installation.SecurityContextProtected = secrets.Protect(context);
            }
        }
        await db.SaveChangesAsync(ct);
        callers.Invalidate(orgId);
        // A renewed securityContext is what an import parked on Desk's refusal (401/403: the installation revoked) waits
        // for: it stayed parked, real-time delivery off, until an admin noticed and resumed it (acceptance-style run).
        if (renewed && await deliveries.ResumeAsync(orgId, onlyParked: true))
        {
            delivery.Wake(orgId);
            logger.LogInformation("Real-time delivery for org {OrgId} resumed: Desk renewed its securityContext.", orgId);
        }
        logger.LogInformation("Desk event {Event} for org {OrgId} applied.", evt.Event, orgId);
        return TypedResults.Ok(new { message = "ok" });
    }

    private static bool SameContext(SecretProtector secrets, string? stored, string context)
    {
        if (stored is null) return false;
        try
        {
            return secrets.Unprotect(stored) == context;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false; // unreadable (its key is gone): the new one replaces it
        }
    }

    private sealed record DeskEvent(string? Event, string? OrgId, string? SecurityContext)
    {
        /// <summary>Lenient on shape (orgId may come as a number), strict on content.</summary>
        public static DeskEvent? Parse(byte[] raw)
        {
            try
            {
                Common.JsonBody.ThrowIfNotText(raw);
                // HASH was checked over raw, BOM included (as Desk signed it); only the parse skips the mark.
                using var doc = JsonDocument.Parse(Common.JsonBody.WithoutBom(raw));
                if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
                return new DeskEvent(Text(doc.RootElement, "event"), Text(doc.RootElement, "orgId"), Text(doc.RootElement, "securityContext"));
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static string? Text(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            } : null;
    }
}
