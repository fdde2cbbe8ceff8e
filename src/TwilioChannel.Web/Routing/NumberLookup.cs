using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>The configured numbers a batch of messages was sent to: by exact address, else by Messaging Service
/// (a pool's To may be any of its numbers, only some of which an admin configured).</summary>
internal sealed class NumberLookup
{
    private readonly Dictionary<string, ChannelNumber> _byAddress;
    private readonly Dictionary<string, ChannelNumber> _byService;

    private NumberLookup(List<ChannelNumber> numbers)
    {
        _byAddress = numbers.ToDictionary(n => n.Address, StringComparer.Ordinal);
        _byService = numbers.Where(n => n.MessagingServiceSid is not null)
            .GroupBy(n => n.MessagingServiceSid!)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(n => n.IsDefault).ThenBy(n => n.Id).First(), StringComparer.Ordinal);
    }

    public static async Task<NumberLookup> LoadAsync(ChannelDbContext db, IReadOnlyCollection<PendingMessage> messages, CancellationToken ct)
    {
        var addresses = messages.Select(m => m.To).Distinct().ToList();
        var services = messages.Where(m => m.MessagingServiceSid != null).Select(m => m.MessagingServiceSid!).Distinct().ToList();
        var numbers = await db.Numbers.AsNoTracking()
            .Where(n => addresses.Contains(n.Address) || (n.MessagingServiceSid != null && services.Contains(n.MessagingServiceSid)))
            .ToListAsync(ct);
        return new NumberLookup(numbers);
    }

    public ChannelNumber? Find(string to, string? messagingServiceSid) =>
        _byAddress.GetValueOrDefault(to) ?? (messagingServiceSid is null ? null : _byService.GetValueOrDefault(messagingServiceSid));
}
