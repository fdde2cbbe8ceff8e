using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Routing;

namespace TwilioChannel.Web.Admin;

/// <summary>
/// /api/admin/numbers: SMS numbers and WhatsApp senders, each owned by one Twilio account and routed to one Desk org.
/// The first number of each kind in an org is its default unless another is marked isDefault. Adding a number routes
/// the messages that were kept for it while it wasn't configured.
/// </summary>
internal static class NumbersApi
{
    public sealed record CreateRequest(string? Address, string? AccountSid, string? OrgId, string? MessagingServiceSid, bool? IsDefault, string? WhatsAppTemplateSid) : AdminRequest;

    public sealed record NumberResponse(long Id, string Address, string Channel, string AccountSid, string OrgId, string? MessagingServiceSid,
        string? WhatsAppTemplateSid, bool IsDefault, DateTime CreatedAt)
    {
        public static NumberResponse From(ChannelNumber n) =>
            new(n.Id, n.Address, n.Channel == MessagingChannel.WhatsApp ? "whatsapp" : "sms", n.AccountSid, n.OrgId, n.MessagingServiceSid,
                n.WhatsAppTemplateSid, n.IsDefault, n.CreatedAt);
    }

    public static RouteGroupBuilder MapNumbers(this RouteGroupBuilder admin)
    {
        var group = admin.MapGroup("/numbers");
        group.MapGet("/", async (ChannelDbContext db, CancellationToken ct) =>
            TypedResults.Ok((await db.Numbers.AsNoTracking().OrderBy(n => n.Id).ToListAsync(ct)).Select(NumberResponse.From)));
        group.MapGet("/{id:long}", async (long id, ChannelDbContext db, CancellationToken ct) =>
            await db.Numbers.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) is { } found
                ? Results.Ok(NumberResponse.From(found))
                : Validation.NotFound("number", id));
        group.MapPost("/", CreateAsync);
        group.MapDelete("/{id:long}", DeleteAsync);
        return admin;
    }

    private static async Task<IResult> CreateAsync(CreateRequest request, ChannelDbContext db, RouterWakeup router, NumberDirectory directory, History.HistoryScheduler jobs, TimeProvider time, CancellationToken ct)
    {
        request = request with
        {
            AccountSid = Validation.TwilioSid(request.AccountSid),
            MessagingServiceSid = Validation.TwilioSid(request.MessagingServiceSid),
            WhatsAppTemplateSid = Validation.TwilioSid(request.WhatsAppTemplateSid),
        };
        var validation = new Validation()
            .Required("address", request.Address, 64)
            .Sid("accountSid", request.AccountSid, "AC", required: true)
            .OrgId(request.OrgId)
            .Sid("messagingServiceSid", request.MessagingServiceSid, "MG", required: false)
            .Sid("whatsAppTemplateSid", request.WhatsAppTemplateSid, "HX", required: false);
        var address = default(ChannelAddress);
        if (request.Address is { Length: > 0 and <= 64 } && !PhoneAddress.TryNormalize(request.Address, out address))
            validation.Add("address", "address must be an E.164 number (+14155550100) or a WhatsApp sender (whatsapp:+14155238886).");
        if (request.WhatsAppTemplateSid is { Length: > 0 } && address is { Channel: not MessagingChannel.WhatsApp })
            validation.Add("whatsAppTemplateSid", "Only WhatsApp senders have re-engagement templates.");
        if (validation.IsValid && !await db.TwilioAccounts.AnyAsync(a => a.AccountSid == request.AccountSid, ct))
            validation.Add("accountSid", "No Twilio account with this SID is configured: add it under /api/admin/twilio-accounts first.");
        if (!validation.IsValid) return validation.Problem();

        if (await db.Numbers.AnyAsync(n => n.Address == address!.Value, ct))
            return Validation.Conflict($"{address!.Value} is already configured.");

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var orgId = request.OrgId!.Trim();
        var sameKind = await db.Numbers.Where(n => n.OrgId == orgId && n.Channel == address!.Channel).ToListAsync(ct);
        var number = new ChannelNumber
        {
            Address = address!.Value,
            Channel = address.Channel,
            AccountSid = request.AccountSid!,
            OrgId = orgId,
            MessagingServiceSid = string.IsNullOrWhiteSpace(request.MessagingServiceSid) ? null : request.MessagingServiceSid,
            WhatsAppTemplateSid = string.IsNullOrWhiteSpace(request.WhatsAppTemplateSid) ? null : request.WhatsAppTemplateSid,
            IsDefault = request.IsDefault == true || !sameKind.Any(n => n.IsDefault),
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        if (number.IsDefault) sameKind.ForEach(n => n.IsDefault = false);
        db.Numbers.Add(number);
        if (!await db.TrySaveUniqueAsync(ct)) return Validation.Conflict($"{number.Address} is already configured.");

        // Messages kept while this number wasn't configured go back to the router.
        var kept = db.Messages.Where(m => m.State == MessageState.Unrouted
            && (m.To == number.Address || (number.MessagingServiceSid != null && m.MessagingServiceSid == number.MessagingServiceSid)));
        await kept.ExecuteUpdateAsync(s => s.SetProperty(m => m.State, MessageState.Received), ct);
        await tx.CommitAsync(ct);
        directory.Invalidate();
        // A router (here or on another instance) may have planned a batch from the list without this number and commit it
        // unrouted around our transaction. It reads the numbers again after its commit (Routing/UnroutedRecheck); moving
        // once more after ours covers a commit that fell between our move and our commit where the database doesn't
        // serialise writers (on SQLite it does, and this finds nothing).
        await kept.ExecuteUpdateAsync(s => s.SetProperty(m => m.State, MessageState.Received), ct);
        router.Notify();
        jobs.Wake(); // recurring reconciliation, off the request path
        return TypedResults.Created($"/api/admin/numbers/{number.Id}", NumberResponse.From(number));
    }

    private static async Task<IResult> DeleteAsync(long id, ChannelDbContext db, NumberDirectory directory, History.HistoryScheduler jobs, TimeProvider time, CancellationToken ct)
    {
        var number = await db.Numbers.FindAsync([id], ct);
        if (number is null) return Validation.NotFound("number", id);
        db.Numbers.Remove(number);
        // Its conversations keep its id: if the address is added again (the way to change a number), replies find it.
        if (!await db.RetiredNumbers.AnyAsync(r => r.Id == id, ct))
            db.RetiredNumbers.Add(new RetiredNumber { Id = id, OrgId = number.OrgId, Address = number.Address, DeletedAt = time.GetUtcNow().UtcDateTime });
        if (number.IsDefault)
        {
            // The org keeps a default of this kind while it has any number of it.
            var next = await db.Numbers.Where(n => n.OrgId == number.OrgId && n.Channel == number.Channel && n.Id != id).OrderBy(n => n.Id).FirstOrDefaultAsync(ct);
            if (next is not null) next.IsDefault = true;
        }
        await db.SaveChangesAsync(ct);
        directory.Invalidate();
        jobs.Wake(); // recurring reconciliation, off the request path
        return TypedResults.NoContent();
    }
}
