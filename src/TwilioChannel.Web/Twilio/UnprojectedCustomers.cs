using System.Collections.Concurrent;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// The customers with a message acknowledged but not yet in the database (still in the inbox), each with the inbox id
/// their latest acknowledged message is at or below. A reply reads the customer's conversation from the database
/// (the WhatsApp window, the number they last wrote to), so a reply to a customer who wrote a moment ago, or during a
/// burst's wait (Twilio/InboundProjector), must let the projection catch up first: it would otherwise see no window
/// and refuse the reply, or send from the number the customer wrote to before. Only such replies wait; a reply to
/// anyone else never does, so replies during a burst don't end the burst's wait.
/// An entry is dropped once the projection passes it; one recorded after the projection passed it (the webhook's
/// record races the projector) is dropped by the next lookup or sweep, so the map holds about as many customers as
/// the inbox holds messages.
/// </summary>
internal sealed class UnprojectedCustomers
{
    /// <summary>Above this many entries the projector also sweeps the ones it has passed (stale records of the race above).</summary>
    private const int SweepAbove = 4096;

    private readonly ConcurrentDictionary<string, long> _upTo = new(StringComparer.Ordinal);

    /// <summary>The customer's message is acknowledged: it is at or below inbox id <paramref name="acknowledged"/>.</summary>
    public void Acknowledged(string customer, long acknowledged) =>
        _upTo.AddOrUpdate(customer, static (_, id) => id, static (_, earlier, id) => Math.Max(earlier, id), acknowledged);

    /// <summary>Whether a message of <paramref name="customer"/> is acknowledged beyond inbox id <paramref name="projected"/>.</summary>
    public bool Waiting(string customer, long projected)
    {
        if (!_upTo.TryGetValue(customer, out var upTo)) return false;
        if (upTo > projected) return true;
        _upTo.TryRemove(KeyValuePair.Create(customer, upTo));
        return false;
    }

    /// <summary>The projection has everything up to inbox id <paramref name="projected"/>, these customers' messages among it.</summary>
    public void Projected(IEnumerable<string> customers, long projected)
    {
        if (_upTo.IsEmpty) return;
        foreach (var customer in _upTo.Count > SweepAbove ? _upTo.Keys : customers)
            // Only an entry the projection has passed: one updated meanwhile by a newer message has a higher id.
            if (_upTo.TryGetValue(customer, out var upTo) && upTo <= projected)
                _upTo.TryRemove(KeyValuePair.Create(customer, upTo));
    }

    internal int Count => _upTo.Count;
}
