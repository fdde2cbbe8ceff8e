using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Admin;

/// <summary>/api/admin/installations: one per Desk org. The securityContext is stored encrypted and never returned.</summary>
internal static class InstallationsApi
{
    /// <summary>zohoClientId/zohoClientSecret/zohoRefreshToken: a Zoho OAuth client (scope Desk.tickets.READ) used only to
    /// download the attachments agents add to replies, stored encrypted, never returned. The rule: all three non-empty
    /// set (or replace) the client; all three as empty strings remove it (replies with files are then refused with the
    /// reason, as before one was set); none of them keeps it; anything else (some given, some missing or empty) is a
    /// validation problem, since the client can't be read back to tell what a partial change would leave.</summary>
    public sealed record InstallationRequest(string? OrgId, string? InstallationId, string? DeskDomain, string? ConnectionLinkName, string? SecurityContext,
        string? ZohoClientId = null, string? ZohoClientSecret = null, string? ZohoRefreshToken = null, bool? Enabled = null) : AdminRequest;

    public sealed record InstallationResponse(long Id, string OrgId, string? InstallationId, string? DeskDomain, string? ConnectionLinkName,
        bool HasSecurityContext, bool HasZohoOAuth, bool Enabled, DateTime CreatedAt, DateTime UpdatedAt)
    {
        public static InstallationResponse From(Installation i) => new(i.Id, i.OrgId, i.InstallationId, i.DeskDomain, i.ConnectionLinkName,
            i.SecurityContextProtected is not null, i.ZohoOAuthProtected is not null, i.Enabled, i.CreatedAt, i.UpdatedAt);
    }

    public static RouteGroupBuilder MapInstallations(this RouteGroupBuilder admin)
    {
        var group = admin.MapGroup("/installations");
        group.MapGet("/", async (ChannelDbContext db, CancellationToken ct) =>
            TypedResults.Ok((await db.Installations.AsNoTracking().OrderBy(i => i.Id).ToListAsync(ct)).Select(InstallationResponse.From)));
        group.MapGet("/{id:long}", async (long id, ChannelDbContext db, CancellationToken ct) =>
            await db.Installations.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) is { } found
                ? Results.Ok(InstallationResponse.From(found))
                : Validation.NotFound("installation", id));
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:long}", UpdateAsync);
        group.MapDelete("/{id:long}", async (long id, ChannelDbContext db, Desk.DeskCallers callers, CancellationToken ct) =>
        {
            var installation = await db.Installations.FindAsync([id], ct);
            if (installation is null) return Validation.NotFound("installation", id);
            db.Installations.Remove(installation);
            await db.SaveChangesAsync(ct);
            callers.Invalidate(installation.OrgId);
            return TypedResults.NoContent();
        });
        return admin;
    }

    private static async Task<IResult> CreateAsync(InstallationRequest request, ChannelDbContext db, SecretProtector secrets, Desk.DeskCallers callers, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid) return validation.Problem();
        if (await db.Installations.AnyAsync(i => i.OrgId == request.OrgId, ct))
            return Validation.Conflict($"Org {request.OrgId} already has an installation; change it with PUT.");

        var now = time.GetUtcNow().UtcDateTime;
        var installation = new Installation { OrgId = request.OrgId!.Trim(), CreatedAt = now, Enabled = request.Enabled ?? true };
        Apply(installation, request, secrets, now);
        db.Installations.Add(installation);
        if (!await db.TrySaveUniqueAsync(ct)) return Validation.Conflict($"Org {request.OrgId} already has an installation.");
        callers.Invalidate(installation.OrgId);
        return TypedResults.Created($"/api/admin/installations/{installation.Id}", InstallationResponse.From(installation));
    }

    /// <summary>Replaces the optional fields given; the securityContext only when one is sent; deskDomain "" goes back to
    /// the default host. The org id can't change.</summary>
    private static async Task<IResult> UpdateAsync(long id, InstallationRequest request, ChannelDbContext db, SecretProtector secrets, Desk.DeskCallers callers, TimeProvider time, CancellationToken ct)
    {
        var installation = await db.Installations.FindAsync([id], ct);
        if (installation is null) return Validation.NotFound("installation", id);
        var validation = Validate(request with { OrgId = request.OrgId ?? installation.OrgId });
        if (request.OrgId is not null && request.OrgId.Trim() != installation.OrgId) validation.Add("orgId", "orgId can't change; create another installation.");
        if (!validation.IsValid) return validation.Problem();

        Apply(installation, request, secrets, time.GetUtcNow().UtcDateTime);
        // "enabled": false turns the org off from here as Desk's uninstall does (pulls and pushes 403, webhooks still
        // stored); true, or no "enabled" at all (what a PUT always did), turns it on.
        installation.Enabled = request.Enabled ?? true;
        await db.SaveChangesAsync(ct);
        callers.Invalidate(installation.OrgId);
        return TypedResults.Ok(InstallationResponse.From(installation));
    }

    private static Validation Validate(InstallationRequest r)
    {
        var validation = new Validation()
            .OrgId(r.OrgId)
            .Optional("installationId", r.InstallationId, 64)
            .Optional("connectionLinkName", r.ConnectionLinkName, 100)
            .Optional("securityContext", r.SecurityContext, 4096)
            .Optional("deskDomain", r.DeskDomain, 253)
            .Optional("zohoClientId", r.ZohoClientId, 200)
            .Optional("zohoClientSecret", r.ZohoClientSecret, 200)
            .Optional("zohoRefreshToken", r.ZohoRefreshToken, 500);
        // "" keeps the stored context (a form's blank field); blanks would replace the one Desk sends with one it never
        // sends, and every pull and push of the org would be a 403.
        if (r.SecurityContext is { Length: > 0 } context && string.IsNullOrWhiteSpace(context))
            validation.Add("securityContext", "securityContext must not be blank; leave it out (or \"\") to keep the stored one.");
        if (ZohoOAuthChange(r) is null)
            validation.Add("zohoRefreshToken", "Give zohoClientId, zohoClientSecret and zohoRefreshToken together: all three to set the Zoho OAuth client, all three as empty strings to remove it.");
        if (r.DeskDomain is { Length: > 0 and <= 253 } domain && Uri.CheckHostName(domain) != UriHostNameType.Dns)
            validation.Add("deskDomain", "deskDomain must be a host name such as desk.zoho.com.");
        return validation;
    }

    private static void Apply(Installation installation, InstallationRequest r, SecretProtector secrets, DateTime now)
    {
        installation.InstallationId = r.InstallationId ?? installation.InstallationId;
        // An empty deskDomain (a form's blank field) means "the default host": stored as "", every Invoke call and
        // attachment download went to "https://", and a PUT could never put the org back on desk.zoho.com.
        installation.DeskDomain = r.DeskDomain is null ? installation.DeskDomain : r.DeskDomain.Length == 0 ? null : r.DeskDomain;
        // Trimmed, blanks as none: "  " counted as a connection (import on, every call naming one Desk doesn't have).
        installation.ConnectionLinkName = r.ConnectionLinkName is null ? installation.ConnectionLinkName : r.ConnectionLinkName.Trim() is { Length: > 0 } link ? link : null;
        // Trimmed as Desk sends it: one set from a file or a copied line ended with a newline and matched no pull or push.
        if (!string.IsNullOrEmpty(r.SecurityContext)) installation.SecurityContextProtected = secrets.Protect(r.SecurityContext.Trim());
        switch (ZohoOAuthChange(r))
        {
            case OAuthChange.Set:
                installation.ZohoOAuthProtected = secrets.Protect(System.Text.Json.JsonSerializer.Serialize(new Replies.ZohoOAuthClient(r.ZohoClientId!.Trim(), r.ZohoClientSecret!.Trim(), r.ZohoRefreshToken!.Trim())));
                break;
            case OAuthChange.Remove:
                installation.ZohoOAuthProtected = null; // the cached access token is keyed by it (Replies/ZohoOAuth): dropped too
                break;
        }
        installation.UpdatedAt = now;
    }

    private enum OAuthChange { Keep, Set, Remove }

    /// <summary>What the three Zoho OAuth fields ask for (see <see cref="InstallationRequest"/>); null: a partial change.</summary>
    private static OAuthChange? ZohoOAuthChange(InstallationRequest r)
    {
        string?[] fields = [r.ZohoClientId, r.ZohoClientSecret, r.ZohoRefreshToken];
        if (fields.All(v => v is null)) return OAuthChange.Keep;
        if (fields.All(v => !string.IsNullOrWhiteSpace(v))) return OAuthChange.Set;
        if (fields.All(v => v is not null && string.IsNullOrWhiteSpace(v))) return OAuthChange.Remove;
        return null;
    }
}
