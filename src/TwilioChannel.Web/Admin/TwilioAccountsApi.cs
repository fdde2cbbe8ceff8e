using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Admin;

/// <summary>/api/admin/twilio-accounts: the auth token is stored encrypted and never returned or logged.</summary>
internal static class TwilioAccountsApi
{
    public sealed record CreateRequest(string? AccountSid, string? AuthToken, string? FriendlyName) : AdminRequest;

    /// <summary>PUT: a new auth token (Twilio's token rotation) and/or a new friendly name; the SID never changes.</summary>
    /// <summary>accountSid may be sent (a script PUTting back what it read) but can't change.</summary>
    public sealed record UpdateRequest(string? AuthToken, string? FriendlyName, string? AccountSid = null) : AdminRequest;

    public sealed record AccountResponse(long Id, string AccountSid, string? FriendlyName, DateTime CreatedAt)
    {
        public static AccountResponse From(TwilioAccount a) => new(a.Id, a.AccountSid, a.FriendlyName, a.CreatedAt);
    }

    public static RouteGroupBuilder MapTwilioAccounts(this RouteGroupBuilder admin)
    {
        var group = admin.MapGroup("/twilio-accounts");
        group.MapGet("/", async (ChannelDbContext db, CancellationToken ct) =>
            TypedResults.Ok((await db.TwilioAccounts.AsNoTracking().OrderBy(a => a.Id).ToListAsync(ct)).Select(AccountResponse.From)));
        group.MapGet("/{id:long}", async (long id, ChannelDbContext db, CancellationToken ct) =>
            await db.TwilioAccounts.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) is { } found
                ? Results.Ok(AccountResponse.From(found))
                : Validation.NotFound("Twilio account", id));
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:long}", UpdateAsync);
        group.MapDelete("/{id:long}", DeleteAsync);
        return admin;
    }

    private static async Task<IResult> CreateAsync(CreateRequest request, ChannelDbContext db, SecretProtector secrets, AccountTokens tokens, TimeProvider time, CancellationToken ct)
    {
        request = request with { AccountSid = Validation.TwilioSid(request.AccountSid) };
        var validation = new Validation()
            .Sid("accountSid", request.AccountSid, "AC", required: true)
            .Required("authToken", request.AuthToken, 256)
            .Optional("friendlyName", request.FriendlyName, 200);
        if (!validation.IsValid) return validation.Problem();

        if (await db.TwilioAccounts.AnyAsync(a => a.AccountSid == request.AccountSid, ct))
            return Validation.Conflict($"Twilio account {request.AccountSid} is already configured.");

        var account = new TwilioAccount
        {
            AccountSid = request.AccountSid!,
            AuthTokenProtected = secrets.Protect(request.AuthToken!.Trim()),
            FriendlyName = request.FriendlyName,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.TwilioAccounts.Add(account);
        if (!await db.TrySaveUniqueAsync(ct)) return Validation.Conflict($"Twilio account {request.AccountSid} is already configured.");
        tokens.Invalidate(account.AccountSid);
        return TypedResults.Created($"/api/admin/twilio-accounts/{account.Id}", AccountResponse.From(account));
    }

    /// <summary>
    /// Rotates the auth token (Twilio's secondary token promoted: the old one stops at once, so webhooks signed with the
    /// new one must pass now) without touching the account's numbers. Takes effect at once on this instance; others
    /// read it within their token cache's lifetime.
    /// </summary>
    private static async Task<IResult> UpdateAsync(long id, UpdateRequest request, ChannelDbContext db, SecretProtector secrets, AccountTokens tokens, CancellationToken ct)
    {
        var validation = new Validation()
            .Optional("friendlyName", request.FriendlyName, 200);
        if (request.AuthToken is not null) validation.Required("authToken", request.AuthToken, 256);
        if (!validation.IsValid) return validation.Problem();

        var account = await db.TwilioAccounts.FindAsync([id], ct);
        if (account is null) return Validation.NotFound("Twilio account", id);
        // As for installations' orgId: silently keeping the old SID would tell a script its change was made.
        if (request.AccountSid is not null && Validation.TwilioSid(request.AccountSid.Trim()) != account.AccountSid)
            return new Validation().Add("accountSid", "accountSid can't change; add the other account with POST.").Problem();
        if (request.AuthToken is not null) account.AuthTokenProtected = secrets.Protect(request.AuthToken.Trim());
        account.FriendlyName = request.FriendlyName ?? account.FriendlyName;
        await db.SaveChangesAsync(ct);
        tokens.Invalidate(account.AccountSid);
        return TypedResults.Ok(AccountResponse.From(account));
    }

    private static async Task<IResult> DeleteAsync(long id, ChannelDbContext db, AccountTokens tokens, CancellationToken ct)
    {
        var account = await db.TwilioAccounts.FindAsync([id], ct);
        if (account is null) return Validation.NotFound("Twilio account", id);
        if (await db.Numbers.AnyAsync(n => n.AccountSid == account.AccountSid, ct))
            return Validation.Conflict("Numbers still use this account: delete them first.");
        db.TwilioAccounts.Remove(account);
        await db.SaveChangesAsync(ct);
        tokens.Invalidate(account.AccountSid);
        return TypedResults.NoContent();
    }
}
