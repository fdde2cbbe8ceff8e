using Microsoft.EntityFrameworkCore;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Rest.Messaging.V1.Service;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.History;

/// <summary>
/// The addresses a number's reconciliation lists: the number itself and, for a number in a Messaging Service, the
/// service's other phone numbers and WhatsApp senders that aren't configured numbers (those have their own job).
/// Twilio's message list can't filter by service, so a pool is listed address by address. One configured number per
/// service covers its pool (the lowest id), so a pool is not listed once per configured member. A pool Twilio won't
/// list (an API key without the Messaging scope, a deleted service) is logged and the number alone is reconciled.
/// </summary>
internal static class MessagingServicePool
{
    /// <summary>Twilio's own limit of phone numbers in one Messaging Service.</summary>
    private const int MaxMembers = 400;

    public static async Task<IReadOnlyList<string>> AddressesAsync(ChannelNumber number, ITwilioRestClient client, IServiceScopeFactory scopes, ILogger logger, CancellationToken ct)
    {
        if (number.MessagingServiceSid is not { Length: > 0 } service) return [number.Address];

        HashSet<string> configured;
        bool covers;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var numbers = scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Numbers.AsNoTracking();
            configured = (await numbers.Select(n => n.Address).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
            // Nullable: a number removed since the job read it leaves no member (MinAsync of nothing would throw).
            covers = await numbers.Where(n => n.MessagingServiceSid == service).MinAsync(n => (long?)n.Id, ct) == number.Id;
        }
        if (!covers) return [number.Address];

        var addresses = new List<string> { number.Address };
        try
        {
            var phones = await PhoneNumberResource.ReadAsync(pathServiceSid: service, limit: MaxMembers, client: client);
            addresses.AddRange(phones.Select(p => p.PhoneNumber?.ToString()).OfType<string>());
            var senders = await ChannelSenderResource.ReadAsync(pathMessagingServiceSid: service, limit: MaxMembers, client: client);
            addresses.AddRange(senders.Select(s => s.Sender).OfType<string>().Where(s => s.StartsWith("whatsapp:", StringComparison.Ordinal)));
        }
        catch (Exception ex) when (ex is ApiException or ApiConnectionException)
        {
            logger.LogWarning("Listing the senders of Messaging Service {Service} failed ({Error}); only {Number} is reconciled.", service, ex.Message, number.Address);
            return [number.Address];
        }
        return addresses.Where(a => a == number.Address || !configured.Contains(a)).Distinct(StringComparer.Ordinal).ToList();
    }
}
