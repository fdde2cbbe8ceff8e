using Microsoft.EntityFrameworkCore;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>The configured numbers: by exact address, else by Messaging Service (a pool's To may be any of its numbers,
/// only some of which an admin configured). A number only takes messages of the Twilio account it is configured under:
/// every account's webhooks are signed (with its own token), so without that check one tenant's account could post
/// messages "to" another org's number and write into that org's tickets.</summary>
internal sealed class NumberLookup
{
    private readonly Dictionary<string, ChannelNumber> _byAddress;
    private readonly Dictionary<string, ChannelNumber> _byService;
    private readonly List<ChannelNumber> _all;

    public NumberLookup(IEnumerable<ChannelNumber> numbers)
    {
        var list = _all = numbers.ToList();
        _byAddress = list.ToDictionary(n => n.Address, StringComparer.Ordinal);
        _byService = list.Where(n => n.MessagingServiceSid is not null)
            .GroupBy(n => n.MessagingServiceSid!)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(n => n.IsDefault).ThenBy(n => n.Id).First(), StringComparer.Ordinal);
    }

    public ChannelNumber? Find(PendingMessage message) =>
        FindAnyAccount(message) is { } number && number.AccountSid == message.AccountSid ? number : null;

    /// <summary>The number a message names, whatever account it came from (to explain why it stays unrouted).</summary>
    public ChannelNumber? FindAnyAccount(PendingMessage message) =>
        _byAddress.GetValueOrDefault(message.OurAddress)
        ?? (message.MessagingServiceSid is null ? null : _byService.GetValueOrDefault(message.MessagingServiceSid));

    public ChannelNumber? ById(long id, string orgId) => _all.FirstOrDefault(n => n.Id == id && n.OrgId == orgId);

    public ChannelNumber? ByAddress(string address, string orgId) =>
        _byAddress.GetValueOrDefault(address) is { } number && number.OrgId == orgId ? number : null;

    /// <summary>The org's default number of a channel (the oldest of that channel if none is marked).</summary>
    public ChannelNumber? DefaultFor(string orgId, Domain.Addresses.MessagingChannel channel) =>
        _all.Where(n => n.OrgId == orgId && n.Channel == channel).OrderByDescending(n => n.IsDefault).ThenBy(n => n.Id).FirstOrDefault();
}

/// <summary>
/// All configured numbers, kept in memory: every routed batch needs them and they change only when an admin edits them.
/// Local admin changes invalidate at once; changes made on another instance show within <see cref="Lifetime"/>, and a
/// message whose number isn't in the snapshot triggers one reload before it is declared unrouted, so a number just added
/// elsewhere still routes its messages.
/// </summary>
internal sealed class NumberDirectory(TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private (NumberLookup Lookup, DateTimeOffset LoadedAt)? _snapshot;

    public void Invalidate() => _snapshot = null;

    /// <summary>The current snapshot, reloaded when older than <see cref="Lifetime"/>.</summary>
    public async Task<NumberLookup> CurrentAsync(ChannelDbContext db, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return _snapshot is { } s && now - s.LoadedAt <= Lifetime ? s.Lookup : await ReloadAsync(db, now, ct);
    }

    public async Task<NumberLookup> LookupAsync(ChannelDbContext db, IReadOnlyCollection<PendingMessage> messages, CancellationToken ct)
    {
        var snapshot = _snapshot;
        var now = time.GetUtcNow();
        if (snapshot is not { } s || now - s.LoadedAt > Lifetime) return await ReloadAsync(db, now, ct);
        if (messages.Any(m => s.Lookup.Find(m) is null) && now - s.LoadedAt > TimeSpan.FromSeconds(1))
            return await ReloadAsync(db, now, ct);
        return s.Lookup;
    }

    /// <summary>Reads the numbers now, whatever the snapshot's age (Routing/UnroutedRecheck).</summary>
    public Task<NumberLookup> ReloadAsync(ChannelDbContext db, CancellationToken ct) => ReloadAsync(db, time.GetUtcNow(), ct);

    private async Task<NumberLookup> ReloadAsync(ChannelDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var lookup = new NumberLookup(await db.Numbers.AsNoTracking().ToListAsync(ct));
        _snapshot = (lookup, now);
        return lookup;
    }
}
