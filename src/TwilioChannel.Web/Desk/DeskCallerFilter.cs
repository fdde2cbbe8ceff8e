using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// Desk's pull and push carry orgId and securityContext in the query (no signature is documented). The caller is
/// genuine when the securityContext equals, in constant time, the one stored for that (enabled) org. Anything else: 403.
/// </summary>
internal sealed class DeskCallerFilter(DeskCallers callers, RefusalLog refusals) : IEndpointFilter
{
    public const string InstallationItem = "desk.installation";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var orgId = http.Request.Query["orgId"].ToString();
        var securityContext = http.Request.Query["securityContext"].ToString();
        if (orgId.Length is 0 or > 64 || securityContext.Length is 0 or > 4096) return Forbidden(orgId);

        var caller = await callers.FindAsync(orgId, http.RequestAborted);
        if (caller is not null && !Matches(caller))
            // The securityContext may have been renewed through another instance since this one cached it.
            caller = await callers.ReloadAfterRefusalAsync(orgId, http.RequestAborted) is { } current && Matches(current) ? current : null;
        if (caller is null) return Forbidden(orgId);

        http.Items[InstallationItem] = caller.Installation;
        return await next(context);

        bool Matches(DeskCallers.Caller c) => SecretHash.Matches(c.SecurityContextHash, securityContext);
    }

    private IResult Forbidden(string orgId)
    {
        // Never log the securityContext itself.
        refusals.Refused("a Desk call: unknown org, disabled org or wrong securityContext", $"org {orgId}");
        return TypedResults.Json(new { message = "Unknown org or wrong securityContext." }, statusCode: StatusCodes.Status403Forbidden);
    }
}

/// <summary>
/// Enabled installations with the hash of their securityContext, cached briefly: every pull and push needs one, and a
/// query plus a Data Protection unprotect per push was a quarter of its CPU. Local changes (admin API, Desk events)
/// invalidate at once; a change made on another instance is read when a securityContext doesn't match
/// (<see cref="ReloadAfterRefusalAsync"/>), else within <see cref="Lifetime"/>. Unknown orgs are cached for less, so a
/// flood of forged org ids can't hammer the database.
/// </summary>
internal sealed class DeskCallers(IServiceScopeFactory scopes, IMemoryCache cache, SecretProtector secrets)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public sealed record Caller(Installation Installation, byte[] SecurityContextHash);

    public async Task<Caller?> FindAsync(string orgId, CancellationToken ct)
    {
        if (cache.TryGetValue(Key(orgId), out Caller? cached)) return cached;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var installation = await db.Installations.AsNoTracking().FirstOrDefaultAsync(i => i.OrgId == orgId, ct);
        var caller = installation is { Enabled: true, SecurityContextProtected: { } stored }
            ? new Caller(installation, SecretHash.Of(secrets.Unprotect(stored)))
            : null;
        cache.Set(Key(orgId), caller, caller is null ? TimeSpan.FromSeconds(5) : Lifetime);
        return caller;
    }

    /// <summary>
    /// The org as stored now, after its cached securityContext refused a call: Desk's event renewing it (or the admin)
    /// may have reached another instance, and this cache refused Desk's pulls and pushes (an agent's reply failed) for
    /// up to <see cref="Lifetime"/>. Null when the org is not installed and enabled, or was read again less than
    /// <see cref="RefusedRecheck.Spacing"/> ago, so wrong securityContexts can't turn into a database read each.
    /// </summary>
    public async Task<Caller?> ReloadAfterRefusalAsync(string orgId, CancellationToken ct)
    {
        if (!RefusedRecheck.TryBegin(cache, Key(orgId))) return null;
        cache.Remove(Key(orgId));
        return await FindAsync(orgId, ct);
    }

    /// <summary>Raised when an installation changed (admin API, Desk events), with its org id.</summary>
    public event Action<string>? Changed;

    public void Invalidate(string orgId)
    {
        cache.Remove(Key(orgId));
        Changed?.Invoke(orgId);
    }

    private static string Key(string orgId) => "desk-caller:" + orgId;
}
