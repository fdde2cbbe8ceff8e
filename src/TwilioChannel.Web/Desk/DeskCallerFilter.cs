using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Desk;

/// <summary>
/// Desk's pull and push carry orgId and securityContext in the query (no signature is documented). The caller is
/// genuine when the securityContext equals, in constant time, the one stored for that (enabled) org. Anything else: 403.
/// </summary>
internal sealed class DeskCallerFilter(ChannelDbContext db, SecretProtector secrets, ILogger<DeskCallerFilter> logger) : IEndpointFilter
{
    public const string InstallationItem = "desk.installation";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var orgId = http.Request.Query["orgId"].ToString();
        var securityContext = http.Request.Query["securityContext"].ToString();
        if (orgId.Length is 0 or > 64 || securityContext.Length is 0 or > 4096) return Forbidden(orgId);

        var installation = await db.Installations.AsNoTracking().FirstOrDefaultAsync(i => i.OrgId == orgId, http.RequestAborted);
        if (installation is not { Enabled: true, SecurityContextProtected: { } stored } || !SameSecret(secrets.Unprotect(stored), securityContext))
            return Forbidden(orgId);

        http.Items[InstallationItem] = installation;
        return await next(context);
    }

    internal static bool SameSecret(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(actual)));

    private IResult Forbidden(string orgId)
    {
        // Never log the securityContext itself.
        logger.LogWarning("Refused a Desk call for org {OrgId}: unknown org, disabled org or wrong securityContext.", orgId.Length > 64 ? orgId[..64] : orgId);
        return TypedResults.Json(new { message = "Unknown org or wrong securityContext." }, statusCode: StatusCodes.Status403Forbidden);
    }
}
